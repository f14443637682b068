import Foundation
import Sagas
import Testing

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
