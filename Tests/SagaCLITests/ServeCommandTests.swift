import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `saga serve` as a real process: the first line, tokens, the API over a socket, and a clean SIGTERM.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ServeCommandTests {
    static let curl = ["/usr/bin/curl", "/bin/curl", "/usr/local/bin/curl"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// `curl` with the status code appended on a last line.
    static func curl(_ arguments: [String]) throws -> (status: Int, body: String) {
        guard let curl else { throw CLITestError("curl is missing") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: curl)
        process.arguments = ["-s", "--max-time", "20", "-w", "\n%{http_code}"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// Waits for the first line, `listening on http://HOST:PORT`, and returns the URL.
    static func baseURL(of process: SagaProcess) throws -> String {
        var line: String?
        _ = eventually(timeout: 30) {
            let out = process.stdout
            guard out.contains("\n") else { return false }
            line = String(out.split(separator: "\n")[0])
            return true
        }
        guard let line, line.hasPrefix("listening on http://") else {
            throw CLITestError("no listening line: stdout \(process.stdout) stderr \(process.stderr)")
        }
        return String(line.dropFirst("listening on ".count))
    }

    @Test(.enabled(if: curl != nil, "curl is not installed"))
    func servesTheAPIAndStopsOnSIGTERM() throws {
        let sandbox = try CLISandbox()
        let server = try sandbox.start(["serve", "--port", "0"], environment: ["SAGA_API_TOKEN": "t0ken-for-tests"])
        defer { if server.isRunning { server.signal(SIGKILL) } }
        let base = try Self.baseURL(of: server)
        #expect(base.hasPrefix("http://127.0.0.1:"))
        #expect(!base.hasSuffix(":0"))
        // A configured token: no generated one is printed.
        #expect(!server.stdout.contains("token="))

        #expect(try Self.curl([base + "/healthz"]).status == 200)
        #expect(try Self.curl([base + "/v1/sagas"]).status == 401)
        let auth = ["-H", "Authorization: Bearer t0ken-for-tests"]
        let started = try Self.curl(
            auth + ["-X", "POST", "-H", "Content-Type: application/json", "-d", #"{"workflow": "order", "input": {"orderId": "o-1"}, "id": "s-web"}"#,
                    base + "/v1/sagas"]
        )
        #expect(started.status == 201, "\(started.body)")
        // The worker in the same process runs it.
        let done = eventually(timeout: 60) {
            let show = try? Self.curl(auth + [base + "/v1/sagas/s-web"])
            return show.flatMap { try? JSONValue(parsing: $0.body) }?["status"] == "completed"
        }
        #expect(done, "\(server.stderr)")
        let ready = try Self.curl([base + "/readyz"])
        #expect(ready.status == 200)
        #expect(ready.body.contains(#""worker":"running""#))

        // Every saga's events as they are journaled, and a resume after the last one seen.
        let (live, second) = try Self.streamWhileStarting(base: base, auth: auth, id: "s-web-2")
        #expect(live.contains("event: saga.started"), "\(live)")
        #expect(live.contains(#""sagaId":"s-web-2""#))
        #expect(!live.contains(#""sagaId":"s-web""#))
        let ids = live.split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
        #expect(ids.count >= 2)
        #expect(ids.allSatisfy { $0.split(separator: "/").count == 3 })
        #expect(eventually(timeout: 60) {
            let show = try? Self.curl(auth + [base + "/v1/sagas/s-web-2"])
            return show.flatMap { try? JSONValue(parsing: $0.body) }?["status"] == "completed"
        })
        let resumed = try Self.curl(auth + ["-N", "--max-time", "2", "-H", "Last-Event-ID: \(ids[0])", base + "/v1/events"])
        let resumedIDs = resumed.body.split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
        #expect(!resumedIDs.contains(ids[0]))
        #expect(resumedIDs.contains(ids[1]), "\(resumed.body)")
        #expect(second == 201)

        // An open event stream does not hold up the shutdown.
        let stream = Process()
        stream.executableURL = URL(fileURLWithPath: Self.curl!)
        stream.arguments = ["-s", "-N", "-H", "Authorization: Bearer t0ken-for-tests", base + "/v1/events"]
        stream.standardOutput = FileHandle.nullDevice
        try stream.run()
        defer { if stream.isRunning { stream.terminate() } }
        usleep(300_000)
        server.signal(SIGTERM)
        let status = server.wait(timeout: 30)
        #expect(status == 0, "\(server.stderr)")
        // The CLI reads the same database.
        let show = try sandbox.run(["show", "s-web", "--json"])
        #expect(try show.json()["status"] == "completed")
    }

    /// Reads `GET /v1/events` for three seconds while a saga is started; returns what the stream carried.
    static func streamWhileStarting(base: String, auth: [String], id: String) throws -> (String, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: curl!)
        process.arguments = ["-s", "-N", "--max-time", "3"] + auth + [base + "/v1/events"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        usleep(500_000)
        let started = try Self.curl(auth + [
            "-X", "POST", "-d", #"{"workflow": "order", "input": {"orderId": "o-2"}, "id": "\#(id)"}"#, base + "/v1/sagas",
        ])
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), started.status)
    }

    @Test(.enabled(if: curl != nil, "curl is not installed"))
    func withoutATokenItMakesOneAndListensOnLoopbackOnly() throws {
        let sandbox = try CLISandbox()
        let refused = try sandbox.run(["serve", "--host", "0.0.0.0", "--port", "0"], environment: ["SAGA_API_TOKEN": ""])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("loopback"))

        let server = try sandbox.start(["serve", "--port", "0", "--no-worker", "--read-only"], environment: ["SAGA_API_TOKEN": ""])
        defer { if server.isRunning { server.signal(SIGKILL) } }
        let base = try Self.baseURL(of: server)
        #expect(eventually(timeout: 10) { server.stdout.split(separator: "\n").count >= 2 })
        let second = String(server.stdout.split(separator: "\n")[1])
        #expect(second.hasPrefix("dashboard: \(base)/login?token="))
        let token = String(second.split(separator: "=").last ?? "")
        #expect(token.count == 64)
        let auth = ["-H", "Authorization: Bearer \(token)"]
        #expect(try Self.curl(auth + [base + "/v1/stats"]).status == 200)
        let ready = try Self.curl([base + "/readyz"])
        #expect(ready.body.contains(#""worker":"disabled""#))
        let change = try Self.curl(auth + ["-X", "POST", "-d", #"{"workflow": "order", "input": {"orderId": "o-1"}}"#, base + "/v1/sagas"])
        #expect(change.status == 403)
        #expect(change.body.contains("read_only"))
        // The token never reaches the log.
        #expect(!server.stderr.contains(token))
        server.signal(SIGINT)
        #expect(server.wait(timeout: 30) == 0)
    }

    @Test func aBadTokensFileIsAStartupErrorNamingFileAndLine() throws {
        let sandbox = try CLISandbox()
        let file = sandbox.scratchFile("tokens")
        try "# tokens\nviewer vera not-a-hash\n".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try sandbox.run(["serve", "--port", "0", "--tokens", file])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(file):2:"), "\(result.stderr)")
    }
}
