import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `saga workers` lists workers seen recently, not only lease holders (issue 15): an idle worker is listed live
/// with when it started and was last seen; one stopped gracefully is listed as stopped; one killed as gone. Through
/// the real binary, on SQLite and (with `SAGA_POSTGRES_URL`) on PostgreSQL.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct WorkersSeenTests {
    static func check(_ box: CLISandbox) throws {
        // The database exists before the worker starts (a submit creates it), and no saga is runnable.
        _ = try box.run(["migrate"])
        let worker = try box.start(["worker", "--lease", "3s"])
        defer { if worker.isRunning { worker.signal(SIGKILL) } }
        var mine: JSONValue?
        #expect(eventually(timeout: 30) {
            let listed = (try? box.run(["workers", "--json"]).json().arrayValue) ?? []
            mine = listed.first { $0["pid"] == .integer(Int(worker.pid)) }
            return mine != nil
        }, "the idle worker is not listed")
        let idle = try #require(mine)
        #expect(idle["state"] == "live" && idle["held"] == 0, "\(idle)")
        #expect(idle["since"]?.stringValue != nil && idle["lastSeenAt"]?.stringValue != nil, "\(idle)")
        let text = try box.run(["workers"])
        #expect(text.stdout.contains("LAST SEEN") && text.stdout.contains("\(worker.pid)"), "\(text)")
        // Seen again while idle: the sighting moves on (about every third of the lease).
        let first = idle["lastSeenAt"]?.stringValue
        #expect(eventually(timeout: 20) {
            let listed = (try? box.run(["workers", "--json"]).json().arrayValue) ?? []
            let now = listed.first { $0["pid"] == .integer(Int(worker.pid)) }
            return now?["lastSeenAt"]?.stringValue != first
        }, "an idle worker's sighting did not move")

        worker.signal(SIGTERM)
        #expect(worker.wait(timeout: 30) == 0, "\(worker.stderr)")
        let after = try box.run(["workers", "--json"]).json().arrayValue ?? []
        let stopped = after.first { $0["pid"] == .integer(Int(worker.pid)) }
        #expect(stopped?["state"] == "stopped", "\(after)")

        // A worker killed while idle is gone (it ran on this host and its process no longer exists).
        let killed = try box.start(["worker", "--lease", "3s"])
        defer { if killed.isRunning { killed.signal(SIGKILL) } }
        #expect(eventually(timeout: 30) {
            let listed = (try? box.run(["workers", "--json"]).json().arrayValue) ?? []
            return listed.contains { $0["pid"] == .integer(Int(killed.pid)) }
        })
        killed.signal(SIGKILL)
        _ = killed.wait(timeout: 10)
        let last = try box.run(["workers", "--json"]).json().arrayValue ?? []
        #expect(last.first { $0["pid"] == .integer(Int(killed.pid)) }?["state"] == "gone", "\(last)")
    }

    @Test func idleStoppedAndKilledWorkersOnSQLite() throws {
        try Self.check(try CLISandbox())
    }

    @Test(.enabled(if: PostgresCLITests.serverURL != nil, "SAGA_POSTGRES_URL is not set: run `eval \"$(scripts/pg-local.sh start)\"`"))
    func idleStoppedAndKilledWorkersOnPostgres() throws {
        try Self.check(try PostgresCLITests.sandbox())
    }
}
