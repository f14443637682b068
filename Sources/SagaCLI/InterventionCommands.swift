import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasSQLite

struct InterventionsCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "interventions",
        abstract: "List open interventions (sagas waiting for a person), oldest first.",
        discussion: """
            An intervention opens when a compensation fails for good, when a step after the pivot exhausts its \
            retries, or when a probe cannot settle an unknown outcome. Settle one with `saga resolve`.

            Below the table, parked sagas are listed too: waiting for a person because their journal does not \
            replay, with no intervention to resolve (repair them from a backup). `--json` prints the interventions \
            only; `saga list --status needs_intervention --json` includes parked sagas.

            Examples:
              saga interventions
              saga interventions --workflow order --older-than 1h --json
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only those of this workflow.")
    var workflow: String?
    @Option(help: "Only those open at least this long (e.g. 30m, 2h).")
    var olderThan: String?
    @Option(help: "The reconciliation job's --max-retries, to count the automatic retries left (a workflow's own setting wins).")
    var maxRetries: Int = ReconciliationPolicy().maxAutomaticRetries
    @Flag(help: "Print a JSON array.")
    var json = false

    func execute() async throws {
        guard maxRetries >= 0 else { throw CLIError("--max-retries must be 0 or more", exitCode: CLI.ExitCodes.invalidInput) }
        var minimumAge: Duration?
        if let olderThan {
            guard let d = SagaDuration.parse(olderThan) else {
                throw CLIError("--older-than must be a duration such as 30m or 2h", exitCode: CLI.ExitCodes.invalidInput)
            }
            minimumAge = d
        }
        let store = try await global.openStore(.read)
        let engine = EngineFactory.makeEngine(store: store, logger: global.makeLogger(defaultLevel: .warning))
        let list = try await CLI.guarded { try await engine.client.interventions(workflow: workflow, olderThan: minimumAge) }
        let now = Date()
        if json {
            CLI.printJSON(.array(list.map { $0.json(now: now, maxAutomaticRetries: maxRetries) }))
            return
        }
        if list.isEmpty {
            print("no open interventions")
        } else {
            let rows = list.map { s in
                let left = s.automaticRetriesLeft(maxAutomaticRetries: maxRetries)
                let limit = s.workflowMaxAutomaticRetries ?? maxRetries
                return [
                    s.intervention.id, "\(s.workflow)@\(s.version)", s.intervention.step, s.intervention.phase.rawValue,
                    "\(s.attempts)", left == 0 ? "none left" : "\(left) of \(limit) left",
                    Output.age(s.intervention.openedAt, now: now),
                    Output.truncate(
                        Output.withoutContext(
                            s.lastError ?? s.intervention.reason, saga: s.intervention.sagaID, step: s.intervention.step
                        ),
                        50
                    ),
                    s.suggestion,
                ]
            }
            print(
                Output.table(
                    ["ID", "WORKFLOW", "STEP", "PHASE", "ATTEMPTS", "AUTO RETRIES", "AGE", "LAST ERROR", "SUGGESTED"], rows
                )
            )
        }
        let parked = try await CLI.guarded { try await engine.parkedSagas(workflow: workflow) }
        guard !parked.isEmpty else { return }
        print(
            "\n\(parked.count) parked saga\(parked.count == 1 ? "" : "s"): the journal does not replay, so there is no "
                + "intervention to resolve; repair from a backup (Docs/operations.md, \"Parked sagas\")"
        )
        let rows = parked.map { r in
            [r.id, "\(r.workflow)@\(r.version)", Output.age(r.updatedAt, now: now), Output.truncate(Output.withoutContext(r.lastError ?? "", saga: r.id, step: r.currentStep), 90)]
        }
        print(Output.table(["SAGA", "WORKFLOW", "AGE", "LAST ERROR"], rows))
    }
}

struct ResolveCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Settle an intervention: retry, skip or abandon. Journaled with who and why.",
        discussion: """
            ID is an intervention id (SAGA#SEQ, from `saga interventions`) or a saga id (its open intervention).
            --retry runs the failed compensation (or step, or probe) again, optionally with corrected --input; a \
            worker carries the saga on (or pass --run to drive it here).
            --skip says a person did by hand what it should have done; the saga carries on as if it had succeeded.
            --abandon gives up on the remaining compensations; the saga ends `failed`.
            Resolving an intervention that is already resolved is an error (exit 4) that says by whom.

            Examples:
              saga resolve s-123 --retry
              saga resolve 's-123#14' --skip --note "refunded by hand, ticket 4411"
              saga resolve s-123 --abandon --note "customer compensated off-system" --by alice
              saga resolve --all --workflow order@2 --retry --yes

            --all resolves the open intervention of every saga the filters select (default: --status \
            needs_intervention), each journaled on its own; without --yes it only counts them. It goes on past \
            failures (a saga whose intervention was resolved meanwhile, a parked saga) and reports them (exit 1).
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "An intervention id (SAGA#SEQ) or a saga id (or --all with filters).")
    var id: String?
    @Flag(help: "Run the failed compensation or step again.")
    var retry = false
    @Flag(help: "Carry on as if it had succeeded (it was done by hand).")
    var skip = false
    @Flag(help: "Give up on the remaining compensations; the saga ends failed.")
    var abandon = false
    @Option(help: "Why (journaled; required for --skip and --abandon).")
    var note: String?
    @Option(
        help: ArgumentHelp(
            "Who (journaled as the resolution's `by`).",
            discussion: "Default: $USER, else $LOGNAME, else the login name of the user running saga from the system's user database (getpwuid), else uid N."
        )
    )
    var by: String?
    @Option(help: "With --retry: corrected input (JSON, @FILE or -) that the step's templates read instead of the saga's.")
    var input: String?
    @Option(help: "With --skip: the step's output (JSON), for the steps and compensations that read it.")
    var output: String?
    @Flag(help: "With --retry or --skip: drive the saga in this process until it is done or waits again (exit 1 when it needs intervention again).")
    var run = false
    @Flag(help: "Print the saga's summary as JSON.")
    var json = false
    @OptionGroup var batch: BatchOptions

    func execute() async throws {
        try batch.validate(id: id, command: "resolve")
        if batch.all && (run || input != nil) {
            throw CLIError("--run and --input go with one saga, not with --all", exitCode: CLI.ExitCodes.invalidInput)
        }
        let chosen = [retry, skip, abandon].filter { $0 }.count
        guard chosen == 1 else {
            throw CLIError("choose exactly one of --retry, --skip and --abandon", exitCode: CLI.ExitCodes.invalidInput)
        }
        if (skip || abandon) && (note ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw CLIError("--skip and --abandon need --note saying what was done and why", exitCode: CLI.ExitCodes.invalidInput)
        }
        if input != nil && !retry { throw CLIError("--input goes with --retry", exitCode: CLI.ExitCodes.invalidInput) }
        if output != nil && !skip { throw CLIError("--output goes with --skip", exitCode: CLI.ExitCodes.invalidInput) }
        let resolution: InterventionResolution
        if retry {
            var inputValue: JSONValue?
            if input != nil {
                var option = InputOption()
                option.input = input
                inputValue = try option.value()
            }
            resolution = .retry(input: inputValue, attempts: nil)
        } else if skip {
            var outputValue: JSONValue?
            if let output {
                do { outputValue = try JSONValue(parsing: output) } catch {
                    throw CLIError("--output: \(error.message)", exitCode: CLI.ExitCodes.invalidInput)
                }
            }
            resolution = .skip(output: outputValue)
        } else {
            resolution = .abandon
        }
        if let by, by.trimmingCharacters(in: .whitespaces).isEmpty {
            throw CLIError("--by must name who resolves", exitCode: CLI.ExitCodes.invalidInput)
        }
        let who = by ?? Self.currentUser()
        let store = try await global.openStore(.write)
        let engine = EngineFactory.makeEngine(store: store, logger: global.makeLogger(defaultLevel: .warning))
        guard let id else {
            let note = self.note
            try await batch.run(verb: "resolve (\(resolution.actionName))", json: json, engine: engine, defaultStatuses: [.needsIntervention]) {
                sagaID in
                _ = try await engine.client.resolve(sagaID, resolution, by: who, note: note)
            }
            return
        }
        var record = try await CLI.guarded { try await engine.client.resolve(id, resolution, by: who, note: note) }
        if run && !abandon {
            let sagaID = record.id
            record = try await CLI.guarded { try await engine.run(sagaID: sagaID) }
        }
        if json {
            CLI.printJSON(record.summaryJSON(now: Date()))
        } else {
            print("resolved (\(resolution.actionName)) by \(who): saga \(record.id) is \(record.status.rawValue)")
            if record.status.isRunnable {
                // Not `saga resolve … --run`: the intervention is settled now, and resolving it again is refused.
                print("a running `saga worker` carries it on; if none runs, start one: saga worker --until-idle")
            }
            if run && record.status == .needsIntervention {
                print("it needs intervention again: \(record.lastError ?? "see saga show \(record.id)")")
            }
        }
        // As `saga run`: a saga that `--run` left waiting for a person again did not get through.
        if run && record.status == .needsIntervention { throw ExitCode(CLI.ExitCodes.notCompleted) }
    }
}

extension ResolveCommand {
    /// Who runs this process: `$USER`, else `$LOGNAME` (when set and not empty), else the login name of the
    /// effective user in the system's user database, else `uid N`.
    static func currentUser(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        for name in ["USER", "LOGNAME"] {
            if let value = environment[name], !value.trimmingCharacters(in: .whitespaces).isEmpty { return value }
        }
        let uid = geteuid()
        if let entry = getpwuid(uid), let name = entry.pointee.pw_name {
            let login = String(cString: name)
            if !login.isEmpty { return login }
        }
        return "uid \(uid)"
    }
}

extension InterventionResolution {
    var actionName: String {
        switch self {
        case .retry: "retry"
        case .skip: "skip"
        case .abandon: "abandon"
        }
    }
}

struct ReconcileCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Retry failed compensations on a slow schedule, settle unknown outcomes, and hand stuck sagas back.",
        discussion: """
            Each pass: retries open interventions whose automatic retry is due (one attempt each, journaled as \
            resolved by reconciliation; a retry that fails leaves the saga waiting again), re-runs probes of \
            unknown outcomes, hands sagas whose worker is gone back to the workers, reports attempts running far \
            past their timeout, and prints what still needs a person. `saga worker` runs the same pass periodically.
            --once runs one pass now and retries every open intervention that has automatic retries left, \
            whatever its schedule: it acts (runs compensations again, uses up automatic retries, opens new \
            interventions). --dry-run runs one pass that changes nothing and reports what it would do \
            (would_retry, would_release) and everything waiting: interventions for a person, sagas no worker \
            runs (stuck), parked sagas.

            Examples:
              saga reconcile --dry-run
              saga reconcile --once
              saga reconcile --interval 1m --retry-interval 10m --max-retries 5
            """
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Run one pass now, then exit. It acts: it retries every open intervention with automatic retries left.")
    var once = false
    @Flag(help: "Run one pass that changes nothing and report what it would do (with --once: what --once would do), then exit.")
    var dryRun = false
    @Option(help: "Time between passes.")
    var interval: String = "1m"
    @Option(help: "Time between automatic retries of one intervention.")
    var retryInterval: String = "5m"
    @Option(help: "Automatic retries per intervention before only a person can settle it.")
    var maxRetries: Int = 3
    @Flag(help: "Print each pass's report as JSON.")
    var json = false

    func execute() async throws {
        guard let every = SagaDuration.parse(interval), every > .zero else {
            throw CLIError("--interval must be a duration such as 1m", exitCode: CLI.ExitCodes.invalidInput)
        }
        guard let retryEvery = SagaDuration.parse(retryInterval) else {
            throw CLIError("--retry-interval must be a duration such as 5m", exitCode: CLI.ExitCodes.invalidInput)
        }
        guard maxRetries >= 0 else { throw CLIError("--max-retries must be 0 or more", exitCode: CLI.ExitCodes.invalidInput) }
        let logger = global.makeLogger(defaultLevel: .warning)
        // A dry run only reads: the database is opened read-only, so it cannot change anything.
        let store = try await global.openStore(dryRun ? .read : .write)
        let engine = EngineFactory.makeEngine(store: store, logger: logger)
        let policy = ReconciliationPolicy(retryInterval: retryEvery, maxAutomaticRetries: maxRetries)
        while true {
            let report = try await CLI.guarded {
                try await engine.reconcile(policy: policy, force: once, dryRun: dryRun, reportWaiting: true)
            }
            ReconcileCommand.print(report, json: json, dryRun: dryRun)
            if once || dryRun { return }
            try await Task.sleep(for: every)
        }
    }

    static func print(_ report: ReconciliationReport, json: Bool, dryRun: Bool = false) {
        if json {
            Swift.print(report.json.jsonString)
            return
        }
        if report.entries.isEmpty {
            Swift.print("reconcile: nothing to do, nothing waiting for a person" + (dryRun ? " (dry run)" : ""))
            return
        }
        if dryRun { Swift.print("reconcile --dry-run: nothing was changed; a pass would do this:") }
        let rows = report.entries.map { e in
            [e.action, e.sagaID, e.step ?? "", SagaDuration.format(.seconds(e.ageSeconds)), e.detail]
        }
        Swift.print(Output.table(["ACTION", "SAGA", "STEP", "AGE", "DETAIL"], rows, colorColumn: 0))
    }
}
