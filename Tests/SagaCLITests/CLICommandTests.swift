import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `saga run`, `submit`, `worker`, `list`, `show` and `cancel` against the built binary.
@Suite(.timeLimit(.minutes(2)))
struct CLIRunTests {
    static let orderSteps = ["create-order", "reserve-stock", "charge-payment", "ship"]

    @Test func orderCompletes() throws {
        let box = try CLISandbox()
        let text = try box.run(["run", "order", "--input", #"{"orderId":"o-1"}"#])
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("saga.completed"))
        #expect(text.stdout.contains("order@1  completed"))

        let result = try box.run(["run", "order", "--input", #"{"orderId":"o-2"}"#, "--json"])
        #expect(result.status == 0, "\(result)")
        let saga = try result.json()
        #expect(saga["status"] == "completed")
        #expect(saga["workflow"] == "order")
        #expect(saga["version"] == 1)
        #expect(saga["input"] == ["orderId": "o-2"])
        #expect(saga.steps.compactMap { $0["name"]?.stringValue } == Self.orderSteps)
        #expect(saga.steps.allSatisfy { $0["status"] == "succeeded" && $0["attempts"] == 1 })
        #expect(saga.step("reserve-stock")?["output"] == ["orderId": "o-2", "reservation": "r-o-2"])
        #expect(saga.events.compactMap { $0["seq"]?.intValue } == Array(1...10))
        var expected = ["saga.started"]
        for _ in Self.orderSteps { expected += ["step.started", "step.succeeded"] }
        expected.append("saga.completed")
        #expect(saga.eventTypes == expected)
        #expect(saga.events("step.started").compactMap { $0["step"]?.stringValue } == Self.orderSteps)
        let id = try #require(saga["id"]?.stringValue)
        #expect(saga.events("step.started").map { $0["idempotencyKey"] } == Self.orderSteps.map { .string("\(id)/\($0)/action") })
        // The scripts did their work once each.
        let log = try #require(box.readScratch("order-o-2.log"))
        #expect(log.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) } == Self.orderSteps)
    }

    @Test func failingPaymentCompensatesInReverseOrder() throws {
        let box = try CLISandbox()
        let result = try box.run(["run", "order", "--input", #"{"orderId":"o-3","failAt":"charge-payment"}"#, "--json"])
        #expect(result.status == 1, "\(result)")
        let saga = try result.json()
        #expect(saga["status"] == "compensated")
        #expect(saga.events("compensation.started").compactMap { $0["step"]?.stringValue } == ["reserve-stock", "create-order"])
        #expect(saga.events("compensation.succeeded").compactMap { $0["step"]?.stringValue } == ["reserve-stock", "create-order"])
        #expect(saga.step("create-order")?["status"] == "compensated")
        #expect(saga.step("reserve-stock")?["status"] == "compensated")
        #expect(saga.step("charge-payment")?["status"] == "failed")
        #expect(saga.step("charge-payment")?["attempts"] == 1)
        #expect(saga.step("charge-payment")?["compensationAttempts"] == 0)
        #expect(saga.step("charge-payment")?["error"]?.stringValue?.hasPrefix("exit 100: charge-payment failed on demand") == true)
        #expect(saga.step("ship")?["status"] == "pending")
        #expect(saga.step("ship")?["attempts"] == 0)
        #expect(!saga.events.contains { $0["step"] == "ship" })
        #expect(saga.eventTypes.last == "saga.compensated")
        #expect(saga.events.compactMap { $0["seq"]?.intValue } == Array(1...saga.events.count))
        let log = try #require(box.readScratch("order-o-3.log"))
        #expect(log.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) }
            == ["create-order", "reserve-stock", "release-stock", "cancel-order"])
    }

    @Test func inputFromAFileAndFromStandardInput() throws {
        let box = try CLISandbox()
        let file = "\(box.root)/input.json"
        try Data(#"{"orderId": "from-file"}"#.utf8).write(to: URL(fileURLWithPath: file))
        let fromFile = try box.run(["run", "order", "--input", "@\(file)", "--json"])
        #expect(fromFile.status == 0, "\(fromFile)")
        #expect(try fromFile.json()["input"] == ["orderId": "from-file"])

        let fromStdin = try box.run(["run", "order", "--input", "-", "--json"], stdin: #"{"orderId": "from-stdin"}"#)
        #expect(fromStdin.status == 0, "\(fromStdin)")
        #expect(try fromStdin.json()["input"] == ["orderId": "from-stdin"])

        let missing = try box.run(["run", "order", "--input", "@\(box.root)/nope.json"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "error: cannot read input file \(box.root)/nope.json\n")
    }

    @Test func theSameIDReturnsTheSameSaga() throws {
        let box = try CLISandbox()
        let first = try box.run(["run", "order", "--id", "order-o-7", "--input", #"{"orderId":"o-7"}"#, "--json"])
        #expect(first.status == 0, "\(first)")
        let second = try box.run(["run", "order", "--id", "order-o-7", "--input", #"{"orderId":"o-7"}"#, "--json"])
        #expect(second.status == 0, "\(second)")
        let a = try first.json()
        let b = try second.json()
        #expect(a["id"] == "order-o-7")
        #expect(b["id"] == "order-o-7")
        #expect(b["status"] == "completed")
        #expect(b.events == a.events)
        // The steps ran once.
        #expect(box.readScratch("order-o-7.log")?.split(separator: "\n").count == 4)

        let conflict = try box.run(["run", "order", "--id", "order-o-7", "--input", #"{"orderId":"o-8"}"#])
        #expect(conflict.status == 4)
        #expect(conflict.stdout == "")
        #expect(conflict.stderr.hasPrefix("error: "))
        #expect(conflict.stderr.hasSuffix("\n"))
        #expect(conflict.stderr.split(separator: "\n").count == 1, "\(conflict.stderr)")
        #expect(conflict.stderr.contains("order-o-7"))
        #expect(box.readScratch("order-o-8.log") == nil)
    }

    @Test func invalidInputJSONIsPositioned() throws {
        let box = try CLISandbox()
        let result = try box.run(["run", "order", "--input", #"{"orderId": }"#])
        #expect(result.status == 2)
        #expect(result.stdout == "")
        #expect(result.stderr.hasPrefix("error: --input: "))
        #expect(result.stderr.contains("line 1, column 13"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: box.database))
    }

    @Test func inputMustMatchTheSchema() throws {
        let box = try CLISandbox()
        let result = try box.run(["run", "order", "--input", #"{"failAt": "ship"}"#])
        #expect(result.status == 2)
        #expect(result.stderr.contains("orderId"), "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: "))
        let wrongEnum = try box.run(["submit", "order", "--input", #"{"orderId": "o-1", "failAt": "teleport"}"#])
        #expect(wrongEnum.status == 2)
        #expect(wrongEnum.stdout == "")
    }

    @Test func unknownWorkflowListsTheAvailableOnes() throws {
        let box = try CLISandbox()
        let result = try box.run(["run", "nope", "--input", "{}"])
        #expect(result.status == 3)
        #expect(result.stderr.hasPrefix("error: no workflow named 'nope'"), "\(result.stderr)")
        #expect(result.stderr.contains("order@1"))
        #expect(result.stderr.contains("transfer@1"))
        let version = try box.run(["run", "order@9", "--input", #"{"orderId":"o-1"}"#])
        #expect(version.status == 3)
        #expect(version.stderr.contains("order@1"))
    }

    @Test func nameAtVersionAndFilePathsWork() throws {
        let box = try CLISandbox()
        let byVersion = try box.run(["run", "order@1", "--input", #"{"orderId":"v-1"}"#, "--json"])
        #expect(byVersion.status == 0, "\(byVersion)")
        #expect(try byVersion.json()["version"] == 1)
        let byPath = try box.run(["run", "\(cliPackageRoot)/Workflows/order.json", "--input", #"{"orderId":"p-1"}"#, "--json"])
        #expect(byPath.status == 0, "\(byPath)")
        #expect(try byPath.json()["workflow"] == "order")
        #expect(box.readScratch("order-p-1.log")?.contains("ship key=") == true)
    }
}

@Suite(.timeLimit(.minutes(2)))
struct CLIQueryTests {
    @Test func submitThenWorkerThenListAndShow() throws {
        let box = try CLISandbox()
        let submitted = try box.run(["submit", "order", "--input", #"{"orderId":"q-1"}"#])
        #expect(submitted.status == 0, "\(submitted)")
        let id = submitted.stdout.trimmingCharacters(in: .newlines)
        #expect(submitted.stdout == "\(id)\n")
        #expect(!id.isEmpty && !id.contains(" "))
        #expect(try box.show(id)["status"] == "pending")
        #expect(box.readScratch("order-q-1.log") == nil)

        let failing = try box.submit(["order", "--input", #"{"orderId":"q-2","failAt":"create-order"}"#])
        try box.workUntilIdle(["--lease", "2s"])

        let saga = try box.show(id)
        #expect(saga["status"] == "completed")
        for key in ["id", "workflow", "version", "status", "input", "createdAt", "updatedAt", "steps", "events"] {
            #expect(saga[key] != nil, "show --json lacks \(key)")
        }
        #expect(saga["id"] == .string(id))
        #expect(saga["input"] == ["orderId": "q-1"])
        for step in saga.steps {
            for key in ["name", "status", "attempts", "compensationAttempts", "output", "error"] {
                #expect(step[key] != nil, "step lacks \(key)")
            }
            #expect(step["error"] == .null)
        }
        for event in saga.events {
            #expect(event["seq"]?.intValue != nil)
            #expect(event["type"]?.stringValue != nil)
            #expect(event["at"]?.stringValue?.hasSuffix("Z") == true)
        }
        #expect(try box.show(failing)["status"] == "compensated")

        let text = try box.run(["show", id])
        #expect(text.status == 0)
        #expect(text.stdout.hasPrefix("saga \(id)  order@1  completed"))
        #expect(text.stdout.contains("saga.completed"))

        let table = try box.run(["list"])
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.count == 3, "\(table.stdout)")
        #expect(lines.first?.hasPrefix("ID") == true)
        #expect(lines.contains { $0.hasPrefix(id) && $0.contains("order@1") && $0.contains("completed") })
        #expect(lines.contains { $0.hasPrefix(failing) && $0.contains("compensated") && $0.contains("step 'create-order' failed") })

        let list = try box.run(["list", "--json"])
        #expect(list.status == 0)
        let rows = try #require(try list.json().arrayValue)
        #expect(rows.count == 2)
        for row in rows {
            for key in ["id", "workflow", "version", "status", "createdAt", "updatedAt"] {
                #expect(row[key] != nil, "list --json lacks \(key)")
            }
            #expect(row["workflow"] == "order")
            #expect(row["version"] == 1)
        }
        #expect(Set(rows.compactMap { $0["id"]?.stringValue }) == [id, failing])
    }

    @Test func listFilters() throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", "echo ok")
        try box.writeWorkflow("other", commandWorkflow("other", steps: [("only", ["./scripts/ok.sh"], #""kind": "readonly""#)]))
        // The other workflow lives in the custom folder; order is referenced by its file.
        let order = "\(cliPackageRoot)/Workflows/order.json"
        var completed: [String] = []
        for n in 1...3 {
            completed.append(try box.submit([order, "--input", #"{"orderId":"c-\#(n)"}"#]))
        }
        let compensated = try box.submit([order, "--input", #"{"orderId":"f-1","failAt":"ship"}"#])
        let other = try box.submit(["other"])
        try box.workUntilIdle()
        let pending = try box.submit([order, "--input", #"{"orderId":"p-1"}"#])

        func ids(_ arguments: [String]) throws -> Set<String> {
            let result = try box.run(["list", "--json"] + arguments)
            #expect(result.status == 0, "\(result)")
            return Set(try result.json().arrayValue?.compactMap { $0["id"]?.stringValue } ?? [])
        }
        #expect(try ids([]) == Set(completed + [compensated, other, pending]))
        #expect(try ids(["--status", "completed"]) == Set(completed + [other]))
        #expect(try ids(["--status", "compensated", "--status", "pending"]) == [compensated, pending])
        #expect(try ids(["--workflow", "other"]) == [other])
        #expect(try ids(["--workflow", "order", "--status", "completed"]) == Set(completed))
        #expect(try ids(["--limit", "2"]).count == 2)
        // Newest first.
        let newest = try box.run(["list", "--json", "--limit", "1"]).json().arrayValue?.first?["id"]
        #expect(newest == .string(pending))

        let unknown = try box.run(["list", "--status", "done"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown status 'done'"))
        #expect(unknown.stderr.contains("needs_intervention"))
        #expect(try box.run(["list", "--limit", "0"]).status == 2)
        let none = try box.run(["list", "--workflow", "travel"])
        #expect(none.status == 0)
        #expect(none.stdout == "no sagas\n")
    }

    @Test func showAnUnknownSaga() throws {
        let box = try CLISandbox()
        _ = try box.submit(["order", "--input", #"{"orderId":"x"}"#])
        let result = try box.run(["show", "s-does-not-exist", "--json"])
        #expect(result.status == 3)
        #expect(result.stdout == "")
        #expect(result.stderr == "error: no saga with id 's-does-not-exist'\n")
    }

    @Test func aMissingDatabaseIsNotCreated() throws {
        let box = try CLISandbox()
        let path = "\(box.root)/missing.db"
        for arguments in [["list"], ["show", "s-1"], ["cancel", "s-1"]] {
            let result = try box.run(arguments + ["--db", path])
            #expect(result.status == 5, "\(arguments): \(result)")
            #expect(result.stderr.contains(path), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        // SAGA_DB is read too.
        let viaEnvironment = try box.run(["list"], environment: ["SAGA_DB": path])
        #expect(viaEnvironment.status == 5)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aFileThatIsNotADatabaseIsLeftAlone() throws {
        let box = try CLISandbox()
        let text = "these are not the pages you are looking for\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: box.database))
        for arguments in [["list"], ["show", "s-1"], ["submit", "order", "--input", #"{"orderId":"o-1"}"#]] {
            let result = try box.run(arguments)
            #expect(result.status == 5, "\(arguments): \(result)")
            #expect(result.stderr.contains(box.database), "\(result.stderr)")
        }
        #expect(try String(contentsOfFile: box.database, encoding: .utf8) == text)
        #expect(!FileManager.default.fileExists(atPath: box.database + "-wal"))
    }
}

/// The conventions of `command` actions (CommandExecutor.swift), seen from the scripts.
@Suite(.timeLimit(.minutes(2)))
struct CLICommandActionTests {
    static let echoEnvironment = #"""
        printf '{"id":"%s","workflow":"%s","step":"%s","phase":"%s","attempt":"%s","key":"%s","stdin":%s}\n' \
          "$SAGA_ID" "$SAGA_WORKFLOW" "$SAGA_STEP" "$SAGA_PHASE" "$SAGA_ATTEMPT" "$SAGA_IDEMPOTENCY_KEY" "$saga_stdin"
        """#

    @Test func environmentAndStandardInput() throws {
        let box = try CLISandbox()
        try box.writeScript("echo-env.sh", Self.echoEnvironment)
        try box.writeScript("text.sh", "echo '  plain words, not JSON  '")
        try box.writeWorkflow(
            "conventions",
            commandWorkflow("conventions", steps: [
                ("first", ["./scripts/echo-env.sh"], #""kind": "readonly""#),
                ("second", ["./scripts/echo-env.sh"], #""kind": "readonly""#),
                ("third", ["./scripts/text.sh"], #""kind": "readonly""#),
            ])
        )
        let result = try box.run(["run", "conventions", "--id", "conv-1", "--input", #"{"n": 7, "tag": "x"}"#, "--json"])
        #expect(result.status == 0, "\(result)")
        let saga = try result.json()
        let first = try #require(saga.step("first")?["output"])
        #expect(first["id"] == "conv-1")
        #expect(first["workflow"] == "conventions")
        #expect(first["step"] == "first")
        #expect(first["phase"] == "action")
        #expect(first["attempt"] == "1")
        #expect(first["key"] == "conv-1/first/action")
        #expect(first["stdin"] == [
            "input": ["n": 7, "tag": "x"],
            "steps": [:],
            "saga": ["id": "conv-1", "workflow": "conventions"],
        ])
        let second = try #require(saga.step("second")?["output"])
        #expect(second["step"] == "second")
        #expect(second["key"] == "conv-1/second/action")
        #expect(second["stdin"]?["steps"] == ["first": ["output": first]])
        #expect(second["stdin"]?["input"] == ["n": 7, "tag": "x"])
        // Output that is not JSON is kept as text (trimmed).
        #expect(saga.step("third")?["output"] == "plain words, not JSON")
    }

    /// A command may ignore its standard input. Today the CLI dies of SIGPIPE (exit 141, no output) when the engine
    /// writes the stdin JSON to a child that already exited: nothing in the `saga` process ignores SIGPIPE.
    @Test
    func aStepThatIgnoresStdin() throws {
        let box = try CLISandbox()
        try box.writeScript("quick.sh", readsStdin: false, "echo quick")
        try box.writeWorkflow("quick", commandWorkflow("quick", steps: [("only", ["./scripts/quick.sh"], #""kind": "readonly""#)]))
        for n in 1...3 {
            let result = try box.run(["run", "quick", "--id", "q-\(n)", "--json"])
            #expect(result.status == 0, "\(result)")
            #expect(try result.json().step("only")?["output"] == "quick")
        }
    }

    @Test func compensationsSeeTheirPhase() throws {
        let box = try CLISandbox()
        try box.writeScript("echo-env.sh", Self.echoEnvironment)
        try box.writeScript("fail.sh", "echo 'no luck' >&2; exit 100")
        try box.writeWorkflow(
            "undo",
            commandWorkflow("undo", steps: [
                ("book", ["./scripts/echo-env.sh"], #""compensation": {"command": {"argv": ["./scripts/echo-env.sh"]}}"#),
                ("pay", ["./scripts/fail.sh"], #""kind": "readonly""#),
            ])
        )
        let result = try box.run(["run", "undo", "--id", "undo-1", "--json"])
        #expect(result.status == 1, "\(result)")
        let saga = try result.json()
        #expect(saga["status"] == "compensated")
        let undone = try #require(saga.events("compensation.succeeded").first?["output"])
        #expect(undone["phase"] == "compensation")
        #expect(undone["step"] == "book")
        #expect(undone["attempt"] == "1")
        #expect(undone["key"] == "undo-1/book/compensation")
        #expect(saga.events("compensation.started").first?["idempotencyKey"] == "undo-1/book/compensation")
        // The compensation sees the outputs of the steps that ran.
        #expect(undone["stdin"]?["steps"]?["book"]?["output"]?["phase"] == "action")
    }

    @Test func exit100IsPermanent() throws {
        let box = try CLISandbox()
        try box.writeScript("fail.sh", "echo 'first line' >&2\necho 'card declined' >&2\nexit 100")
        try box.writeWorkflow("permanent", commandWorkflow("permanent", steps: [("charge", ["./scripts/fail.sh"], #""kind": "readonly""#)]))
        let result = try box.run(["run", "permanent", "--json"])
        #expect(result.status == 1, "\(result)")
        let saga = try result.json()
        #expect(saga["status"] == "compensated")
        #expect(saga.step("charge")?["attempts"] == 1)
        #expect(saga.step("charge")?["status"] == "failed")
        #expect(saga.step("charge")?["error"] == "exit 100: first line | card declined")
        #expect(saga.events("step.failed").first?["retryable"] == false)
    }

    @Test func otherExitsAreRetried() throws {
        let box = try CLISandbox()
        try box.writeScript("flaky.sh", #"for i in 1 2 3 4 5 6 7; do echo "noise $i" >&2; done; echo "try $SAGA_ATTEMPT failed" >&2; exit 3"#)
        try box.writeWorkflow("retried", commandWorkflow("retried", steps: [("call", ["./scripts/flaky.sh"], #""kind": "readonly""#)]))
        let result = try box.run(["run", "retried", "--json"])
        #expect(result.status == 1, "\(result)")
        let saga = try result.json()
        #expect(saga.step("call")?["attempts"] == 3)
        #expect(saga.step("call")?["status"] == "failed")
        // The last five lines of stderr.
        #expect(saga.step("call")?["error"] == "exit 3: noise 4 | noise 5 | noise 6 | noise 7 | try 3 failed")
        #expect(saga.events("step.failed").map { $0["retryable"] } == [true, true, true])
        #expect(saga.events("step.started").compactMap { $0["attempt"]?.intValue } == [1, 2, 3])
        #expect(saga["status"] == "compensated")
    }

    @Test func aRetriedStepCanSucceed() throws {
        let box = try CLISandbox()
        try box.writeScript("second-time.sh", #"if [ "$SAGA_ATTEMPT" -lt 2 ]; then exit 1; fi; echo '{"ok": true}'"#)
        try box.writeWorkflow("second", commandWorkflow("second", steps: [("call", ["./scripts/second-time.sh"], #""kind": "readonly""#)]))
        let result = try box.run(["run", "second", "--json"])
        #expect(result.status == 0, "\(result)")
        let saga = try result.json()
        #expect(saga.step("call")?["attempts"] == 2)
        #expect(saga.step("call")?["output"] == ["ok": true])
        #expect(saga.eventTypes == ["saga.started", "step.started", "step.failed", "step.started", "step.succeeded", "saga.completed"])
    }

    @Test func timeoutKillsTheProcessGroup() throws {
        let box = try CLISandbox()
        try box.writeScript("hang.sh", #"""
            sleep 30 &
            echo $! > "$SAGA_SCRATCH/child.pid"
            echo $$ > "$SAGA_SCRATCH/parent.pid"
            sleep 30
            """#)
        try box.writeScript("ok.sh", "echo undone")
        try box.writeWorkflow(
            "hang",
            commandWorkflow("hang", steps: [
                ("wait", ["./scripts/hang.sh"],
                 #""timeout": "300ms", "retry": {"maxAttempts": 1}, "compensation": {"command": {"argv": ["./scripts/ok.sh"]}}"#),
            ])
        )
        let started = Date()
        let result = try box.run(["run", "hang", "--json"], timeout: 25)
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(result.status == 1, "\(result)")
        let saga = try result.json()
        let unknown = try #require(saga.events("step.unknown").first)
        #expect(unknown["step"] == "wait")
        #expect(unknown["error"]?.stringValue?.hasPrefix("timed out after 300ms") == true, "\(unknown)")
        #expect(!saga.eventTypes.contains("step.failed"))
        // The outcome is unknown, so the step may have taken effect: it is compensated.
        #expect(saga.events("compensation.succeeded").compactMap { $0["step"]?.stringValue } == ["wait"])
        #expect(saga["status"] == "compensated")

        let parent = try #require(box.readScratch("parent.pid").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        let child = try #require(box.readScratch("child.pid").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        #expect(eventually(timeout: 5) { !processIsAlive(parent) && !processIsAlive(child) },
                "the script (\(parent)) or its child (\(child)) survived the timeout")
    }

    /// The action hangs on its first attempt and succeeds on the second; the probe exits with `probeExit`.
    static func probeWorkflow(_ box: CLISandbox, probeExit: Int) throws {
        try box.writeScript("slow-first.sh", #"if [ "$SAGA_ATTEMPT" = 1 ]; then sleep 30; fi; echo '{"attempt": '"$SAGA_ATTEMPT"'}'"#)
        try box.writeScript("probe.sh", #"""
            echo "$SAGA_PHASE $SAGA_ATTEMPT $SAGA_IDEMPOTENCY_KEY" >> "$SAGA_SCRATCH/probe.log"
            if [ \#(probeExit) = 0 ]; then echo '{"found": true}'; fi
            echo 'cannot tell' >&2
            exit \#(probeExit)
            """#)
        try box.writeScript("ok.sh", "echo undone")
        try box.writeWorkflow(
            "probed",
            commandWorkflow("probed", steps: [
                ("charge", ["./scripts/slow-first.sh"],
                 #""timeout": "300ms", "probe": {"command": {"argv": ["./scripts/probe.sh"]}}, "compensation": {"command": {"argv": ["./scripts/ok.sh"]}}"#),
            ])
        )
    }

    @Test func probeExit0MeansTheEffectHappened() throws {
        let box = try CLISandbox()
        try Self.probeWorkflow(box, probeExit: 0)
        let result = try box.run(["run", "probed", "--id", "p0", "--json"])
        #expect(result.status == 0, "\(result)")
        let saga = try result.json()
        #expect(saga.eventTypes == ["saga.started", "step.started", "step.unknown", "probe.started", "probe.happened", "saga.completed"])
        #expect(saga.step("charge")?["output"] == ["found": true])
        #expect(saga.step("charge")?["attempts"] == 1)
        #expect(saga.step("charge")?["probeAttempts"] == 1)
        #expect(box.readScratch("probe.log") == "probe 1 p0/charge/probe\n")
    }

    @Test func probeExit10MeansItDidNotHappen() throws {
        let box = try CLISandbox()
        try Self.probeWorkflow(box, probeExit: 10)
        let result = try box.run(["run", "probed", "--id", "p10", "--json"])
        #expect(result.status == 0, "\(result)")
        let saga = try result.json()
        #expect(saga.eventTypes == [
            "saga.started", "step.started", "step.unknown", "probe.started", "probe.not_happened", "step.started",
            "step.succeeded", "saga.completed",
        ])
        #expect(saga.step("charge")?["output"] == ["attempt": 2])
        #expect(saga.step("charge")?["attempts"] == 2)
        // Both attempts of the action carried the same key.
        #expect(saga.events("step.started").map { $0["idempotencyKey"] } == ["p10/charge/action", "p10/charge/action"])
    }

    @Test func anyOtherProbeExitCannotTell() throws {
        let box = try CLISandbox()
        try Self.probeWorkflow(box, probeExit: 3)
        let result = try box.run(["run", "probed", "--id", "p3", "--json"])
        #expect(result.status == 1, "\(result)")
        let saga = try result.json()
        #expect(saga["status"] == "needs_intervention")
        #expect(saga.events("probe.failed").count == 3)
        #expect(saga.events("probe.failed").first?["error"]?.stringValue?.contains("cannot tell") == true)
        #expect(saga.step("charge")?["attempts"] == 1)
        #expect(saga.eventTypes.last == "saga.needs_intervention")
    }
}

@Suite(.timeLimit(.minutes(2)))
struct CLICancelTests {
    @Test func cancelARunningSagaCompensatesIt() throws {
        let box = try CLISandbox()
        try box.writeScript("step.sh", #"""
            if [ "$SAGA_PHASE" = action ] && [ "$SAGA_STEP" = slow ]; then sleep 2; fi
            echo "$SAGA_STEP $SAGA_PHASE" >> "$SAGA_SCRATCH/effects.log"
            echo "{\"step\": \"$SAGA_STEP\"}"
            """#)
        let compensation = #""compensation": {"command": {"argv": ["./scripts/step.sh"]}}"#
        try box.writeWorkflow(
            "cancellable",
            commandWorkflow("cancellable", steps: [
                ("fast", ["./scripts/step.sh"], compensation),
                ("slow", ["./scripts/step.sh"], compensation),
                ("last", ["./scripts/step.sh"], compensation),
            ])
        )
        let id = try box.submit(["cancellable"])
        let worker = try box.start(["worker", "--until-idle", "--lease", "5s"])
        defer { worker.wait(timeout: 0) }
        let running = try eventually(timeout: 20) { try box.show(id).step("slow")?["status"] == "running" }
        try #require(running, "step 'slow' never ran: \(worker.stderr)")

        let cancel = try box.run(["cancel", id, "--reason", "x"])
        #expect(cancel.status == 0, "\(cancel)")
        #expect(cancel.stdout == "cancel requested for saga \(id) (running)\n")
        let status = worker.wait(timeout: 30)
        #expect(status == 0 || (status == 1 && worker.stderr.contains("A service has finished unexpectedly")), "\(worker.stderr)")

        let saga = try box.show(id)
        #expect(saga["status"] == "compensated")
        let request = try #require(saga.events("saga.cancel_requested").first)
        #expect(request["error"] == "x")
        #expect(saga["cancelReason"] == "x")
        #expect(saga.step("last")?["attempts"] == 0)
        #expect(saga.events("compensation.succeeded").compactMap { $0["step"]?.stringValue } == ["slow", "fast"])
        #expect(box.readScratch("effects.log") == "fast action\nslow action\nslow compensation\nfast compensation\n")

        let again = try box.run(["cancel", id])
        #expect(again.status == 4)
        #expect(again.stderr == "error: saga \(id) is already compensated\n")
    }

    @Test func cancelAFinishedSagaIsAConflict() throws {
        let box = try CLISandbox()
        let run = try box.run(["run", "order", "--id", "done-1", "--input", #"{"orderId":"d-1"}"#])
        #expect(run.status == 0)
        let result = try box.run(["cancel", "done-1", "--reason", "too late"])
        #expect(result.status == 4)
        #expect(result.stderr == "error: saga done-1 is already completed\n")
        let saga = try box.show("done-1")
        #expect(saga["status"] == "completed")
        #expect(saga.events("saga.cancel_requested").isEmpty)
        #expect(try box.run(["cancel", "nope"]).status == 3)
    }

    @Test func cancelAPendingSaga() throws {
        let box = try CLISandbox()
        let id = try box.submit(["order", "--input", #"{"orderId":"pc-1"}"#])
        let cancel = try box.run(["cancel", id, "--reason", "never mind", "--json"])
        #expect(cancel.status == 0, "\(cancel)")
        #expect(try cancel.json()["cancelReason"] == "never mind")
        try box.workUntilIdle()
        let saga = try box.show(id)
        #expect(saga["status"] == "compensated")
        #expect(saga.events("step.started").isEmpty)
        #expect(box.readScratch("order-pc-1.log") == nil)
    }
}
