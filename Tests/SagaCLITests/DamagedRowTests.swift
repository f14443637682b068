import Foundation
import GRDB
import Sagas
import Testing

/// Damaged rows written straight into a real SQLite file, read by the real `saga` binary: nothing read from the
/// database may crash it, and one damaged saga neither hides the others nor stops a worker.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct DamagedRowTests {
    /// Workflow `one`: a single step that succeeds.
    static func writeWorkflow(_ box: CLISandbox) throws {
        try box.writeScript("ok.sh", #"echo "{\"step\": \"$SAGA_STEP\"}""#)
        try box.writeWorkflow("one", commandWorkflow("one", steps: [("a", ["./scripts/ok.sh"], #""kind": "readonly""#)]))
    }

    /// Runs SQL on the sandbox's database as a program other than `saga` would (foreign keys off, no checks).
    static func damage(_ box: CLISandbox, _ sql: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        let queue = try DatabaseQueue(path: box.database, configuration: configuration)
        try queue.writeWithoutTransaction { db in try db.execute(sql: sql) }
        try queue.close()
    }

    /// Exited normally with this code (a trap ends a process by a signal).
    static func expectExit(_ result: SagaResult, _ code: Int32, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(result.status == code, "\(result)", sourceLocation: sourceLocation)
        #expect(!result.stderr.contains("Fatal error"), "\(result)", sourceLocation: sourceLocation)
    }

    @Test func timesAtTheInt64ExtremesAreShownNotTrappedOn() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box)
        Self.expectExit(try box.run(["run", "one", "--id", "far"]), 0)
        Self.expectExit(try box.run(["run", "one", "--id", "early"]), 0)
        try Self.damage(
            box,
            """
            UPDATE sagas SET created_at = 9223372036854775807, updated_at = 9223372036854775807,
                owner = 'elsewhere:1:x', lease_expires_at = 9223372036854775807,
                cancel_requested_at = 9223372036854775807, cancel_reason = 'x' WHERE id = 'far';
            UPDATE sagas SET created_at = -9223372036854775808, updated_at = -9223372036854775808,
                lease_expires_at = -9223372036854775808 WHERE id = 'early';
            UPDATE saga_events SET at = 9223372036854775807 WHERE saga_id = 'far' AND seq = 2;
            UPDATE saga_events SET at = -9223372036854775808 WHERE saga_id = 'early';
            """
        )
        for id in ["far", "early"] {
            let text = try box.run(["show", id])
            Self.expectExit(text, 0)
            #expect(text.stdout.contains(id == "far" ? "9999-12-31T23:59:59.999Z" : "0001-01-01T00:00:00.000Z"), "\(text)")
            let json = try box.run(["show", id, "--json"])
            Self.expectExit(json, 0)
            let object = try json.json()
            #expect(object["createdAt"]?.stringValue == (id == "far" ? "9999-12-31T23:59:59.999Z" : "0001-01-01T00:00:00.000Z"))
            #expect(object["status"]?.stringValue == "completed")
        }
        let list = try box.run(["list"])
        Self.expectExit(list, 0)
        #expect(list.stdout.contains("far") && list.stdout.contains("early"), "\(list)")
        let listJSON = try box.run(["list", "--json"])
        Self.expectExit(listJSON, 0)
        #expect(try listJSON.json().arrayValue?.count == 2)
        Self.expectExit(try box.run(["interventions"]), 0)
        Self.expectExit(try box.run(["interventions", "--json"]), 0)
        Self.expectExit(try box.run(["worker", "--until-idle"]), 0)
        Self.expectExit(try box.run(["reconcile", "--once"]), 0)
    }

    @Test func aDamagedSagaIsListedAndMarkedAndTheWorkerParksIt() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box)
        Self.expectExit(try box.run(["run", "one", "--id", "done"]), 0)
        for id in ["bad-input", "no-definition", "bad-event", "bad-status", "wrong-type", "good"] {
            _ = try box.submit(["one", "--id", id])
        }
        try Self.damage(
            box,
            """
            UPDATE sagas SET input = '{"orderId": ' WHERE id = 'bad-input';
            UPDATE sagas SET definition_digest = 'no-such-digest' WHERE id = 'no-definition';
            UPDATE saga_events SET type = 'step.exploded', payload = 'not json' WHERE saga_id = 'bad-event';
            UPDATE sagas SET status = 'zombie' WHERE id = 'bad-status';
            UPDATE sagas SET owner = 'elsewhere:1:x', lease_expires_at = 9223372036854775807 WHERE id = 'good';
            """
        )
        // A column of the wrong type: only a table without STRICT can hold one, so make it so.
        try Self.damage(
            box,
            """
            PRAGMA writable_schema = ON;
            UPDATE sqlite_schema SET sql = replace(sql, ') STRICT', ')') WHERE name = 'sagas';
            PRAGMA writable_schema = OFF;
            """
        )
        try Self.damage(box, "UPDATE sagas SET version = 'one', last_error = 1.5 WHERE id = 'wrong-type'")

        let list = try box.run(["list"])
        Self.expectExit(list, 0)
        func line(_ id: String) -> String {
            list.stdout.split(separator: "\n").first { $0.hasPrefix(id + " ") }.map(String.init) ?? ""
        }
        for id in ["bad-input", "no-definition", "bad-status", "wrong-type"] {
            #expect(line(id).contains("(damaged)"), "\(id): \(list.stdout)")
            #expect(line(id).contains("damaged row: a"), "\(id): \(list.stdout)")
        }
        #expect(line("bad-input").contains("input that is not JSON"), "\(list.stdout)")
        #expect(line("no-definition").contains("pinned definition that is missing"), "\(list.stdout)")
        #expect(line("good").contains("pending") && !line("good").contains("damaged"), "\(list.stdout)")
        #expect(line("done").contains("completed"), "\(list.stdout)")

        let listJSON = try box.run(["list", "--json"])
        Self.expectExit(listJSON, 0)
        let listed = try listJSON.json().arrayValue ?? []
        #expect(listed.count == 7)
        let damaged = Set(listed.filter { $0["damaged"] != nil }.compactMap { $0["id"]?.stringValue })
        #expect(damaged == ["bad-input", "no-definition", "bad-status", "wrong-type"], "\(listed)")
        #expect(listed.first { $0["id"]?.stringValue == "bad-status" }?["status"]?.stringValue == "needs_intervention")

        for id in ["bad-input", "no-definition", "bad-event", "bad-status", "wrong-type"] {
            let text = try box.run(["show", id])
            Self.expectExit(text, 0)
            #expect(text.stdout.contains("journal does not replay: "), "\(id): \(text)")
            let json = try box.run(["show", id, "--json"])
            Self.expectExit(json, 0)
            let error = try json.json()["journalError"]?.stringValue ?? ""
            #expect(error.contains("saga \(id)"), "\(id): \(json)")
        }
        #expect(try box.run(["show", "bad-event"]).stdout.contains("saga bad-event: event 1 has an unknown type 'step.exploded'"))
        Self.expectExit(try box.run(["interventions"]), 0)

        // The worker runs the good saga (its lease, ending in 9999, is not one any worker could take) and parks the damaged ones it may claim, instead of
        // stopping on them.
        let worker = try box.run(["worker", "--until-idle"], timeout: 30)
        Self.expectExit(worker, 0)
        #expect(try box.show("good")["status"]?.stringValue == "completed")
        for id in ["bad-input", "no-definition", "bad-event"] {
            let saga = try box.show(id)
            #expect(saga["status"]?.stringValue == "needs_intervention", "\(id): \(saga)")
            #expect(saga["lastError"]?.stringValue?.contains("does not replay") == true, "\(id): \(saga)")
        }
        let interventions = try box.run(["interventions"])
        Self.expectExit(interventions, 0)
        for id in ["bad-input", "no-definition", "bad-event"] {
            #expect(interventions.stdout.contains(id), "\(interventions)")
        }
        Self.expectExit(try box.run(["interventions", "--json"]), 0)
        Self.expectExit(try box.run(["reconcile", "--once"]), 0)
    }

    /// A completed saga whose journal no longer replays: the text output must not pass it off as completed.
    @Test func showSaysProminentlyThatTheJournalDoesNotReplay() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box)
        Self.expectExit(try box.run(["run", "one", "--id", "done"]), 0)
        try Self.damage(box, "UPDATE saga_events SET step = 'nope' WHERE saga_id = 'done' AND seq = 2")
        let text = try box.run(["show", "done"])
        Self.expectExit(text, 0)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains("completed") == true, "\(text)")
        #expect(lines.dropFirst().first?.hasPrefix("  journal does not replay: ") == true, "\(text)")
        #expect(lines.dropFirst().first?.contains("saga done") == true, "\(text)")
        #expect(text.stdout.contains("steps: not known (the journal does not replay)"), "\(text)")
        let json = try box.show("done")
        #expect(
            json["journalError"]?.stringValue?.hasPrefix("the journal does not replay against the pinned definition: saga done") == true,
            "\(json)"
        )
    }
}
