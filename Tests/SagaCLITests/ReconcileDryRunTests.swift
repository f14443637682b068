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
