import Foundation
import Sagas
import Testing

/// `saga reconcile --dry-run` reports without acting; every pass reports sagas no worker runs.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ReconcileDryRunTests {
    @Test func aDryRunChangesNothingAndSaysWhatOnceWouldDo() throws {
        let box = try CLISandbox()
        try InterventionCommandTests.writeFlagWorkflow(box, name: "iv", flag: nil)
        #expect(try box.run(["run", "iv", "--id", "dry", "--input", "{}"]).status == 1)
        let before = try box.show("dry")
        let interventionsBefore = try InterventionCommandTests.interventions(box)
        let databaseBefore = FileManager.default.contents(atPath: box.database)

        for arguments in [["--dry-run", "--json"], ["--dry-run", "--once", "--json"]] {
            let pass = try box.run(["reconcile"] + arguments)
            #expect(pass.status == 0, "\(pass)")
            let report = try pass.json()
            let actions = report["actions"]?.arrayValue ?? []
            if arguments.contains("--once") {
                #expect(actions.compactMap { $0["action"]?.stringValue } == ["would_retry"], "\(report)")
                #expect(actions.first?["saga"] == "dry")
            } else {
                // Not yet due (the retry interval is 5m): reported as waiting, not retried.
                #expect(actions.isEmpty, "\(report)")
                #expect(report["needsPerson"]?.arrayValue?.first?["action"] == "needs_person", "\(report)")
            }
        }
        let text = try box.run(["reconcile", "--dry-run", "--once"])
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.hasPrefix("reconcile --dry-run: nothing was changed"), "\(text)")
        #expect(text.stdout.contains("would_retry"), "\(text)")

        // Nothing changed: the journal, the intervention (its id and automatic retries), the file itself.
        #expect(try box.show("dry")["events"] == before["events"])
        #expect(try InterventionCommandTests.interventions(box).map { $0["id"] } == interventionsBefore.map { $0["id"] })
        #expect(try InterventionCommandTests.interventions(box).map { $0["automaticRetries"] } == interventionsBefore.map { $0["automaticRetries"] })
        #expect(FileManager.default.contents(atPath: box.database) == databaseBefore)

        // --once, by contrast, acts: it retried the compensation and opened a new intervention.
        #expect(try box.run(["reconcile", "--once"]).status == 0)
        #expect(try InterventionCommandTests.interventions(box).first?["id"] != interventionsBefore.first?["id"])
    }

    @Test func pendingSagasThatNoWorkerRunsAreReportedAsStuck() throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", #"echo '{}'"#)
        try box.writeWorkflow("one", commandWorkflow("one", steps: [("a", ["./scripts/ok.sh"], #""kind": "readonly""#)]))
        _ = try box.submit(["one", "--id", "waiting"])
        // No worker for a minute (rather than waiting 15 s in the test).
        try DamagedRowTests.damage(box, "UPDATE sagas SET updated_at = updated_at - 60000, created_at = created_at - 60000")
        #expect(try box.run(["list"]).stdout.contains("pending (stuck)"))

        for arguments in [["--once"], ["--dry-run"]] {
            let pass = try box.run(["reconcile"] + arguments)
            #expect(pass.status == 0, "\(pass)")
            #expect(!pass.stdout.contains("nothing to do"), "\(pass)")
            #expect(pass.stdout.contains("stuck") && pass.stdout.contains("waiting"), "\(pass)")
            #expect(pass.stdout.contains("start `saga worker`"), "\(pass)")
        }
        let json = try box.run(["reconcile", "--dry-run", "--json"]).json()
        let waiting = json["needsPerson"]?.arrayValue ?? []
        #expect(waiting.map { $0["action"] } == ["stuck"], "\(json)")
        #expect(waiting.first?["saga"] == "waiting")

        try box.workUntilIdle()
        #expect(try box.run(["reconcile", "--dry-run"]).stdout == "reconcile: nothing to do, nothing waiting for a person (dry run)\n")
    }
}

/// `saga interventions` says whether the reconciliation job will retry an intervention on its own.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct InterventionRetriesLeftTests {
    static func column(_ box: CLISandbox, _ arguments: [String] = []) throws -> String {
        let table = try box.run(["interventions"] + arguments)
        #expect(table.status == 0, "\(table)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        guard let header = lines.first, let start = header.range(of: "AUTO RETRIES")?.lowerBound, lines.count > 1 else {
            return "no column: \(table.stdout)"
        }
        let offset = header.distance(from: header.startIndex, to: start)
        return String(lines[1].dropFirst(offset).prefix(12)).trimmingCharacters(in: .whitespaces)
    }

    @Test func theTableAndTheJSONSayHowManyAutomaticRetriesRemain() throws {
        let box = try CLISandbox()
        try InterventionCommandTests.writeFlagWorkflow(box, name: "iv", flag: nil)
        #expect(try box.run(["run", "iv", "--id", "left", "--input", "{}"]).status == 1)
        #expect(try Self.column(box) == "3 of 3 left")
        #expect(try InterventionCommandTests.interventions(box).first?["automaticRetriesLeft"] == 3)
        #expect(try box.run(["reconcile", "--once", "--max-retries", "1"]).status == 0)
        #expect(try Self.column(box, ["--max-retries", "1"]) == "none left")
        #expect(try Self.column(box) == "2 of 3 left")
        #expect(try InterventionCommandTests.interventions(box, ["--max-retries", "1"]).first?["automaticRetriesLeft"] == 0)
        #expect(try box.run(["interventions", "--max-retries=-1"]).status == 2)
    }

    @Test func aWorkflowsOwnLimitWins() throws {
        let box = try CLISandbox()
        try InterventionCommandTests.writeFlagWorkflow(box, name: "iv", flag: nil, extraTop: #""reconciliation": {"maxAutomaticRetries": 0}"#)
        #expect(try box.run(["run", "iv", "--id", "manual", "--input", "{}"]).status == 1)
        #expect(try Self.column(box) == "none left")
        #expect(try InterventionCommandTests.interventions(box, ["--max-retries", "9"]).first?["automaticRetriesLeft"] == 0)
    }
}

/// Table cells beside ID and STEP columns do not repeat `saga ID, step NAME:` (a cut cell showed only that).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ErrorCellTests {
    @Test func errorsInTablesDoNotRepeatTheSagaAndStep() throws {
        let box = try CLISandbox()
        // After the pivot, a step whose template names a missing value fails for good: an intervention whose
        // error is "saga ID, step second: template … names a missing value".
        try box.writeWorkflow("holes", commandWorkflow("holes", steps: [
            (name: "first", argv: ["/bin/echo", "{}"], extra: #""kind": "pivot""#),
            (name: "second", argv: ["/bin/echo", "${input.customer.name}"], extra: #""after": ["first"], "kind": "readonly""#),
        ]))
        let id = "a-rather-long-saga-id-for-the-table-1"
        #expect(try box.run(["run", "holes", "--id", id, "--input", #"{"customer": {}}"#]).status == 1)
        let journaled = try box.show(id).events("step.failed").first?["error"]?.stringValue ?? ""
        #expect(journaled.hasPrefix("saga \(id), step second: "), "the journal keeps the full message: \(journaled)")

        let outputs = [
            try box.run(["interventions"]).stdout,
            try box.run(["show", id]).stdout,
            try box.run(["list"]).stdout,
        ]
        for text in outputs {
            #expect(!text.contains("saga \(id), step second:"), "\(text)")
            #expect(text.contains("template"), "the cell still says what went wrong: \(text)")
        }
        let header = try box.run(["show", id]).stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.hasPrefix("saga \(id)"), "the header still names the saga")
    }
}
