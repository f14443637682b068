import Foundation
import Sagas
import Testing

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
