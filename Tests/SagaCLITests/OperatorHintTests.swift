import Foundation
import Sagas
import Testing

/// What the CLI tells an operator to do next must work as printed.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct OperatorHintTests {
    /// After `resolve` without `--run`, the hint names a command that carries the saga on.
    @Test func theHintAfterResolveNamesACommandThatWorks() throws {
        let box = try CLISandbox()
        try InterventionCommandTests.writeFlagWorkflow(box, name: "iv")
        #expect(try box.run(["run", "iv", "--id", "hint", "--input", "{}"]).status == 1)
        let resolve = try box.run(["resolve", "hint", "--skip", "--note", "refunded by hand"])
        #expect(resolve.status == 0, "\(resolve)")
        let hint = try #require(resolve.stdout.split(separator: "\n").last.map(String.init))
        let command = try #require(hint.components(separatedBy: ": saga ").last, "no command in: \(hint)")
        #expect(!command.contains("…"), "the hint is not a command to run: \(hint)")
        let arguments = command.split(separator: " ").map(String.init)
        let followed = try box.run(arguments)
        #expect(followed.status == 0, "\(hint) → \(followed)")
        #expect(try box.show("hint")["status"] == "compensated")
    }
}
