import Foundation
import Sagas
import Testing

/// One problem, one diagnostic.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct DiagnosticOnceTests {
    @Test(arguments: ["${steps.a.output", "${nope}", "${input."])
    func aBadTemplateInACompensationIsNotAlsoAMissingCompensation(_ template: String) throws {
        let box = try CLISandbox()
        let path = try box.writeWorkflow(
            "bt",
            #"{"name": "bt", "version": 1, "steps": [{"name": "a", "action": {"command": {"argv": ["./ok.sh"]}}, "compensation": {"command": {"argv": ["./ok.sh", "\#(template)"]}}}]}"#
        )
        let result = try box.run(["validate", path])
        #expect(result.status == 1, "\(result)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stdout)")
        #expect(lines.first?.contains("error: invalid template in 'compensation'") == true, "\(result.stdout)")
        #expect(!result.stdout.contains("has no compensation"), "\(result.stdout)")
    }
}

extension DiagnosticOnceTests {
    @Test(arguments: [["run", "bt"], ["submit", "bt"]])
    func aWorkflowErrorIsPrintedOnce(_ command: [String]) throws {
        let box = try CLISandbox()
        try box.writeWorkflow(
            "bt",
            #"{"name": "bt", "version": 1, "steps": [{"name": "a", "kind": "readonly", "action": {"command": {"argv": ["./ok.sh", "${steps.nope.output}"]}}}, {"name": "b", "kind": "readonly", "timeout": "0s", "action": {"command": {"argv": ["./ok.sh"]}}}]}"#
        )
        let result = try box.run(command)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.components(separatedBy: "names unknown step 'nope'").count == 2, "\(result.stderr)")
        #expect(result.stderr.components(separatedBy: "'timeout' must be longer than zero").count == 2, "\(result.stderr)")
        let last = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("error: invalid workflow ") && last.hasSuffix("bt.json: 2 errors (listed above)"), "\(result.stderr)")
    }
}
