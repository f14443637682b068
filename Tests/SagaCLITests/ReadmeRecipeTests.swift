import Foundation
import Sagas
import Testing

/// The README's "When undo fails" recipe, command for command, on the shipped order workflow.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ReadmeRecipeTests {
    static let input = #"{"orderId": "o-3", "failAt": "charge-payment", "failUndo": "reserve-stock"}"#

    @Test func whenUndoFailsAPersonSkipsIt() throws {
        let box = try CLISandbox()
        let run = try box.run(["run", "order", "--id", "o-3", "--input", Self.input])
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout.contains("needs_intervention"), "\(run)")
        let listed = try box.run(["interventions"])
        #expect(listed.stdout.contains("o-3#") && listed.stdout.contains("reserve-stock"), "\(listed)")
        let resolved = try box.run(["resolve", "o-3", "--skip", "--note", "released the stock by hand, ticket 4411", "--run"])
        #expect(resolved.status == 0, "\(resolved)")
        let saga = try box.show("o-3")
        #expect(saga["status"] == "compensated", "\(saga)")
        #expect(saga.step("reserve-stock")?["status"] == "compensation_skipped")
        #expect(saga.step("create-order")?["status"] == "compensated")
        #expect(saga.events("intervention.resolved").first?["data"]?["note"] == "released the stock by hand, ticket 4411")
        let log = try #require(box.readScratch("order-o-3.log"))
        #expect(!log.contains("release-stock"), "the failed undo never ran through: \(log)")
        #expect(log.contains("cancel-order"))
    }

    @Test func whenUndoFailsAndTheCauseIsFixedAPersonRetriesIt() throws {
        let box = try CLISandbox()
        #expect(try box.run(["run", "order", "--id", "o-3", "--input", Self.input]).status == 1)
        // The README's `touch "$SAGA_SCRATCH/o-3.fixed"`.
        #expect(FileManager.default.createFile(atPath: box.scratchFile("o-3.fixed"), contents: Data()))
        let resolved = try box.run(["resolve", "o-3", "--retry", "--run"])
        #expect(resolved.status == 0, "\(resolved)")
        let saga = try box.show("o-3")
        #expect(saga["status"] == "compensated", "\(saga)")
        #expect(saga.step("reserve-stock")?["status"] == "compensated")
        let log = try #require(box.readScratch("order-o-3.log"))
        #expect(log.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) }
            == ["create-order", "reserve-stock", "release-stock", "cancel-order"])
    }
}
