import Foundation
import Sagas
import SagasSQLite
import SagasTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `saga interventions`, `saga resolve` and `saga reconcile` against the built binary, with real step scripts,
/// crashes and races.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct InterventionCommandTests {
    static let fast = #"{"maxAttempts": 2, "initialInterval": "10ms", "maxInterval": "20ms"}"#

    /// Workflow `NAME`: steps a, b, c. Each compensation appends its step to `$SAGA_SCRATCH/undo-$SAGA_ID.log`;
    /// b's fails ("refund API down") until the flag file `$SAGA_SCRATCH/FLAG` exists (`flag: nil`: always).
    /// c fails for good (exit 100). `extraTop` adds top-level members.
    static func writeFlagWorkflow(
        _ box: CLISandbox,
        name: String = "iv",
        flag: String? = "FLAG",
        compensationAttempts: Int = 2,
        undoDelay: String = "0",
        extraTop: String = ""
    ) throws {
        try box.writeScript("undo.sh", #"""
            if [ "$SAGA_ATTEMPT" -gt 1 ]; then sleep "$2"; fi
            if [ -n "$1" ] && [ ! -f "$SAGA_SCRATCH/$1" ]; then echo "refund API down" >&2; exit 1; fi
            echo "$SAGA_STEP" >> "$SAGA_SCRATCH/undo-$SAGA_ID.log"
            echo '{"undone": true}'
            """#)
        try box.writeScript("ok.sh", #"echo "{\"step\": \"$SAGA_STEP\"}""#)
        try box.writeScript("fail.sh", #"echo "card declined" >&2; exit 100"#)
        let flagArg = flag ?? "never-created"
        let compensationRetry = #"{"maxAttempts": \#(compensationAttempts), "initialInterval": "10ms", "maxInterval": "20ms"}"#
        var text = commandWorkflow(
            name,
            defaults: #"{"retry": \#(fast), "compensationRetry": \#(compensationRetry), "timeout": "10s"}"#,
            steps: [
                ("a", ["./scripts/ok.sh"], #""compensation": {"command": {"argv": ["./scripts/undo.sh", "", "0"]}}"#),
                ("b", ["./scripts/ok.sh"], #""compensation": {"command": {"argv": ["./scripts/undo.sh", "\#(flagArg)", "\#(undoDelay)"]}}"#),
                ("c", ["./scripts/fail.sh"], #""kind": "readonly""#),
            ]
        )
        if !extraTop.isEmpty {
            text = text.replacingOccurrences(of: #""version": 1,"#, with: #""version": 1, \#(extraTop),"#)
        }
        try box.writeWorkflow(name, text)
    }

    static func undoLog(_ box: CLISandbox, _ id: String) -> [String] {
        (box.readScratch("undo-\(id).log") ?? "").split(separator: "\n").map(String.init)
    }

    /// `saga interventions --json ARGUMENTS`, parsed.
    static func interventions(_ box: CLISandbox, _ arguments: [String] = []) throws -> [JSONValue] {
        let result = try box.run(["interventions", "--json"] + arguments)
        guard result.status == 0 else { throw CLITestError("saga interventions failed: \(result)") }
        return try result.json().arrayValue ?? []
    }

    /// Checks a saga's journal: numbered 1…n, every intervention resolved at most once and only one that opened,
    /// and every attempt that started has an outcome unless the saga is still running it.
    static func checkJournal(_ box: CLISandbox, _ id: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let saga = try box.show(id)
        let seqs = saga.events.compactMap { $0["seq"]?.intValue }
        #expect(seqs == Array(1...max(1, seqs.count)), "saga \(id) has gaps: \(seqs)", sourceLocation: sourceLocation)
        #expect(saga["journalError"] == nil, "saga \(id): \(saga["journalError"] ?? .null)", sourceLocation: sourceLocation)
        let resolved = saga.events("intervention.resolved").compactMap { $0["data"]?["intervention"]?.stringValue }
        #expect(resolved.count == Set(resolved).count, "saga \(id) resolved an intervention twice: \(resolved)", sourceLocation: sourceLocation)
        let opened = Set(saga.events("saga.needs_intervention").compactMap { $0["seq"]?.intValue }.map { "\(id)#\($0)" })
        #expect(Set(resolved).isSubset(of: opened), "saga \(id): \(resolved) vs \(opened)", sourceLocation: sourceLocation)
        let status = saga["status"]?.stringValue ?? ""
        if ["completed", "compensated", "failed", "needs_intervention"].contains(status) {
            for (start, outcomes) in [
                ("step.started", ["step.succeeded", "step.failed", "step.unknown"]),
                ("compensation.started", ["compensation.succeeded", "compensation.failed", "compensation.unknown"]),
                ("probe.started", ["probe.happened", "probe.not_happened", "probe.failed"]),
            ] {
                for event in saga.events(start) {
                    let matched = saga.events.contains {
                        outcomes.contains($0["type"]?.stringValue ?? "") && $0["step"] == event["step"]
                            && $0["attempt"] == event["attempt"]
                    }
                    #expect(matched, "saga \(id): \(event) has no outcome", sourceLocation: sourceLocation)
                }
            }
        }
    }

    // MARK: 1. A compensation that always fails, settled by a person

    @Test func aFailedCompensationWaitsAndSkipFinishesIt() throws {
        let box = try CLISandbox()
        try Self.writeFlagWorkflow(box, flag: nil)
        let run = try box.run(["run", "iv", "--id", "skip-1", "--input", "{}"])
        #expect(run.status == 1, "\(run)")
        #expect(try box.show("skip-1")["status"] == "needs_intervention")
        #expect(Self.undoLog(box, "skip-1").isEmpty, "a's compensation waits behind b's")

        let open = try Self.interventions(box)
        try #require(open.count == 1, "\(open)")
        let item = open[0]
        let id = try #require(item["id"]?.stringValue)
        #expect(id.hasPrefix("skip-1#"))
        #expect(item["saga"] == "skip-1")
        #expect(item["step"] == "b")
        #expect(item["phase"] == "compensation")
        #expect(item["reason"]?.stringValue?.hasPrefix("compensation of step 'b' failed: ") == true, "\(item)")
        #expect(item["reason"]?.stringValue?.contains("refund API down") == true, "\(item)")
        #expect(item["lastError"]?.stringValue?.contains("refund API down") == true, "\(item)")
        #expect(item["attempts"] == 2)
        #expect(item["openedAt"]?.stringValue?.hasSuffix("Z") == true)
        #expect(item["workflow"] == "iv")
        let table = try box.run(["interventions"])
        #expect(table.status == 0)
        #expect(table.stdout.contains(id) && table.stdout.contains("compensation"), "\(table.stdout)")
        let listed = try box.run(["list", "--status", "needs_intervention", "--json"])
        #expect(try listed.json().arrayValue?.compactMap { $0["id"]?.stringValue } == ["skip-1"], "\(listed)")

        let resolve = try box.run(["resolve", id, "--skip", "--note", "refunded by hand, ticket 4411", "--by", "alice"])
        #expect(resolve.status == 0, "\(resolve)")
        #expect(resolve.stdout.contains("resolved (skip) by alice: saga skip-1 is compensating"), "\(resolve.stdout)")
        try box.workUntilIdle()

        let saga = try box.show("skip-1")
        #expect(saga["status"] == "compensated")
        #expect(Self.undoLog(box, "skip-1") == ["a"], "the rest ran, b's was skipped")
        let resolution = try #require(saga.events("intervention.resolved").first)
        #expect(resolution["data"]?["note"] == "refunded by hand, ticket 4411")
        #expect(resolution["data"]?["by"] == "alice")
        #expect(resolution["data"]?["action"] == "skip")
        #expect(resolution["data"]?["intervention"] == .string(id))
        let history = saga["interventions"]?.arrayValue ?? []
        #expect(history.count == 1)
        #expect(history.first?["open"] == false)
        #expect(history.first?["resolution"]?["by"] == "alice")
        #expect(history.first?["resolution"]?["note"] == "refunded by hand, ticket 4411")
        #expect(try Self.interventions(box).isEmpty)
        try Self.checkJournal(box, "skip-1")
    }

    // MARK: 2. A compensation that heals under reconciliation

    @Test func reconciliationRetriesUntilTheFlagFileAppears() throws {
        let box = try CLISandbox()
        try Self.writeFlagWorkflow(box)
        #expect(try box.run(["run", "iv", "--id", "heal", "--input", "{}"]).status == 1)
        let first = try #require(try Self.interventions(box).first?["id"]?.stringValue)

        var pass = try box.run(["reconcile", "--once", "--json"])
        #expect(pass.status == 0, "\(pass)")
        var report = try pass.json()
        #expect(report["actions"]?.arrayValue?.map { $0["action"] } == ["retried"], "\(report)")
        #expect(report["actions"]?.arrayValue?.first?["detail"]?.stringValue?.contains("failed again") == true, "\(report)")
        #expect(try box.show("heal")["status"] == "needs_intervention")
        let second = try #require(try Self.interventions(box).first)
        #expect(second["id"]?.stringValue != first, "a failed automatic retry opens a new intervention")
        #expect(second["automaticRetries"] == 1)
        #expect(second["attempts"] == 3)

        FileManager.default.createFile(atPath: box.scratchFile("FLAG"), contents: nil)
        pass = try box.run(["reconcile", "--once", "--json"])
        #expect(pass.status == 0, "\(pass)")
        report = try pass.json()
        #expect(report["actions"]?.arrayValue?.first?["detail"]?.stringValue?.contains("succeeded; the saga is compensated") == true, "\(report)")
        let saga = try box.show("heal")
        #expect(saga["status"] == "compensated")
        #expect(Self.undoLog(box, "heal") == ["b", "a"])
        let resolutions = saga.events("intervention.resolved")
        #expect(resolutions.map { $0["data"]?["by"] } == ["reconciliation", "reconciliation"])
        #expect(resolutions.map { $0["data"]?["action"] } == ["retry", "retry"])
        #expect(try box.run(["reconcile", "--once"]).stdout.contains("nothing to do"))
        try Self.checkJournal(box, "heal")
    }

    // MARK: 3. Unknown outcomes and probes

    enum ProbeCase: String, CaseIterable, Sendable {
        case happened
        case notHappened
        case cannotTellThenSkip
        case cannotTellThenReconcile
    }

    @Test(arguments: ProbeCase.allCases)
    func unknownOutcomesAndProbes(_ probeCase: ProbeCase) throws {
        let box = try CLISandbox()
        // The first attempt hangs past its timeout (its outcome is unknown); later ones succeed at once.
        try box.writeScript("pay.sh", #"""
            echo "$SAGA_ATTEMPT" >> "$SAGA_SCRATCH/pay-attempts"
            if [ "$SAGA_ATTEMPT" = 1 ]; then sleep 30; fi
            echo '{"paymentId": "p-2"}'
            """#)
        // The probe answers what `$SAGA_SCRATCH/answer` says: happened (exit 0), not (exit 10), else cannot tell.
        try box.writeScript("probe.sh", #"""
            answer=$(cat "$SAGA_SCRATCH/answer" 2>/dev/null)
            if [ "$answer" = happened ]; then echo '{"paymentId": "p-1"}'; exit 0; fi
            if [ "$answer" = not ]; then exit 10; fi
            echo "ledger unreachable" >&2; exit 1
            """#)
        try box.writeScript("ok.sh", #"echo '{}'"#)
        try box.writeWorkflow(
            "pay",
            commandWorkflow(
                "pay",
                defaults: #"{"retry": \#(Self.fast), "timeout": "10s"}"#,
                steps: [
                    ("pay", ["./scripts/pay.sh"], #""kind": "pivot", "timeout": "300ms", "probe": {"command": {"argv": ["./scripts/probe.sh"]}}"#),
                    ("ship", ["./scripts/ok.sh"], #""kind": "retriable""#),
                ]
            )
        )
        let answer = box.scratchFile("answer")
        switch probeCase {
        case .happened: try Data("happened".utf8).write(to: URL(fileURLWithPath: answer))
        case .notHappened: try Data("not".utf8).write(to: URL(fileURLWithPath: answer))
        default: break
        }
        let run = try box.run(["run", "pay", "--id", "p", "--input", "{}"])
        let attempts = { (box.readScratch("pay-attempts") ?? "").split(separator: "\n").count }
        switch probeCase {
        case .happened:
            #expect(run.status == 0, "\(run)")
            #expect(attempts() == 1, "the probe said it happened: not charged again")
            #expect(try box.show("p").eventTypes.contains("probe.happened"))
        case .notHappened:
            #expect(run.status == 0, "\(run)")
            #expect(attempts() == 2, "the probe said it did not happen: retried")
            #expect(try box.show("p").eventTypes.contains("probe.not_happened"))
        case .cannotTellThenSkip, .cannotTellThenReconcile:
            #expect(run.status == 1, "\(run)")
            let open = try Self.interventions(box)
            try #require(open.count == 1, "\(open)")
            #expect(open[0]["phase"] == "probe")
            #expect(open[0]["step"] == "pay")
            #expect(open[0]["lastError"]?.stringValue?.contains("ledger unreachable") == true, "\(open[0])")
            let id = try #require(open[0]["id"]?.stringValue)
            if probeCase == .cannotTellThenSkip {
                let resolve = try box.run(["resolve", id, "--skip", "--note", "ledger shows p-1", "--output", #"{"paymentId": "p-1"}"#, "--run"])
                #expect(resolve.status == 0, "\(resolve)")
            } else {
                try Data("happened".utf8).write(to: URL(fileURLWithPath: answer))
                let pass = try box.run(["reconcile", "--once", "--json"])
                #expect(try pass.json()["actions"]?.arrayValue?.map { $0["action"] } == ["retried"], "\(pass)")
            }
            #expect(attempts() == 1, "never charged twice")
        }
        let saga = try box.show("p")
        #expect(saga["status"] == "completed", "\(saga["status"] ?? .null)")
        #expect(saga.step("pay")?["output"]?["paymentId"] == (probeCase == .notHappened ? "p-2" : "p-1"))
        try Self.checkJournal(box, "p")
    }

    // MARK: 4. A stuck saga

    @Test func aSagaLeftByAKilledProcessIsReleasedAndFinished() throws {
        let box = try CLISandbox()
        try box.writeScript("slow.sh", #"""
            if [ "$SAGA_ATTEMPT" = 1 ]; then touch "$SAGA_SCRATCH/started"; sleep 30; fi
            echo '{"done": true}'
            """#)
        try box.writeWorkflow(
            "slow",
            commandWorkflow("slow", steps: [("a", ["./scripts/slow.sh"], #""kind": "readonly", "timeout": "60s""#)])
        )
        let process = try box.start(["run", "slow", "--id", "stuck", "--input", "{}"])
        #expect(eventually(timeout: 30) { FileManager.default.fileExists(atPath: box.scratchFile("started")) })
        process.signal(SIGKILL)
        process.wait(timeout: 10)
        #expect(try box.show("stuck")["status"] == "running")
        let listed = try box.run(["list", "--status", "running"])
        #expect(listed.stdout.contains("stuck"), "\(listed.stdout)")

        let pass = try box.run(["reconcile", "--once", "--json"])
        #expect(pass.status == 0, "\(pass)")
        let released = try pass.json()["actions"]?.arrayValue?.filter { $0["action"] == "released" } ?? []
        #expect(released.map { $0["saga"] } == ["stuck"], "\(pass)")
        #expect(released.first?["detail"]?.stringValue?.contains(":\(process.pid):") == true, "\(released)")

        try box.workUntilIdle()
        let saga = try box.show("stuck")
        #expect(saga["status"] == "completed")
        #expect(saga.events("step.unknown").count == 1, "the killed attempt's outcome is journaled as unknown")
        try Self.checkJournal(box, "stuck")
    }

    // MARK: 5. Racing reconcilers and a worker

    @Test func twoReconcilersAndAWorkerNeverResolveTwice() throws {
        let box = try CLISandbox()
        try Self.writeFlagWorkflow(box, flag: nil, compensationAttempts: 1)
        let ids = (0..<10).map { String(format: "race-%02d", $0) }
        for id in ids { #expect(try box.submit(["iv", "--id", id, "--input", "{}"]) == id) }
        try box.workUntilIdle(["--concurrency", "4"])
        #expect(try Self.interventions(box).count == 10)

        let processes = try [
            box.start(["reconcile", "--once", "--json"]),
            box.start(["reconcile", "--once", "--json"]),
            box.start(["worker", "--until-idle"]),
        ]
        let statuses = processes.map { $0.wait(timeout: 120) }
        #expect(statuses[0] == 0, "\(processes[0].stderr)")
        #expect(statuses[1] == 0, "\(processes[1].stderr)")
        #expect(statuses[2] == 0 || processes[2].stderr.contains("A service has finished unexpectedly"), "\(processes[2].stderr)")

        var resolutions = 0
        for id in ids {
            try Self.checkJournal(box, id)
            let saga = try box.show(id)
            #expect(saga["status"] == "needs_intervention", "\(id)")
            resolutions += saga.events("intervention.resolved").count
        }
        let reports = try processes.prefix(2).map { try JSONValue(parsing: $0.stdout) }
        let retried = reports.flatMap { $0["actions"]?.arrayValue ?? [] }.filter { $0["action"] == "retried" }
        #expect(retried.count == resolutions, "each resolution is reported by the reconciler that made it")
        #expect(resolutions >= 10 && resolutions <= 20, "\(resolutions)")
        #expect(try Self.interventions(box).count == 10)
    }

    // MARK: 6. A reconciler killed while it drives

    @Test func aReconcilerKilledMidRunLosesNothing() throws {
        let box = try CLISandbox()
        // b's compensation fails once; its retry (by reconciliation) sleeps 1s, then succeeds.
        try Self.writeFlagWorkflow(box, flag: nil, compensationAttempts: 1)
        try box.writeScript("undo-b.sh", #"""
            if [ "$SAGA_ATTEMPT" = 1 ]; then echo "refund API down" >&2; exit 1; fi
            touch "$SAGA_SCRATCH/retrying-$SAGA_ID"
            sleep 1
            echo "$SAGA_STEP" >> "$SAGA_SCRATCH/undo-$SAGA_ID.log"
            echo '{}'
            """#)
        let path = "\(box.customWorkflows)/iv.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: #"["./scripts/undo.sh", "never-created", "0"]"#, with: #"["./scripts/undo-b.sh"]"#)
        try box.writeWorkflow("iv", text)
        let ids = (0..<4).map { "kill-\($0)" }
        for id in ids { _ = try box.submit(["iv", "--id", id, "--input", "{}"]) }
        try box.workUntilIdle()
        #expect(try Self.interventions(box).count == 4)

        let reconciler = try box.start(["reconcile", "--interval", "100ms", "--retry-interval", "0s"])
        let driving = eventually(timeout: 60) {
            ids.contains { FileManager.default.fileExists(atPath: box.scratchFile("retrying-\($0)")) }
        }
        #expect(driving, "the reconciler never retried: \(reconciler.stderr)")
        reconciler.signal(SIGKILL)
        reconciler.wait(timeout: 10)
        #expect(reconciler.terminatedBySignal)

        try box.workUntilIdle()
        #expect(try box.run(["reconcile", "--once", "--retry-interval", "0s"]).status == 0)
        try box.workUntilIdle()
        for id in ids {
            try Self.checkJournal(box, id)
            let saga = try box.show(id)
            let status = saga["status"]?.stringValue ?? ""
            if status == "needs_intervention" {
                #expect(saga["interventions"]?.arrayValue?.last?["open"] == true, "\(id) waits with an open intervention")
            } else {
                #expect(status == "compensated", "\(id) is \(status)")
                #expect(Self.undoLog(box, id).last == "a")
            }
        }
    }

    // MARK: 7. Commands: filters, errors, abandon, corrected input

    @Test func interventionsFilters() throws {
        let box = try CLISandbox()
        try Self.writeFlagWorkflow(box, name: "iv", flag: nil)
        try Self.writeFlagWorkflow(box, name: "other", flag: nil)
        #expect(try box.run(["run", "iv", "--id", "one", "--input", "{}"]).status == 1)
        #expect(try box.run(["run", "other", "--id", "two", "--input", "{}"]).status == 1)
        #expect(try Self.interventions(box).compactMap { $0["saga"]?.stringValue } == ["one", "two"], "oldest first")
        #expect(try Self.interventions(box, ["--workflow", "other"]).compactMap { $0["saga"]?.stringValue } == ["two"])
        #expect(try Self.interventions(box, ["--workflow", "nope"]).isEmpty)
        #expect(try Self.interventions(box, ["--older-than", "1h"]).isEmpty)
        #expect(try Self.interventions(box, ["--older-than", "0s"]).count == 2)
        let bad = try box.run(["interventions", "--older-than", "soon"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--older-than must be a duration"), "\(bad.stderr)")
        #expect(try box.run(["resolve", "one", "--skip", "--note", "x"]).status == 0)
        #expect(try box.run(["resolve", "two", "--skip", "--note", "x"]).status == 0)
        #expect(try box.run(["interventions"]).stdout == "no open interventions\n")
    }

    /// A saga whose journal does not replay is parked by the worker; `saga interventions` shows it apart, since
    /// there is no intervention to resolve.
    @Test func aParkedSagaIsListedApartAndCannotBeResolved() async throws {
        let box = try CLISandbox()
        try Self.writeFlagWorkflow(box, name: "iv", flag: nil)
        #expect(try box.run(["run", "iv", "--id", "open", "--input", "{}"]).status == 1)
        do {
            // A pinned definition with no steps does not load: every worker would fail on it the same way.
            let store = try SQLiteSagaStore(path: box.database)
            try await SagaFixtures.create(SagaFixtures.record(id: "broken"), in: store)
        }
        #expect(try box.workUntilIdle().status == 0)

        let listed = try box.run(["interventions"])
        #expect(listed.status == 0, "\(listed)")
        #expect(listed.stdout.contains("open#"), "the open intervention is listed first: \(listed.stdout)")
        #expect(listed.stdout.contains("1 parked saga:"), "\(listed.stdout)")
        let parkedLine = listed.stdout.split(separator: "\n").first { $0.hasPrefix("broken") }
        #expect(parkedLine?.contains("does not replay") == true, "\(listed.stdout)")
        // The JSON array holds the interventions only, as before.
        #expect(try Self.interventions(box).compactMap { $0["saga"]?.stringValue } == ["open"])

        let refused = try box.run(["resolve", "broken", "--skip", "--note", "x"])
        #expect(refused.status != 0, "\(refused)")
        #expect(refused.stderr.contains("does not replay"), "\(refused.stderr)")
    }

    @Test(arguments: [
        (["--note", "x"], "choose exactly one of --retry, --skip and --abandon"),
        (["--retry", "--skip", "--note", "x"], "choose exactly one of --retry, --skip and --abandon"),
        (["--skip"], "--skip and --abandon need --note"),
        (["--abandon", "--note", " "], "--skip and --abandon need --note"),
        (["--skip", "--note", "x", "--input", "{}"], "--input goes with --retry"),
        (["--retry", "--output", "{}"], "--output goes with --skip"),
    ])
    func resolveRefusesBadFlags(_ arguments: [String], _ message: String) throws {
        let box = try CLISandbox()
        try Self.writeFlagWorkflow(box, flag: nil)
        #expect(try box.run(["run", "iv", "--id", "flags", "--input", "{}"]).status == 1)
        let before = try box.show("flags").events.count
        let result = try box.run(["resolve", "flags"] + arguments)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(try box.show("flags").events.count == before, "nothing journaled")
    }

    @Test func resolvingTwiceExits4SayingByWhom() throws {
        let box = try CLISandbox()
        try Self.writeFlagWorkflow(box, flag: nil)
        #expect(try box.run(["run", "iv", "--id", "twice", "--input", "{}"]).status == 1)
        let id = try #require(try Self.interventions(box).first?["id"]?.stringValue)
        #expect(try box.run(["resolve", id, "--skip", "--note", "done by hand", "--by", "alice"]).status == 0)
        let again = try box.run(["resolve", id, "--retry", "--by", "bob"])
        #expect(again.status == 4, "\(again)")
        #expect(again.stderr.contains("already resolved: skip by alice"), "\(again.stderr)")
        let missing = try box.run(["resolve", "no-such-saga", "--retry"])
        #expect(missing.status == 3, "\(missing)")
        let journal = try box.show("twice")
        #expect(journal.events("intervention.resolved").count == 1)
    }

    @Test func abandonFailsTheSaga() throws {
        let box = try CLISandbox()
        try Self.writeFlagWorkflow(box, flag: nil)
        #expect(try box.run(["run", "iv", "--id", "gone", "--input", "{}"]).status == 1)
        let result = try box.run(["resolve", "gone", "--abandon", "--note", "customer compensated off-system", "--by", "bob", "--json"])
        #expect(result.status == 0, "\(result)")
        #expect(try result.json()["status"] == "failed")
        try box.workUntilIdle()
        let saga = try box.show("gone")
        #expect(saga["status"] == "failed")
        #expect(Array(saga.eventTypes.suffix(2)) == ["intervention.resolved", "saga.failed"])
        #expect(saga.events("saga.failed").first?["error"] == "abandoned by bob: customer compensated off-system")
        #expect(Self.undoLog(box, "gone").isEmpty, "the remaining compensations never ran")
        try Self.checkJournal(box, "gone")
    }

    @Test func retryWithCorrectedInput() throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", #"echo '{}'"#)
        try box.writeScript("fail.sh", #"echo "card declined" >&2; exit 100"#)
        // The refund goes to the account the input names; "closed" is refused for good.
        try box.writeScript("refund.sh", #"""
            if [ "$1" = closed ]; then echo "account $1 is closed" >&2; exit 100; fi
            echo "$1" >> "$SAGA_SCRATCH/refunds"
            echo '{}'
            """#)
        try box.writeWorkflow(
            "refund",
            commandWorkflow(
                "refund",
                steps: [
                    ("charge", ["./scripts/ok.sh"], #""compensation": {"command": {"argv": ["./scripts/refund.sh", "${input.account}"]}}"#),
                    ("ship", ["./scripts/fail.sh"], #""kind": "readonly""#),
                ]
            )
        )
        #expect(try box.run(["run", "refund", "--id", "r", "--input", #"{"account": "closed"}"#]).status == 1)
        let open = try #require(try Self.interventions(box).first)
        #expect(open["lastError"]?.stringValue?.contains("account closed is closed") == true, "\(open)")
        let result = try box.run(["resolve", "r", "--retry", "--input", #"{"account": "acct-2"}"#, "--run", "--json"])
        #expect(result.status == 0, "\(result)")
        #expect(try result.json()["status"] == "compensated")
        #expect(box.readScratch("refunds") == "acct-2\n")
        let resolution = try #require(try box.show("r").events("intervention.resolved").first)
        #expect(resolution["data"]?["input"] == ["account": "acct-2"])
        try Self.checkJournal(box, "r")
    }

    // MARK: 8. A workflow's own reconciliation settings

    @Test func aWorkflowWithNoAutomaticRetriesWaitsForAPerson() throws {
        let box = try CLISandbox()
        try Self.writeFlagWorkflow(box, flag: nil, extraTop: #""reconciliation": {"maxAutomaticRetries": 0}"#)
        #expect(try box.run(["run", "iv", "--id", "manual", "--input", "{}"]).status == 1)
        let attempts = try box.show("manual").events("compensation.started").count
        let pass = try box.run(["reconcile", "--once", "--json"])
        #expect(pass.status == 0, "\(pass)")
        let report = try pass.json()
        #expect(report["actions"]?.arrayValue?.isEmpty == true, "\(report)")
        let waiting = report["needsPerson"]?.arrayValue ?? []
        #expect(waiting.map { $0["saga"] } == ["manual"])
        #expect(waiting.first?["detail"]?.stringValue?.contains("automatic retries used up") == true, "\(waiting)")
        let saga = try box.show("manual")
        #expect(saga.events("compensation.started").count == attempts, "no automatic retry")
        #expect(saga.events("intervention.resolved").isEmpty)
        let validate = try box.run(["validate", "\(box.customWorkflows)/iv.json"])
        #expect(validate.status == 0, "\(validate)")
    }

    @Test func aMisspelledReconciliationFieldIsRejected() throws {
        let box = try CLISandbox()
        try Self.writeFlagWorkflow(box, flag: nil, extraTop: #""reconciliation": {"maxAutomaticRetires": 0}"#)
        let validate = try box.run(["validate", "\(box.customWorkflows)/iv.json"])
        #expect(validate.status == 1, "\(validate)")
        #expect((validate.stdout + validate.stderr).contains("did you mean 'maxAutomaticRetries'?"), "\(validate)")
    }
}
