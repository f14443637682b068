import Foundation
import Sagas
import SagasPostgres
import Testing

/// The PostgreSQL server of the tests, if any.
private let postgresServerURL = ProcessInfo.processInfo.environment["SAGA_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

/// The CLI against PostgreSQL, through the real binary: `SAGA_DB` is a `postgres://` URL with a schema of the test's
/// own. Skipped without `SAGA_POSTGRES_URL` (which `.ci/run` sets after `scripts/pg-local.sh start`).
@Suite(
    .enabled(
        if: postgresServerURL != nil,
        "SAGA_POSTGRES_URL is not set: run `eval \"$(scripts/pg-local.sh start)\"` to run the PostgreSQL CLI tests"
    ),
    .timeLimit(.minutes(3))
)
struct PostgresCLITests {
    static var serverURL: String? { postgresServerURL }

    /// A sandbox whose database is a fresh schema on the test server.
    static func sandbox() throws -> CLISandbox {
        let box = try CLISandbox()
        let url = try #require(serverURL)
        let schema = "cli_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        box.databaseURL = url + (url.contains("?") ? "&" : "?") + "schema=\(schema)&application_name=\(schema)"
        return box
    }

    /// Has the server end every connection of the sandbox's workers (`pg_terminate_backend`), with `psql`.
    static func cutConnections(_ box: CLISandbox) throws {
        let url = try #require(serverURL)
        let name = try #require(box.databaseURL?.components(separatedBy: "application_name=").last)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "psql", url, "-X", "-q", "-t", "-c",
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                + "WHERE usename = current_user AND application_name = '\(name)'",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "psql could not cut the connections")
        let cut = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(cut >= 1, "no connection of the workers was cut: \(text)")
    }

    @Test func runShowListAndStats() throws {
        let box = try Self.sandbox()
        let run = try box.run(["run", "order", "--id", "pg-1", "--input", #"{"orderId": "o-1", "amount": 5}"#])
        #expect(run.status == 0, "\(run)")
        let saga = try box.show("pg-1")
        #expect(saga["status"] == "completed")
        let seqs = saga.events.compactMap { $0["seq"]?.intValue }
        #expect(seqs == Array(1...max(1, seqs.count)), "\(seqs)")
        let list = try box.run(["list", "--json"])
        #expect(try list.json().arrayValue?.compactMap { $0["id"]?.stringValue } == ["pg-1"], "\(list)")
        let byKey = try box.run(["list", "--key", "o-1", "--json"])
        #expect(try byKey.json().arrayValue?.count == 1, "\(byKey)")
        let stats = try box.run(["stats", "--json"])
        #expect(stats.status == 0, "\(stats)")
        #expect(try stats.json()["byStatus"]?["completed"] == 1, "\(stats)")
        let migrate = try box.run(["migrate"])
        #expect(migrate.status == 0 && migrate.stdout.contains("(0001-sagas-and-events, 0002-node-liveness, "), "\(migrate)")
        #expect(migrate.stdout.contains("schema version \(PostgresSagaStore.migrationNames.count) ("), "\(migrate)")
        #expect(!migrate.stdout.contains(":sagas@"), "the URL is printed without its password: \(migrate.stdout)")
    }

    @Test func submitThenTwoWorkersUntilIdle() throws {
        let box = try Self.sandbox()
        var ids: [String] = []
        for i in 0..<12 {
            ids.append(try box.submit(["order", "--id", "sub-\(i)", "--input", #"{"orderId": "o-\#(i)", "amount": 1}"#]))
        }
        #expect(ids == (0..<12).map { "sub-\($0)" })
        let pending = try box.run(["list", "--status", "pending", "--json"])
        #expect(try pending.json().arrayValue?.count == 12, "\(pending)")
        // Two nodes on one database share the work.
        let first = try box.start(["worker", "--until-idle"])
        let second = try box.start(["worker", "--until-idle"])
        #expect(first.wait(timeout: 90) == 0, "\(first.stderr)")
        #expect(second.wait(timeout: 90) == 0, "\(second.stderr)")
        let completed = try box.run(["list", "--status", "completed", "--json"])
        #expect(Set(try completed.json().arrayValue?.compactMap { $0["id"]?.stringValue } ?? []) == Set(ids))
        for id in ids {
            try InterventionCommandTests.checkJournal(box, id)
        }
    }

    @Test func interventionsAndResolve() throws {
        let box = try Self.sandbox()
        try InterventionCommandTests.writeFlagWorkflow(box, flag: nil)
        let run = try box.run(["run", "iv", "--id", "pg-iv", "--input", "{}"])
        #expect(run.status == 1, "\(run)")
        #expect(try box.show("pg-iv")["status"] == "needs_intervention")
        let open = try InterventionCommandTests.interventions(box)
        try #require(open.count == 1, "\(open)")
        let id = try #require(open[0]["id"]?.stringValue)
        let resolve = try box.run(["resolve", id, "--skip", "--note", "refunded by hand", "--by", "alice"])
        #expect(resolve.status == 0, "\(resolve)")
        let again = try box.run(["resolve", id, "--skip", "--note", "twice", "--by", "bob"])
        #expect(again.status == 4, "resolving twice is refused: \(again)")
        try box.workUntilIdle()
        #expect(try box.show("pg-iv")["status"] == "compensated")
        #expect(try InterventionCommandTests.interventions(box).isEmpty)
        try InterventionCommandTests.checkJournal(box, "pg-iv")
    }

    @Test func aWrongPasswordIsRefusedWithoutBeingPrinted() throws {
        let box = try Self.sandbox()
        let url = try #require(Self.serverURL)
        let secret = "not-the-pw-\(UInt32.random(in: 0...UInt32.max))"
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user
        else { throw CLITestError("cannot parse SAGA_POSTGRES_URL") }
        let path = components.path
        let port = components.port ?? 5432
        box.databaseURL = "postgres://\(user):\(secret)@\(host):\(port)\(path)"
        let inURL = try box.run(["list", "--log-level", "trace"])
        #expect(inURL.status == 5, "\(inURL)")
        #expect(inURL.stderr.contains("authentication"), "\(inURL)")
        #expect(!inURL.stderr.contains(secret) && !inURL.stdout.contains(secret), "\(inURL)")
        // The same password from PGPASSWORD.
        box.databaseURL = "postgres://\(user)@\(host):\(port)\(path)"
        let inEnvironment = try box.run(["list"], environment: ["PGPASSWORD": secret, "PGPASSFILE": "/nonexistent"])
        #expect(inEnvironment.status == 5, "\(inEnvironment)")
        #expect(!inEnvironment.stderr.contains(secret) && !inEnvironment.stdout.contains(secret), "\(inEnvironment)")
    }

    @Test func threeWorkersKilledAtRandomLoseNothing() throws {
        let box = try Self.sandbox()
        try CLIWorkerCrashTests.writeChaosWorkflow(box)
        var failAt: [String: String] = [:]
        for n in 0..<40 {
            let input = CLIWorkerCrashTests.chaosInput(n)
            let id = try box.submit(["chaos", "--id", "chaos-\(n)", "--input", input.json])
            failAt[id] = input.failAt
        }
        let options = ["worker", "--lease", "1s", "--concurrency", "4"]
        var workers = try (0..<3).map { _ in try box.start(options) }
        // Three times, a worker dies by SIGKILL at a random moment and a new node (a new worker id) replaces it;
        // twice, every connection of the workers is cut by the server (as in a restart of PostgreSQL).
        for round in 0..<3 {
            usleep(UInt32.random(in: 200_000...600_000))
            let victim = Int.random(in: 0..<workers.count)
            workers[victim].signal(SIGKILL)
            _ = workers[victim].wait(timeout: 10)
            workers[victim] = try box.start(options)
            if round < 2 { try Self.cutConnections(box) }
        }
        let finished = try eventually(timeout: 120) {
            let open = try box.run(["list", "--status", "pending", "--status", "running", "--status", "compensating", "--json"])
            return try open.json().arrayValue?.isEmpty == true
        }
        #expect(finished, "every saga ends")
        for worker in workers {
            worker.signal(SIGTERM)
            // Bounded by the shutdown grace (10 s) plus one store call's deadline (30 s): a claim sent on a
            // connection the server cut may wait that long for its answer.
            #expect(worker.wait(timeout: 60) != nil, "a worker did not stop: \(worker.stderr)")
        }
        for (id, failure) in failAt.sorted(by: { $0.key < $1.key }) {
            _ = try CLIWorkerCrashTests.checkChaosSaga(box, id: id, failAt: failure)
        }
        #expect(try box.run(["stats", "--json"]).json()["byStatus"]?["needs_intervention"] == 0)
    }

    @Test func migrateToCopiesASQLiteJournalAndChecksIt() throws {
        let box = try Self.sandbox()
        let url = try #require(box.databaseURL)
        box.databaseURL = nil  // first, the SQLite file
        try InterventionCommandTests.writeFlagWorkflow(box, flag: nil)
        #expect(try box.run(["run", "iv", "--id", "old-iv", "--input", "{}"]).status == 1)
        for i in 0..<3 {
            _ = try box.submit(["iv", "--id", "old-\(i)", "--input", "{}"])
        }
        let before = try box.run(["list", "--json"]).json()
        let copy = try box.run(["migrate", "--to", url, "--json"])
        #expect(copy.status == 0, "\(copy)")
        #expect(try copy.json()["sagas"] == 4, "\(copy)")
        #expect(!copy.stdout.contains(":sagas@"), "no password printed: \(copy.stdout)")
        let again = try box.run(["migrate", "--to", url])
        #expect(again.status == 4, "a second copy into a database that holds sagas is refused: \(again)")

        box.databaseURL = url  // now the PostgreSQL copy
        let after = try box.run(["list", "--json"]).json()
        #expect(after == before, "the copy lists as the original")
        #expect(try InterventionCommandTests.interventions(box).count == 1)
        // The copied pending sagas run on PostgreSQL.
        try box.workUntilIdle()
        for i in 0..<3 {
            #expect(try box.show("old-\(i)")["status"] == "needs_intervention")
            try InterventionCommandTests.checkJournal(box, "old-\(i)")
        }
    }

    @Test func benchRunsOnPostgresInAnEmptySchema() throws {
        let box = try Self.sandbox()
        let url = try #require(box.databaseURL)
        let run = try box.run(["bench", "--store", "postgres", "--db", url, "--sagas", "30", "--steps", "3", "--json"])
        #expect(run.status == 0, "\(run)")
        let report = try run.json()
        #expect(report["completed"] == 30, "\(report)")
        #expect(report["actionsRun"] == 90, "\(report)")
        #expect(report["store"] == "postgres")
        #expect(!run.stdout.contains(":sagas@"), "no password printed")
        let again = try box.run(["bench", "--store", "postgres", "--db", url, "--sagas", "5", "--json"])
        #expect(again.status != 0, "a schema that holds sagas is refused without --force: \(again)")
    }
}
