import Foundation
import Sagas
import Testing

/// Options the CLI used to accept and ignore.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RefusedOptionTests {
    @Test(arguments: [["list"], ["show", "x"], ["worker", "--until-idle"], ["interventions"], ["submit", "order"], ["migrate"]])
    func anUnknownLogLevelIsAUsageError(_ command: [String]) throws {
        let box = try CLISandbox()
        let result = try box.run(command + ["--log-level", "loud"])
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains("unknown log level 'loud'; expected one of trace, debug, info, notice, warning, error, critical"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: box.database), "nothing was created")
        #expect(try box.run(["list", "--log-level", "ERROR"]).stderr.contains("log level") == false)
    }
}
