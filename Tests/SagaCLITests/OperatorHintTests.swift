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

/// Who a resolution is journaled as.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ResolveByTests {
    /// The effective user's login name, as the system's user database has it.
    static var loginName: String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "uid \(geteuid())" }
        return String(cString: name)
    }

    @Test func withoutUSERTheLoginNameFromTheSystemIsRecorded() throws {
        let box = try CLISandbox()
        try InterventionCommandTests.writeFlagWorkflow(box, name: "iv")
        #expect(try box.run(["run", "iv", "--id", "who", "--input", "{}"]).status == 1)
        let resolve = try box.run(
            ["resolve", "who", "--skip", "--note", "done by hand"], environment: ["USER": "", "LOGNAME": ""]
        )
        #expect(resolve.status == 0, "\(resolve)")
        let by = try box.show("who").events("intervention.resolved").first?["data"]?["by"]?.stringValue
        #expect(by == Self.loginName, "\(resolve)")
        #expect(by != "unknown" && by != "")
    }

    @Test func anEmptyByIsRefused() throws {
        let box = try CLISandbox()
        try InterventionCommandTests.writeFlagWorkflow(box, name: "iv")
        #expect(try box.run(["run", "iv", "--id", "who", "--input", "{}"]).status == 1)
        let resolve = try box.run(["resolve", "who", "--skip", "--note", "done by hand", "--by", " "])
        #expect(resolve.status == 2, "\(resolve)")
        #expect(resolve.stderr == "error: --by must name who resolves\n")
        let help = try box.run(["resolve", "--help"])
        #expect(help.stdout.contains("getpwuid"), "\(help.stdout)")
    }
}
