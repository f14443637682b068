import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The API against its own document: schemathesis (PyPI; `.ci/run` installs it) fuzzes a real `saga serve` from
/// `/v1/openapi.json` with a token, and every check must pass: no server error, every status and body as
/// documented, requests that break the document refused. Two things are left out: `/v1/events` (a stream of
/// every saga's events does not end, and schemathesis reads whole responses), and the check that every
/// schema-valid request is accepted: some refusals depend on data the document cannot describe (an input checked
/// against each workflow's own schema, a rerun `from` a step the saga's workflow lacks), and are 400s by design.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ServeSchemathesisTests {
    /// `$SAGA_SCHEMATHESIS` (`.ci/run` sets it), else `st` on the PATH or in pyenv's shims.
    static let schemathesis: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["SAGA_SCHEMATHESIS"], FileManager.default.isExecutableFile(atPath: given) {
            return given
        }
        let home = environment["HOME"] ?? "/root"
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":").map(String.init) + ["/usr/local/bin", "\(home)/.local/bin", "\(home)/.pyenv/shims"] {
            let candidate = "\(folder)/st"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    @Test(.enabled(if: schemathesis != nil, "schemathesis (st) is not installed: pip install schemathesis"))
    func theAPIMatchesItsDocument() throws {
        let sandbox = try CLISandbox()
        let server = try sandbox.start(["serve", "--port", "0"], environment: ["SAGA_API_TOKEN": "fuzz-token"])
        defer { if server.isRunning { server.signal(SIGKILL) } }
        let base = try ServeCommandTests.baseURL(of: server)
        // A few sagas, so that list, show and the actions reach the engine and not only 404s.
        for i in 1...3 {
            _ = try ServeCommandTests.curl([
                "-H", "Authorization: Bearer fuzz-token", "-X", "POST", "-d",
                #"{"workflow": "order", "input": {"orderId": "o-\#(i)"}, "id": "s-fuzz-\#(i)"}"#, base + "/v1/sagas",
            ])
        }
        let (outPath, errPath) = (sandbox.scratchFile("st.out"), sandbox.scratchFile("st.err"))
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.schemathesis!)
        process.arguments = [
            "run", base + "/v1/openapi.json", "-H", "Authorization: Bearer fuzz-token", "--checks", "all",
            "--exclude-checks", "positive_data_acceptance",
            "--max-examples", "30", "--seed", "17", "--exclude-path", "/v1/events", "--generation-database", "none",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        process.environment = environment
        // schemathesis writes a `.schemathesis` folder where it runs: in the sandbox, not the package.
        process.currentDirectoryURL = URL(fileURLWithPath: sandbox.root)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        let deadline = Date().addingTimeInterval(240)
        while process.isRunning && Date() < deadline { usleep(100_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let output = sandbox.readScratch("st.out") ?? ""
        #expect(process.terminationStatus == 0, "schemathesis found problems:\n\(output.suffix(6000))\n\(sandbox.readScratch("st.err") ?? "")")
        #expect(!server.stderr.contains("fuzz-token"))
        server.signal(SIGTERM)
        #expect(server.wait(timeout: 30) == 0)
    }
}
