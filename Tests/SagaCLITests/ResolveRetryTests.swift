import Foundation
import Sagas
import Testing

/// `resolve --retry --input` and `--run`: the corrected input is checked as `submit` checks one, and the exit code
/// says whether the saga waits for a person again.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ResolveRetryTests {
    /// Workflow `refund`: charge (compensated by a refund to `${input.account}`, refused for good for "closed"),
    /// then ship, which fails for good. The input must be `{"account": string}`.
    static func writeRefundWorkflow(_ box: CLISandbox) throws {
        try box.writeScript("ok.sh", #"echo '{}'"#)
        try box.writeScript("fail.sh", #"echo "card declined" >&2; exit 100"#)
        try box.writeScript("refund.sh", #"""
            if [ "$1" = closed ]; then echo "account $1 is closed" >&2; exit 100; fi
            echo "$1" >> "$SAGA_SCRATCH/refunds"
            echo '{}'
            """#)
        var text = commandWorkflow(
            "refund",
            steps: [
                ("charge", ["./scripts/ok.sh"], #""compensation": {"command": {"argv": ["./scripts/refund.sh", "${input.account}"]}}"#),
                ("ship", ["./scripts/fail.sh"], #""kind": "readonly""#),
            ]
        )
        text = text.replacingOccurrences(
            of: #""version": 1,"#,
            with: #""version": 1, "input": {"type": "object", "required": ["account"], "properties": {"account": {"type": "string"}}},"#
        )
        try box.writeWorkflow("refund", text)
    }

    @Test func aCorrectedInputThatFailsTheSchemaIsRefusedAndNothingIsJournaled() throws {
        let box = try CLISandbox()
        try Self.writeRefundWorkflow(box)
        #expect(try box.run(["run", "refund", "--id", "r", "--input", #"{"account": "closed"}"#]).status == 1)
        let before = try box.show("r").events.count
        // What submit refuses, resolve refuses too.
        let submitted = try box.run(["submit", "refund", "--input", #"{"account": 7}"#])
        #expect(submitted.status == 2, "\(submitted)")
        for bad in [#"{"account": 7}"#, #"{}"#, #"[1]"#] {
            let result = try box.run(["resolve", "r", "--retry", "--input", bad, "--run"])
            #expect(result.status == 2, "\(bad): \(result)")
            #expect(result.stderr.hasPrefix("error: saga r: the corrected input for workflow refund@1 is invalid: "), "\(result)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
        }
        #expect(try box.show("r").events.count == before, "nothing was journaled")
        #expect(try box.show("r")["status"] == "needs_intervention")
        let fixed = try box.run(["resolve", "r", "--retry", "--input", #"{"account": "acct-2"}"#, "--run"])
        #expect(fixed.status == 0, "\(fixed)")
        #expect(try box.show("r")["status"] == "compensated")
    }

    @Test func retryRunExitsOneWhenTheSagaNeedsInterventionAgain() throws {
        let box = try CLISandbox()
        try Self.writeRefundWorkflow(box)
        #expect(try box.run(["run", "refund", "--id", "r", "--input", #"{"account": "closed"}"#]).status == 1)
        // The same closed account: the refund fails for good again.
        let again = try box.run(["resolve", "r", "--retry", "--run"])
        #expect(again.status == 1, "\(again)")
        #expect(again.stdout.contains("saga r is needs_intervention"), "\(again)")
        #expect(again.stdout.contains("it needs intervention again: "), "\(again)")
        let json = try box.run(["resolve", "r", "--retry", "--run", "--json"])
        #expect(json.status == 1, "\(json)")
        #expect(try json.json()["status"] == "needs_intervention")
        // Without --run nothing was driven here: exit 0.
        #expect(try box.run(["resolve", "r", "--retry"]).status == 0)
    }
}
