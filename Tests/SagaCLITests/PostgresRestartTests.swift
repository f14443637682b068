import Foundation
import Sagas
import Testing

/// The PostgreSQL binaries `scripts/pg-local.sh` would use, if installed.
private let postgresInstalled: Bool = {
    let candidates = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
    return candidates.contains { FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/pg_ctl") }
}()

/// Workers on a PostgreSQL server that crashes mid-run (an immediate stop: no checkpoint, every connection cut,
/// commits in flight lost or not, crash recovery at the restart): the server of this test's own, made by
/// `scripts/pg-local.sh` in a temporary folder, so the shared test server is not disturbed.
@Suite(
    .enabled(if: postgresInstalled, "PostgreSQL is not installed (apt-get install postgresql)"),
    .serialized,
    .timeLimit(.minutes(5))
)
struct PostgresRestartTests {
    /// Runs `scripts/pg-local.sh ACTION` for the cluster in `folder`; returns its standard output.
    ///
    /// Spawned and waited for with `posix_spawn` and `waitpid`: the server the script starts lives on, and
    /// Foundation's `Process` did not see the script itself end (it stayed a zombie). Output goes to files, not
    /// pipes, since the server inherits them.
    @discardableResult
    static func pgLocal(_ action: String, folder: String) throws -> String {
        let outputPath = folder + ".out"
        let errorPath = folder + ".err"
        defer { try? FileManager.default.removeItem(atPath: outputPath); try? FileManager.default.removeItem(atPath: errorPath) }
        let script = cliPackageRoot + "/scripts/pg-local.sh"
        let command = "SAGA_PG_DIR='\(folder)' exec /bin/bash '\(script)' \(action) >'\(outputPath)' 2>'\(errorPath)' </dev/null"
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
        defer { for pointer in argv { free(pointer) } }
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ)
        guard spawned == 0 else { throw CLITestError("cannot run pg-local.sh: error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw CLITestError("pg-local.sh \(action) failed (status \(status)): \(stderr)")
        }
        return text
    }

    @Test func sagasFinishWhenTheDatabaseCrashesAndRestartsUnderTheWorkers() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("saga-pg-crash-\(UUID().uuidString)").path
        let started = try Self.pgLocal("start", folder: folder)
        defer { _ = try? Self.pgLocal("destroy", folder: folder) }
        let url = try #require(
            started.split(separator: "\n").first { $0.hasPrefix("export SAGA_POSTGRES_URL=") }
                .map { String($0.dropFirst("export SAGA_POSTGRES_URL=".count)) },
            "\(started)"
        )
        let box = try CLISandbox()
        box.databaseURL = url + "?schema=crash"
        try CLIWorkerCrashTests.writeChaosWorkflow(box)
        var failAt: [String: String] = [:]
        for n in 0..<30 {
            let input = CLIWorkerCrashTests.chaosInput(n)
            let id = try box.submit(["chaos", "--id", "crash-\(n)", "--input", input.json])
            failAt[id] = input.failAt
        }
        let workers = try (0..<2).map { _ in try box.start(["worker", "--lease", "2s", "--concurrency", "4"]) }
        // Twice, while the workers are mid-saga, the server stops as a crash would and comes back a moment later.
        for _ in 0..<2 {
            usleep(UInt32.random(in: 300_000...800_000))
            try Self.pgLocal("crash", folder: folder)
            usleep(UInt32.random(in: 200_000...1_500_000))
            try Self.pgLocal("start", folder: folder)
        }
        let finished = try eventually(timeout: 150) {
            let open = try box.run(["list", "--status", "pending", "--status", "running", "--status", "compensating", "--json"])
            guard open.status == 0 else { return false }
            return try open.json().arrayValue?.isEmpty == true
        }
        #expect(finished, "every saga ends: \(workers.map(\.stderr))")
        for worker in workers {
            #expect(worker.isRunning, "a worker exited on the crash instead of waiting for the database: \(worker.stderr)")
            worker.signal(SIGTERM)
            #expect(worker.wait(timeout: 30) != nil, "a worker did not stop: \(worker.stderr)")
        }
        for (id, failure) in failAt.sorted(by: { $0.key < $1.key }) {
            _ = try CLIWorkerCrashTests.checkChaosSaga(box, id: id, failAt: failure)
        }
        #expect(try box.run(["stats", "--json"]).json()["byStatus"]?["needs_intervention"] == 0)
    }
}
