import Foundation
import Sagas
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
        box.databaseURL = url + (url.contains("?") ? "&" : "?") + "schema=\(schema)"
        return box
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
        #expect(migrate.status == 0 && migrate.stdout.contains("schema version 2 (0001-sagas-and-events, 0002-node-liveness)"), "\(migrate)")
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
}
