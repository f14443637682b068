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

extension SplitMix64 {
    /// `SAGA_SEED` when set, else a random seed; printed by the tests that use it, so a failing chaos run can be
    /// replayed.
    static func seedFromEnvironment() -> UInt64 {
        ProcessInfo.processInfo.environment["SAGA_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64(UInt32.max))
    }
}

/// The crash suite's workflow, inputs and checks, shared by `CrashPointTests`, `RandomKillTests`,
/// `StorageFaultTests` and `BadInputTests`.
///
/// The workflow `crashy` has four compensable steps a → b → c → d, each running `scripts/crashy.sh DELAY MODE`:
/// it logs `start`/`end` lines (`SAGA STEP PHASE WORKER_PID TIME`) to `$SAGA_SCRATCH/spans.log`, sleeps DELAY
/// seconds, and then, for the action, by MODE: `ok` succeeds; `flaky` fails (retryably) on attempts 1 and 2 and
/// succeeds from attempt 3; `perm` fails for good (exit 100). Compensations always succeed. Each execution that took
/// effect appends `SAGA STEP PHASE ATTEMPT KEY` to `$SAGA_SCRATCH/effects.log` (what the target saw). So the final
/// status follows from the input: `compensated` when some step is `perm`, else `completed`.
enum CrashSuite {
    static let steps = ["a", "b", "c", "d"]
    static let workflow = "crashy"

    /// One saga of a chaos run: its id, input and the status it must end in.
    struct Plan: Sendable {
        var id: String
        var input: JSONValue
        var expected: SagaStatus
    }

    /// Writes the script and the workflow into the sandbox; returns the loaded definition.
    @discardableResult
    static func writeWorkflow(_ box: CLISandbox, maxAttempts: Int = 10) throws -> SagaDefinition {
        try box.writeScript("crashy.sh", #"""
            spans="$SAGA_SCRATCH/spans.log"
            echo "start $SAGA_ID $SAGA_STEP $SAGA_PHASE $PPID $(date +%s.%N)" >> "$spans"
            sleep "$1"
            status=0
            if [ "$SAGA_PHASE" = action ]; then
              case "$2" in
                perm) status=100 ;;
                flaky) if [ "$SAGA_ATTEMPT" -lt 3 ]; then status=1; fi ;;
              esac
            fi
            if [ "$status" = 0 ]; then
              echo "$SAGA_ID $SAGA_STEP $SAGA_PHASE $SAGA_ATTEMPT $SAGA_IDEMPOTENCY_KEY" >> "$SAGA_SCRATCH/effects.log"
            fi
            echo "end $SAGA_ID $SAGA_STEP $SAGA_PHASE $PPID $(date +%s.%N)" >> "$spans"
            if [ "$status" = 0 ]; then echo '{"ok": true}'; else echo "failed on demand ($2)" >&2; fi
            exit "$status"
            """#)
        let retry = #"{"maxAttempts": \#(maxAttempts), "initialInterval": "10ms", "maxInterval": "50ms"}"#
        let path = try box.writeWorkflow(
            workflow,
            commandWorkflow(
                workflow,
                defaults: #"{"retry": \#(retry), "compensationRetry": \#(retry), "timeout": "30s"}"#,
                steps: steps.map { name in
                    let compensation = #""compensation": {"command": {"argv": ["./scripts/crashy.sh", "${input.d\#(name)}", "none"]}}"#
                    return (name: name, argv: ["./scripts/crashy.sh", "${input.d\(name)}", "${input.m\(name)}"], extra: compensation)
                }
            )
        )
        return try WorkflowLoader.definition(contentsOf: path, kinds: .standard)
    }

    /// An input: delays of `minDelayMs` to `maxDelayMs` ms per step; about a fifth of the sagas fail for good at a
    /// random step, and (with `flaky`) a third of the steps are flaky.
    static func plan(
        _ n: Int,
        prefix: String = "crashy",
        minDelayMs: Int = 0,
        maxDelayMs: Int = 30,
        flaky: Bool = true,
        using rng: inout SplitMix64
    ) -> Plan {
        var fields: [String: JSONValue] = [:]
        let permAt = Int.random(in: 0..<5, using: &rng) == 0 ? Int.random(in: 0..<steps.count, using: &rng) : nil
        for (i, name) in steps.enumerated() {
            let ms = Int.random(in: minDelayMs...maxDelayMs, using: &rng)
            fields["d\(name)"] = .string(String(format: "%.3f", Double(ms) / 1000))
            let mode = i == permAt ? "perm" : flaky && Int.random(in: 0..<3, using: &rng) == 0 ? "flaky" : "ok"
            fields["m\(name)"] = .string(mode)
        }
        return Plan(
            id: String(format: "\(prefix)-%05d", n),
            input: .object(fields),
            expected: permAt == nil ? .completed : .compensated
        )
    }

    /// The same input for every step: `mode` for the step named `at` (others `ok`), a fixed delay.
    static func plan(id: String, mode: String = "ok", at step: String = "", delay: String = "0.01") -> Plan {
        var fields: [String: JSONValue] = [:]
        for name in steps {
            fields["d\(name)"] = .string(delay)
            fields["m\(name)"] = .string(name == step ? mode : "ok")
        }
        return Plan(id: id, input: .object(fields), expected: mode == "perm" ? .compensated : .completed)
    }

    /// Journals the sagas straight into the sandbox's database (much faster than a `saga submit` per saga), as
    /// `saga submit` would: pending, with the workflow's folder as base directory.
    static func submit(
        _ plans: [Plan],
        definition: SagaDefinition,
        box: CLISandbox,
        into store: (any SagaStore)? = nil
    ) async throws {
        let store = try store ?? SQLiteSagaStore(path: box.database)
        let text = definition.json.jsonString
        let start = Date()
        for (i, plan) in plans.enumerated() {
            let at = SagaTime.date(milliseconds: SagaTime.milliseconds(start) + Int64(i))
            let record = SagaRecord(
                id: plan.id,
                workflow: definition.name,
                version: definition.version,
                definition: text,
                baseDirectory: box.customWorkflows,
                input: plan.input,
                status: .pending,
                createdAt: at,
                updatedAt: at
            )
            _ = try await store.create(record, events: [SagaEvent(seq: 1, at: at, type: .sagaStarted, data: ["input": plan.input])])
        }
    }

    /// What `effects.log` says.
    static func effects(_ box: CLISandbox) -> [JournalChecker.Effect] {
        (box.readScratch("effects.log") ?? "").split(separator: "\n").compactMap { line in
            let p = line.split(separator: " ").map(String.init)
            guard p.count == 5, let phase = StepPhase(rawValue: p[2]) else { return nil }
            return JournalChecker.Effect(sagaID: p[0], step: p[1], phase: phase, key: p[4])
        }
    }

    /// Attempts as `spans.log` shows them. An attempt whose worker was killed before it ended (its command is an
    /// orphan that goes on running: rule 13 allows it) is left out; so is one that never ended.
    static func spans(_ box: CLISandbox, killed: [String: Date] = [:]) -> [JournalChecker.AttemptSpan] {
        var open: [String: (worker: String, start: Date)] = [:]
        var spans: [JournalChecker.AttemptSpan] = []
        for line in (box.readScratch("spans.log") ?? "").split(separator: "\n") {
            let p = line.split(separator: " ").map(String.init)
            guard p.count == 6, let t = Double(p[5]) else { continue }
            let key = "\(p[1]) \(p[2]) \(p[3]) \(p[4])"
            let time = Date(timeIntervalSince1970: t)
            if p[0] == "start" {
                open[key] = (p[4], time)
            } else if let begun = open.removeValue(forKey: key) {
                if let death = killed[begun.worker], time >= death { continue }
                spans.append(.init(sagaID: p[1], step: "\(p[2]) \(p[3])", worker: begun.worker, start: begun.start, end: time))
            }
        }
        return spans
    }

    /// Reads the whole database and checks it with `JournalChecker`, plus each saga's expected final status.
    static func check(
        _ box: CLISandbox,
        plans: [Plan],
        killed: [String: Date] = [:],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> (report: JournalChecker.Report, journals: [JournalChecker.Journal]) {
        let store = try SQLiteSagaStore(path: box.database, configuration: .init(createIfMissing: false, readOnly: true))
        var journals: [JournalChecker.Journal] = []
        for record in try await store.list(SagaQuery(limit: .max)) {
            journals.append(.init(record: record, events: try await store.events(sagaID: record.id)))
        }
        var report = JournalChecker().check(journals, effects: effects(box), spans: spans(box, killed: killed))
        let byID = Dictionary(journals.map { ($0.record.id, $0) }, uniquingKeysWith: { a, _ in a })
        for plan in plans {
            guard let journal = byID[plan.id] else {
                report.violations.append(.init(sagaID: plan.id, rule: .isolation, message: "the saga is missing"))
                continue
            }
            if journal.record.status != plan.expected {
                report.violations.append(
                    .init(
                        sagaID: plan.id,
                        rule: .terminal,
                        message: "ended \(journal.record.status.rawValue), expected \(plan.expected.rawValue) "
                            + "(last error: \(journal.record.lastError ?? "none"))"
                    )
                )
            }
        }
        #expect(report.violations.isEmpty, "\(report)", sourceLocation: sourceLocation)
        return (report, journals)
    }

    /// The `saga` binary the chaos runs use: `SAGA_TEST_BINARY` when set (a copy, so that a long soak does not race a
    /// rebuild of `.build/debug/saga`), else the built one.
    static var binary: String {
        ProcessInfo.processInfo.environment["SAGA_TEST_BINARY"].flatMap { $0.isEmpty ? nil : $0 } ?? CLISandbox.binary
    }

    /// `box.start`, with ``binary``.
    static func start(_ box: CLISandbox, _ arguments: [String]) throws -> SagaProcess {
        let id = UUID().uuidString
        let (outPath, errPath) = ("\(box.root)/out-\(id).txt", "\(box.root)/err-\(id).txt")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: box.root)
        process.environment = box.environment
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return SagaProcess(process: process, stdoutPath: outPath, stderrPath: errPath)
    }

    /// The exit signal of a process that was killed by one (`nil` when it exited).
    static func signal(of process: SagaProcess) -> Int32? {
        process.terminatedBySignal ? process.process.terminationStatus : nil
    }

    /// A percentile (0…100) of some values, by nearest rank; 0 when there are none.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }
}
