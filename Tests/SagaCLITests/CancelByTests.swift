import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who asked for a cancel is journaled as a field of its own (`saga.cancel_requested`, `data.by`), as for terminate,
/// rerun and resolve: `saga cancel --by`, by default the user running it.
@Suite(.timeLimit(.minutes(3)))
struct CancelByTests {
    @Test func cancelJournalsWhoAskedBesideTheReason() throws {
        let box = try CLISandbox()
        try box.writeWorkflow("waits", WaitCLITests.workflow())
        _ = try box.submit(["waits", "--id", "c-1"])
        try box.workUntilIdle()
        #expect(try box.show("c-1")["status"] == "waiting")

        let cancel = try box.run(["cancel", "c-1", "--reason", "customer withdrew", "--by", "alice", "--json"])
        #expect(cancel.status == 0, "\(cancel)")
        #expect(try cancel.json()["cancelBy"] == "alice")
        #expect(try cancel.json()["cancelReason"] == "customer withdrew")
        // A second request keeps the first one's reason and who.
        #expect(try box.run(["cancel", "c-1", "--reason", "again", "--by", "bob"]).status == 0)

        try box.workUntilIdle()
        let done = try box.show("c-1")
        #expect(done["status"] == "compensated", "\(done)")
        #expect(done["cancelBy"] == "alice")
        let requests = done.events("saga.cancel_requested")
        #expect(requests.count == 1, "\(done)")
        #expect(requests.first?["error"] == "customer withdrew")
        #expect(requests.first?["data"]?["by"] == "alice", "\(requests)")
        let text = try box.run(["show", "c-1"])
        #expect(text.stdout.contains("cancel requested: customer withdrew (by alice)"), "\(text)")
        #expect(text.stdout.contains("by alice"), "\(text)")
    }

    @Test func theDefaultIsTheUserRunningIt() throws {
        let box = try CLISandbox()
        try box.writeWorkflow("waits", WaitCLITests.workflow())
        _ = try box.submit(["waits", "--id", "c-2"])
        let cancel = try box.run(["cancel", "c-2"], environment: ["USER": "carol"])
        #expect(cancel.status == 0, "\(cancel)")
        try box.workUntilIdle()
        let done = try box.show("c-2")
        #expect(done["status"] == "compensated", "\(done)")
        #expect(done.events("saga.cancel_requested").first?["data"]?["by"] == "carol", "\(done)")
        #expect(done.events("saga.cancel_requested").first?["error"] == "cancelled by an operator")

        let empty = try box.run(["cancel", "c-2", "--by", " "])
        #expect(empty.status == 2, "\(empty)")
        #expect(empty.stderr == "error: --by must name who cancels\n")
    }

    /// A worker in another process that drives the saga learns of the request, with who, through its lease renewals.
    @Test func aWorkerInAnotherProcessJournalsWho() throws {
        let box = try CLISandbox()
        try box.writeWorkflow("slow", """
            {"name": "slow", "version": 1, "steps": [
              {"name": "book", "action": {"command": {"argv": ["true"]}},
               "compensation": {"command": {"argv": ["true"]}}},
              {"name": "nap", "after": ["book"], "kind": "readonly", "action": {"command": {"argv": ["sleep", "3"]}}},
              {"name": "ship", "after": ["nap"], "kind": "readonly", "action": {"command": {"argv": ["true"]}}}
            ]}
            """)
        _ = try box.submit(["slow", "--id", "c-3"])
        let worker = try box.start(["worker", "--lease", "3s"])
        defer {
            worker.signal(SIGKILL)
            _ = worker.wait(timeout: 10)
        }
        let napping = try eventually(timeout: 20) { try box.show("c-3").step("nap")?["status"] == "running" }
        #expect(napping)
        #expect(try box.run(["cancel", "c-3", "--reason", "wrong address", "--by", "dora"]).status == 0)
        let finished = try eventually(timeout: 30) { try box.show("c-3")["status"] == "compensated" }
        let shown = try box.show("c-3")
        #expect(finished, "\(shown)")
        let request = shown.events("saga.cancel_requested").first
        #expect(request?["data"]?["by"] == "dora", "\(String(describing: request))")
    }

    /// A request recorded before stores kept who asked (no `cancel_by`) is journaled without `by`, and shown.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"),
                   "/usr/bin/sqlite3 is missing: it writes the older version's cancel request (apt-get install sqlite3)"))
    func aRequestWithoutWhoStillReads() throws {
        let box = try CLISandbox()
        try box.writeWorkflow("waits", WaitCLITests.workflow())
        _ = try box.submit(["waits", "--id", "c-4"])
        try box.workUntilIdle()
        let sql = """
            UPDATE sagas SET cancel_reason = 'legacy request', cancel_requested_at = \(Int64(Date().timeIntervalSince1970 * 1000)),
                status = 'running', wake_at = NULL WHERE id = 'c-4';
            """
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [box.database, sql]
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect(sqlite.terminationStatus == 0)
        try box.workUntilIdle()
        let done = try box.show("c-4")
        #expect(done["status"] == "compensated", "\(done)")
        let request = done.events("saga.cancel_requested").first
        #expect(request?["error"] == "legacy request")
        #expect(request?["data"]?["by"]?.stringValue == nil, "\(String(describing: request))")
        #expect(done["cancelBy"]?.stringValue == nil, "\(done)")
        let text = try box.run(["show", "c-4"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("cancel requested: legacy request\n"), "\(text)")
    }
}
