import Foundation
import GRDB
import Sagas
import SagasSQLite
import SagasTesting
import Testing

/// `saga list` filters, `stats`, `purge`, `terminate`, batch `cancel`, `rerun` and `plan`, through the real binary.
@Suite(.timeLimit(.minutes(5)))
struct OperatorCommandTests {
    /// A database of `count` sagas: workflows `order` (versions 1 and 2) and `travel`, keys `k-0`…`k-49`, one
    /// saga per second of creation time, statuses by `i % 6`. Returns the records as written.
    static func seed(_ box: CLISandbox, count: Int) async throws -> [SagaRecord] {
        let store = try SQLiteSagaStore(path: box.database)
        let statuses: [SagaStatus] = [.completed, .compensated, .needsIntervention, .pending, .failed, .completed]
        var records: [SagaRecord] = []
        for i in 0..<count {
            var r = SagaFixtures.record(
                id: String(format: "s-%05d", i),
                workflow: i % 3 == 2 ? "travel" : "order",
                createdAt: SagaFixtures.time(i * 1000)
            )
            r.version = i % 3 == 1 ? 2 : 1
            r.key = "k-\(i % 50)"
            records.append(r)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: count, by: 500) {
                let slice = Array(records[chunk..<min(chunk + 500, count)])
                group.addTask { for r in slice { _ = try await store.create(r, events: [SagaFixtures.started(r)]) } }
            }
            try await group.waitForAll()
        }
        let queue = try DatabaseQueue(path: box.database)
        try await queue.write { db in
            for (i, status) in statuses.enumerated() {
                try db.execute(
                    sql: "UPDATE sagas SET status = ? WHERE CAST(substr(id, 3) AS INTEGER) % 6 = ?",
                    arguments: [status.rawValue, i]
                )
            }
        }
        try queue.close()
        for i in records.indices { records[i].status = statuses[i % 6] }
        return records
    }

    static func ids(_ result: SagaResult) throws -> [String] {
        guard case .array(let rows) = try result.json() else { throw CLITestError("not an array: \(result)") }
        return rows.compactMap { $0["id"]?.stringValue }
    }

    @Test func listFiltersAndPagesAThousandsOfSagasDatabase() async throws {
        let box = try CLISandbox()
        let records = try await Self.seed(box, count: 3000)
        let newestFirst = records.sorted { $0.createdAt > $1.createdAt }.map(\.id)
        func list(_ args: [String]) throws -> [String] {
            let result = try box.run(["list", "--json", "--limit", "10000"] + args)
            #expect(result.status == 0, "\(args): \(result)")
            return try Self.ids(result)
        }
        #expect(try list([]) == newestFirst)
        #expect(try list(["--status", "completed"]) == newestFirst.filter { Int($0.dropFirst(2))! % 6 == 0 || Int($0.dropFirst(2))! % 6 == 5 })
        #expect(try list(["--status", "pending", "--status", "failed"]).count == 1000)
        #expect(try list(["--workflow", "order"]).count == 2000)
        #expect(try list(["--workflow", "order@2"]) == newestFirst.filter { Int($0.dropFirst(2))! % 3 == 1 })
        #expect(try list(["--workflow", "travel@2"]).isEmpty)
        #expect(try list(["--key", "k-7"]) == newestFirst.filter { Int($0.dropFirst(2))! % 50 == 7 })
        #expect(try list(["--key", "k-7", "--status", "compensated"]).count == records.filter { $0.key == "k-7" && $0.status == .compensated }.count)
        #expect(try list(["--has-intervention"]).count == 500)
        // Creation times are one second apart from the fixtures' epoch: [since, until) selects a window.
        let since = SagaTime.format(SagaFixtures.time(1000 * 1000))
        let until = SagaTime.format(SagaFixtures.time(1100 * 1000))
        #expect(try list(["--since", since, "--until", until]) == (1000..<1100).reversed().map { String(format: "s-%05d", $0) })
        // Pending sagas with no worker and no progress since the fixtures' epoch are stuck.
        #expect(try list(["--stuck"]).count == 500)
        let plain = try box.run(["list", "--stuck", "--limit", "3"])
        #expect(plain.stdout.contains("pending (stuck)"), "\(plain)")
        #expect(plain.stderr.contains("--after"), "\(plain)")

        // Keyset paging: pages of 700 by --after cover every saga once, in order.
        var paged: [String] = []
        var after: String?
        repeat {
            let page = try list((after.map { ["--after", $0] } ?? []) + ["--limit", "700"])
            paged += page
            after = page.count == 700 ? page.last : nil
        } while after != nil
        #expect(paged == newestFirst)
        let unknown = try box.run(["list", "--after", "nope"])
        #expect(unknown.status == 3, "\(unknown)")
        let badStatus = try box.run(["list", "--status", "done"])
        #expect(badStatus.status == 2 && badStatus.stderr.contains("unknown status"), "\(badStatus)")
        let badTime = try box.run(["list", "--since", "yesterday"])
        #expect(badTime.status == 2 && badTime.stderr.contains("--since"), "\(badTime)")

        // stats agrees with the database.
        let stats = try box.run(["stats", "--json"]).json()
        #expect(stats["total"] == 3000)
        #expect(stats["byStatus"]?["completed"] == 1000)
        #expect(stats["byStatus"]?["running"] == 0)
        #expect(stats["stuck"] == 500)
        #expect(stats["interventions"]?["waiting"] == 500)
        #expect(stats["interventions"]?["oldestSince"]?.stringValue != nil)
        let rows = stats["byWorkflow"]?.arrayValue ?? []
        #expect(rows.compactMap { $0["count"]?.intValue }.reduce(0, +) == 3000)
        #expect(rows.contains { $0["workflow"] == "order" && $0["version"] == 2 && $0["status"] == "compensated" && $0["count"] == 500 })
        let text = try box.run(["stats"])
        #expect(text.status == 0 && text.stdout.contains("waiting for a person: 500"), "\(text)")
    }

    @Test func purgeDeletesOnlyFinishedSagasAndKeepsThoseWaitingForAPerson() async throws {
        let box = try CLISandbox()
        _ = try await Self.seed(box, count: 600)
        let dry = try box.run(["purge", "--finished-before", "1d", "--dry-run", "--json"]).json()
        // completed (2 of 6), compensated and failed: 400 of 600 finished long ago.
        #expect(dry["deleted"] == 400 && dry["dryRun"] == true)
        #expect(try Self.ids(box.run(["list", "--json", "--limit", "10000"])).count == 600)
        let purged = try box.run(["purge", "--finished-before", "1d", "--batch", "150"])
        #expect(purged.status == 0 && purged.stdout.contains("deleted 400"), "\(purged)")
        let left = try box.run(["list", "--json", "--limit", "10000"]).json().arrayValue ?? []
        #expect(left.count == 200)
        #expect(left.allSatisfy { $0["status"] == "needs_intervention" || $0["status"] == "pending" })
        // Their journals went with them.
        let queue = try DatabaseQueue(path: box.database)
        let events = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM saga_events") }
        #expect(events == 200)
        try queue.close()
        let recent = try box.run(["purge", "--finished-before", "1d"])
        #expect(recent.stdout.contains("deleted 0"), "\(recent)")
    }

    @Test func terminateStopsAWaitingSagaWithoutCompensating() throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", #"echo "$SAGA_STEP $SAGA_PHASE" >> "$SAGA_SCRATCH/log"; echo '{"done": true}'"#)
        try box.writeScript("undo-fails.sh", #"echo "$SAGA_STEP $SAGA_PHASE" >> "$SAGA_SCRATCH/log"; echo broken >&2; exit 3"#)
        try box.writeScript("fail.sh", #"echo nope >&2; exit 2"#)
        try box.writeWorkflow(
            "stuck",
            commandWorkflow("stuck", steps: [
                ("a", ["./scripts/ok.sh"], #""compensation": {"command": {"argv": ["./scripts/undo-fails.sh"]}}, "compensationRetry": {"maxAttempts": 1}"#),
                ("b", ["./scripts/fail.sh"], #""retry": {"maxAttempts": 1}"#),
            ])
        )
        let run = try box.run(["run", "stuck", "--id", "t-1"])
        #expect(run.status == 1, "\(run)")
        #expect(try box.show("t-1")["status"] == "needs_intervention")
        let noReason = try box.run(["terminate", "t-1"])
        #expect(noReason.status == 64 && noReason.stderr.contains("--reason"), "\(noReason)")
        let done = try box.run(["terminate", "t-1", "--reason", "undone by hand, ticket 9", "--by", "alice"])
        #expect(done.status == 0, "\(done)")
        let saga = try box.show("t-1")
        #expect(saga["status"] == "failed")
        let terminated = saga.events("saga.terminated")
        #expect(terminated.count == 1)
        #expect(terminated.first?["data"]?["by"] == "alice")
        #expect(terminated.first?["error"]?.stringValue?.contains("ticket 9") == true)
        // Nothing more was compensated, and the intervention is no longer open.
        #expect(box.readScratch("log") == "a action\na compensation\n")
        #expect(saga["interventions"]?.arrayValue?.first?["open"] == false)
        let interventions = try box.run(["interventions", "--json"]).json()
        #expect(interventions.arrayValue?.isEmpty == true, "\(interventions)")
        let again = try box.run(["terminate", "t-1", "--reason", "twice"])
        #expect(again.status == 4 && again.stderr.contains("already failed"), "\(again)")
        let missing = try box.run(["terminate", "t-404", "--reason", "x"])
        #expect(missing.status == 3, "\(missing)")
    }

    @Test func batchCancelActsOnlyWithYesAndReportsTheFailures() async throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", "echo '{}'")
        try box.writeWorkflow("batch", commandWorkflow("batch", steps: [("only", ["./scripts/ok.sh"], "")]))
        var ids: [String] = []
        for n in 0..<100 { ids.append(try box.submit(["batch", "--id", "b-\(n)"])) }
        // One of them finishes first: cancelling it fails, the other 99 succeed.
        let done = try box.run(["run", "batch", "--id", "b-0"])
        #expect(done.status == 0, "\(done)")
        let preview = try box.run(["cancel", "--all", "--workflow", "batch", "--status", "pending", "--status", "completed", "--reason", "bad batch"])
        #expect(preview.status == 0 && preview.stdout.contains("100 sagas selected; nothing was changed"), "\(preview)")
        #expect(try box.show("b-1")["cancelRequestedAt"] == nil)
        let noID = try box.run(["cancel"])
        #expect(noID.status == 2, "\(noID)")
        let both = try box.run(["cancel", "b-1", "--all"])
        #expect(both.status == 2, "\(both)")
        let result = try box.run([
            "cancel", "--all", "--workflow", "batch", "--status", "pending", "--status", "completed",
            "--reason", "bad batch", "--yes", "--json",
        ])
        #expect(result.status == 1, "\(result)")
        let report = try result.json()
        #expect(report["selected"] == 100)
        #expect(report["succeeded"]?.arrayValue?.count == 99)
        #expect(report["failed"]?.arrayValue?.first?["id"] == "b-0")
        #expect(report["failed"]?.arrayValue?.first?["code"] == "invalid_state")
        try box.workUntilIdle()
        let compensated = try Self.ids(box.run(["list", "--json", "--status", "compensated", "--limit", "1000"]))
        #expect(compensated.count == 99)
        for id in compensated.prefix(3) {
            #expect(try box.show(id).events("saga.cancel_requested").first?["error"] == "bad batch")
        }
    }

    @Test func rerunFromAStepKeepsTheEarlierStepsOutputs() throws {
        let box = try CLISandbox()
        // a and b append to the log; c fails until the flag file exists.
        try box.writeScript("step.sh", #"echo "$SAGA_ID $SAGA_STEP" >> "$SAGA_SCRATCH/log"; echo "{\"by\": \"$SAGA_STEP\"}""#)
        try box.writeScript("c.sh", #"""
            echo "$SAGA_ID c" >> "$SAGA_SCRATCH/log"
            if [ -f "$SAGA_SCRATCH/fixed" ]; then echo '{"ok": true}'; else echo 'c is broken' >&2; exit 2; fi
            """#)
        try box.writeWorkflow(
            "three",
            commandWorkflow("three", steps: [
                ("a", ["./scripts/step.sh"], #""kind": "readonly""#),
                ("b", ["./scripts/step.sh"], ""),
                ("c", ["./scripts/c.sh", "${steps.b.output.by}"], #""retry": {"maxAttempts": 1}"#),
            ])
        )
        let first = try box.run(["run", "three", "--id", "r-1", "--input", #"{"n": 1}"#])
        #expect(first.status == 1, "\(first)")
        #expect(try box.show("r-1")["status"] == "compensated")
        FileManager.default.createFile(atPath: box.scratchFile("fixed"), contents: Data())

        let plan = try box.run(["plan", "r-1", "--json"]).json()
        #expect(plan["cancelIgnored"] == true, "\(plan)")

        let rerun = try box.run(["rerun", "r-1", "--from", "c", "--id", "r-2", "--run"])
        #expect(rerun.status == 0, "\(rerun)")
        #expect(rerun.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "r-2")
        let log = box.readScratch("log") ?? ""
        #expect(log == "r-1 a\nr-1 b\nr-1 c\nr-2 c\n", "\(log)")
        let second = try box.show("r-2")
        #expect(second["status"] == "completed")
        #expect(second["rerunOf"] == "r-1")
        #expect(second["input"] == ["n": 1])
        #expect(second.events("step.reused").compactMap { $0["step"]?.stringValue } == ["a", "b"])
        #expect(second.step("b")?["output"] == ["by": "b"])
        #expect(second.step("b")?["attempts"] == 0)
        #expect(try box.show("r-1")["reruns"] == ["r-2"])
        let text = try box.run(["show", "r-1"])
        #expect(text.stdout.contains("rerun as r-2"), "\(text)")

        // From the start, with a corrected input: every step runs again under the new saga's keys.
        let fresh = try box.run(["rerun", "r-1", "--id", "r-3", "--input", #"{"n": 2}"#, "--run", "--json"])
        #expect(fresh.status == 0, "\(fresh)")
        #expect((box.readScratch("log") ?? "").hasSuffix("r-3 a\nr-3 b\nr-3 c\n"))
        #expect(try box.show("r-3")["input"] == ["n": 2])

        // What cannot be rerun says why.
        let unknownStep = try box.run(["rerun", "r-1", "--from", "zz"])
        #expect(unknownStep.status == 2 && unknownStep.stderr.contains("no step 'zz'"), "\(unknownStep)")
        let pending = try box.submit(["three", "--id", "r-4"])
        let running = try box.run(["rerun", pending])
        #expect(running.status == 4 && running.stderr.contains("is pending"), "\(running)")
        let taken = try box.run(["rerun", "r-1", "--id", "r-2"])
        #expect(taken.status == 4, "\(taken)")
    }

    @Test func planShowsWhatUndoWouldDo() throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", #"echo "{\"id\": \"$SAGA_STEP-17\"}""#)
        try box.writeScript("hang.sh", "sleep 30")
        try box.writeWorkflow(
            "planned",
            commandWorkflow("planned", steps: [
                ("check", ["./scripts/ok.sh"], #""kind": "readonly""#),
                ("reserve", ["./scripts/ok.sh"], #""compensation": {"command": {"argv": ["./scripts/ok.sh", "release", "${steps.reserve.output.id}", "${env.SHOP_TOKEN}"]}}"#),
                ("charge", ["./scripts/ok.sh"], #""compensation": {"command": {"argv": ["./scripts/ok.sh", "refund", "${steps.charge.output.id}"]}}"#),
                ("ship", ["./scripts/hang.sh"], #""after": ["reserve"], "compensation": {"command": {"argv": ["./scripts/ok.sh"]}}"#),
            ])
        )
        // The what-if table for a saga not yet started.
        let whatIf = try box.run(["plan", "planned", "--input", "{}", "--json"]).json()
        #expect(whatIf["forward"] == [["check"], ["reserve"], ["charge", "ship"]], "\(whatIf)")
        let rows = whatIf["ifStepFails"]?.arrayValue ?? []
        #expect(rows.first { $0["step"] == "charge" }?["compensations"] == ["reserve"], "\(rows)")
        #expect(rows.first { $0["step"] == "charge" }?["alsoIfFinished"] == ["ship"], "\(rows)")
        let table = try box.run(["plan", "planned", "--input", "{}"])
        #expect(table.status == 0 && table.stdout.contains("IF THIS FAILS"), "\(table)")

        // A saga in flight: ship hangs, so check, reserve and charge have succeeded.
        let id = try box.submit(["planned", "--id", "p-1"])
        let worker = try box.start(["worker"], environment: ["SHOP_TOKEN": "s3cr3t-token-value"])
        defer { worker.signal(SIGKILL) }
        #expect(eventually(timeout: 30) { (try? box.show(id))?.step("charge")?["status"] == "succeeded" })
        let plan = try box.run(["plan", id, "--json"], environment: ["SHOP_TOKEN": "s3cr3t-token-value"])
        #expect(plan.status == 0, "\(plan)")
        let json = try plan.json()
        let steps = json["compensations"]?.arrayValue?.compactMap { $0["step"]?.stringValue }
        #expect(steps == ["ship", "charge", "reserve"], "\(json)")
        #expect(json["inFlight"] == ["ship"])
        let reserve = json["compensations"]?.arrayValue?.last
        #expect(reserve?["spec"]?["argv"] == ["./scripts/ok.sh", "release", "reserve-17", "***"], "\(json)")
        #expect(reserve?["idempotencyKey"] == "p-1/reserve/compensation")
        #expect(json["notCompensated"]?.arrayValue?.first { $0["step"] == "check" }?["reason"] == "read-only")
        #expect(!plan.stdout.contains("s3cr3t"))
        let missing = try box.run(["plan", "nothing-here"])
        #expect(missing.status == 3, "\(missing)")
    }
}
