import Foundation
import Sagas
import Testing

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
