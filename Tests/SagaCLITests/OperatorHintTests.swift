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

/// Ids an operator could not address afterwards are refused; ids are echoed short.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SagaIDTests {
    @Test func idsThatStartWithADashOrHoldControlCharactersOrAreTooLongAreRefused() throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", #"echo '{}'"#)
        try box.writeWorkflow("one", commandWorkflow("one", steps: [("a", ["./scripts/ok.sh"], #""kind": "readonly""#)]))
        let long = String(repeating: "x", count: 10_000)
        for id in ["-x", "--json", "a\u{01}b", "a\nb", long] {
            for command in [["submit", "one", "--id=\(id)"], ["run", "one", "--id=\(id)"]] {
                let result = try box.run(command)
                #expect(result.status == 2, "\(command): \(result)")
                #expect(result.stderr.hasPrefix("error: invalid saga id '"), "\(result)")
                #expect(result.stderr.contains("not starting with '-'"), "\(result)")
                #expect(result.stderr.count < 300, "the id is echoed in full: \(result.stderr.count) characters")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
            }
        }
        #expect(try box.run(["list", "--json"]).json().arrayValue?.isEmpty == true, "nothing was journaled")
        // The longest id that is allowed still works.
        let longest = String(repeating: "y", count: 128)
        #expect(try box.submit(["one", "--id", longest]) == longest)
        #expect(try box.run(["submit", "one", "--id", longest + "y"]).status == 2)
    }

    @Test func idsThatDoNotExistAreEchoedShort() throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", #"echo '{}'"#)
        try box.writeWorkflow("one", commandWorkflow("one", steps: [("a", ["./scripts/ok.sh"], #""kind": "readonly""#)]))
        _ = try box.submit(["one", "--id", "known"])
        let long = String(repeating: "z", count: 10_000)
        for command in [["show", long], ["cancel", long], ["resolve", long, "--retry"], ["resolve", "\(long)#3", "--retry"]] {
            let result = try box.run(command)
            #expect(result.status == 3, "\(result.status) \(result.stderr.prefix(200))")
            #expect(result.stderr.count < 300, "echoed in full: \(result.stderr.count) characters")
            #expect(result.stderr.contains("(10000 characters)"), "\(result.stderr.prefix(300))")
        }
        for id in ["", "#3", "known#", "known#x"] {
            let result = try box.run(["resolve", id, "--retry"])
            #expect(result.status == 2, "\(id): \(result)")
            #expect(result.stderr.hasPrefix("error: invalid intervention id"), "\(id): \(result)")
        }
    }
}

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
