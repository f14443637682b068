import Foundation
import Sagas
import Testing

/// `saga resolve --all`: the batch form, through the real binary.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct BatchResolveTests {
    @Test func resolveAllCountsWithoutYesThenResolvesEachSelectedSagaOnItsOwn() throws {
        let box = try CLISandbox()
        try InterventionCommandTests.writeFlagWorkflow(box, name: "iv")
        for i in 1...3 { _ = try box.submit(["iv", "--id", "b-\(i)"]) }
        #expect(try box.workUntilIdle().status == 0)
        for i in 1...3 { #expect(try box.show("b-\(i)")["status"] == "needs_intervention") }

        // Without --yes: counts, changes nothing.
        let dry = try box.run(["resolve", "--all", "--abandon", "--note", "refunded by hand", "--json"])
        #expect(dry.status == 0, "\(dry)")
        #expect(try dry.json()["selected"] == 3 && dry.json()["acted"] == false, "\(dry)")
        for i in 1...3 { #expect(try box.show("b-\(i)")["status"] == "needs_intervention") }

        // Filters narrow it; --yes acts on each, journaled with who and why.
        let one = try box.run(["resolve", "--all", "--key", "none", "--skip", "--note", "x", "--yes"])
        #expect(one.stdout.contains("0 of 0"), "\(one)")
        let all = try box.run(["resolve", "--all", "--abandon", "--note", "refunded by hand", "--by", "carol", "--yes", "--json"])
        #expect(all.status == 0, "\(all)")
        #expect(try all.json()["succeeded"]?.arrayValue?.count == 3, "\(all)")
        for i in 1...3 {
            let saga = try box.show("b-\(i)")
            #expect(saga["status"] == "failed", "\(saga)")
            let resolved = saga.events("intervention.resolved")
            #expect(resolved.count == 1)
            #expect(resolved.first?["data"]?["by"] == "carol" && resolved.first?["data"]?["note"] == "refunded by hand", "\(resolved)")
        }

        // Again: nothing left to select; an id and --all together, or --run with --all, are refused.
        #expect(try box.run(["resolve", "--all", "--retry", "--yes"]).stdout.contains("0 of 0"))
        #expect(try box.run(["resolve", "b-1", "--all", "--retry"]).status == 2)
        #expect(try box.run(["resolve", "--all", "--retry", "--run"]).status == 2)
        #expect(try box.run(["resolve", "--retry"]).status == 2)
    }
}
