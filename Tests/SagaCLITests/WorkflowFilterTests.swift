import Foundation
import Sagas
import Testing

/// `--workflow` takes what the WORKFLOW column prints.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct WorkflowFilterTests {
    @Test func listAndInterventionsTakeNameAtVersion() throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", #"echo '{}'"#)
        let v1 = commandWorkflow("two", steps: [("a", ["./scripts/ok.sh"], #""kind": "readonly""#)])
        try box.writeWorkflow("two", v1)
        try box.writeWorkflow("two-v2", v1.replacingOccurrences(of: #""version": 1"#, with: #""version": 2"#))
        #expect(try box.run(["run", "two@1", "--id", "first"]).status == 0)
        #expect(try box.run(["run", "two@2", "--id", "second"]).status == 0)

        let one = try box.run(["list", "--workflow", "two@1"])
        #expect(one.status == 0, "\(one)")
        #expect(one.stdout.contains("first") && one.stdout.contains("two@1") && !one.stdout.contains("second"), "\(one)")
        let json = try box.run(["list", "--workflow", "two@2", "--json"])
        #expect(try json.json().arrayValue?.compactMap { $0["id"]?.stringValue } == ["second"], "\(json)")
        let both = try box.run(["list", "--workflow", "two", "--json"])
        #expect(try both.json().arrayValue?.count == 2, "\(both)")
        #expect(try box.run(["interventions", "--workflow", "two@1"]).status == 0)

        for bad in ["two@", "two@x", "@1", "two@0"] {
            let refused = try box.run(["list", "--workflow", bad])
            #expect(refused.status == 2, "\(bad): \(refused)")
            #expect(refused.stderr.contains("expected NAME or NAME@VERSION"), "\(bad): \(refused)")
        }
    }
}
