public import Foundation
public import Sagas
import SagasTesting
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A synthetic workload for measuring the engine and its store: sagas of no-op handler steps, some of which fail at
/// a chosen step and compensate the steps before it. `saga bench` runs it; embedders can run it on their own store.
///
/// The workload is deterministic for a given seed: which sagas fail, and at which step, is drawn from a seeded
/// generator, and each saga's input says where it fails (`{"failAt": "step-3"}`), so a resumed saga fails at the
/// same step as the original would have.
public enum SagaBenchmark {
    /// What a run measures.
    public enum Mode: String, Sendable, CaseIterable {
        /// `concurrency` sagas at once, each driven start to finish by `SagaEngine.execute`.
        case throughput
        /// One saga at a time: the cost of one saga, and of one step, without group commit's help.
        case latency
        /// Sagas journaled in flight by a process that was killed, resumed by a fresh worker.
        case recovery
    }

    /// The shape of the workload.
    public struct Workload: Sendable, Hashable {
        /// Sagas to run.
        public var sagas: Int
        /// Steps per saga, at least 1.
        public var steps: Int
        /// Sagas in flight at once (throughput mode), or the worker's concurrency (recovery mode).
        public var concurrency: Int
        /// The fraction of sagas that fail (0...1).
        public var failRate: Double
        /// The step (1-based) failing sagas fail at; `nil`: a step drawn at random for each.
        public var failStep: Int?
        /// Seeds the generator that picks failing sagas.
        public var seed: UInt64
        /// Every step uses one named limit of this concurrency (`saga bench --limit N`); `nil`: no limit.
        public var limitConcurrency: Int? = nil
        /// Every saga takes an exclusive key of its own (`saga bench --exclusive`).
        public var exclusiveKeys = false
        /// Sagas started per second (`saga bench --rate N`, throughput mode): saga number `i` starts no earlier than
        /// `i / rate` seconds after the run began, so the load is steady instead of a burst; `nil`: flat out.
        public var startsPerSecond: Double? = nil

        /// A workload; every parameter has its default.
        public init(
            sagas: Int = 1000,
            steps: Int = 4,
            concurrency: Int = 64,
            failRate: Double = 0,
            failStep: Int? = nil,
            seed: UInt64 = 1
        ) {
            self.sagas = sagas
            self.steps = steps
            self.concurrency = concurrency
            self.failRate = failRate
            self.failStep = failStep
            self.seed = seed
        }

        /// Checks the values; returns a message for the first one out of range.
        public func problem() -> String? {
            if sagas < 1 { return "--sagas must be at least 1" }
            if steps < 1 || steps > 100 { return "--steps must be 1 to 100" }
            if concurrency < 1 || concurrency > 100_000 { return "--concurrency must be 1 to 100000" }
            if !(0...1).contains(failRate) { return "--fail-rate must be between 0 and 1" }
            if let failStep, failStep < 1 || failStep > steps { return "--fail-step must be 1 to --steps" }
            if let startsPerSecond, !(startsPerSecond > 0 && startsPerSecond <= 1_000_000) {
                return "--rate must be more than 0 and at most 1000000 sagas per second"
            }
            return nil
        }

        /// The input of saga number `index` (0-based): where it fails, if it does.
        public func inputs() -> [JSONValue] {
            var rng = SplitMix64(seed: seed)
            return (0..<sagas).map { (index: Int) -> JSONValue in
                let fails = failRate > 0 && Double(rng.next() >> 11) / Double(1 << 53) < failRate
                let step = failStep ?? (Int(rng.next() % UInt64(steps)) + 1)
                var fields: [String: JSONValue] = [:]
                if fails { fields["failAt"] = .string(SagaBenchmark.stepName(step)) }
                if exclusiveKeys { fields["n"] = .integer(index) }
                return .object(fields)
            }
        }
    }

    /// Counters a store keeps about its journal (`SQLiteSagaStore.journalStatistics()`).
    public struct JournalCounters: Sendable, Hashable {
        public var commits: Int
        public var writes: Int
        public var eventRows: Int
        /// Seconds the store's one writer spent in write transactions (flushes included).
        public var transactionSeconds: Double

        public init(commits: Int, writes: Int, eventRows: Int, transactionSeconds: Double = 0) {
            self.commits = commits
            self.writes = writes
            self.eventRows = eventRows
            self.transactionSeconds = transactionSeconds
        }

        static func - (a: JournalCounters, b: JournalCounters) -> JournalCounters {
            JournalCounters(
                commits: a.commits - b.commits,
                writes: a.writes - b.writes,
                eventRows: a.eventRows - b.eventRows,
                transactionSeconds: a.transactionSeconds - b.transactionSeconds
            )
        }
    }

    /// Percentiles of a set of durations, in milliseconds.
    public struct Percentiles: Sendable, Hashable {
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var max: Double

        /// Nearest-rank percentiles of `samples` (seconds); zeros when empty.
        public init(seconds samples: [Double]) {
            let sorted = samples.sorted()
            func rank(_ p: Double) -> Double {
                guard !sorted.isEmpty else { return 0 }
                let i = Swift.min(sorted.count - 1, Swift.max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
                return sorted[i] * 1000
            }
            p50 = rank(0.50)
            p95 = rank(0.95)
            p99 = rank(0.99)
            max = (sorted.last ?? 0) * 1000
        }

        public var json: JSONValue {
            ["p50": .number(p50), "p95": .number(p95), "p99": .number(p99), "max": .number(max)]
        }
    }

    /// What a run measured.
    public struct Report: Sendable {
        public var mode: Mode
        public var workload: Workload
        /// From the first saga's start to the last one's end (recovery: from the new worker's start).
        public var elapsedSeconds: Double
        public var completed: Int
        public var compensated: Int
        /// Sagas that ended neither completed nor compensated (they need intervention, or failed).
        public var other: Int
        /// Actions run (each handler call of an action, failed ones included).
        public var actionsRun: Int
        /// Compensations run.
        public var compensationsRun: Int
        /// Probes run (recovery mode: one per interrupted step).
        public var probesRun: Int
        /// Each saga's latency, start to terminal (not in recovery mode).
        public var latencies: [Double]
        /// Each saga's latency divided by the attempts it ran (latency mode).
        public var perStepLatencies: [Double]
        /// The store's counters over the run, when it keeps them.
        public var journal: JournalCounters?
        /// The database's size (main file and WAL) after the run, when known.
        public var databaseBytes: Int?
        /// The process's peak resident memory (`ru_maxrss`).
        public var peakMemoryBytes: Int
        /// CPU time (user and system, every thread) the process spent during the run.
        public var cpuSeconds: Double = 0
        /// Anything else the caller wants in the report (the disk's flush time, settings).
        public var extra: [String: JSONValue] = [:]

        /// Steps run per second: actions and compensations.
        public var stepsPerSecond: Double { Double(actionsRun + compensationsRun) / max(elapsedSeconds, 1e-9) }
        public var sagasPerSecond: Double { Double(completed + compensated + other) / max(elapsedSeconds, 1e-9) }
        public var latency: Percentiles { Percentiles(seconds: latencies) }
        public var perStepLatency: Percentiles { Percentiles(seconds: perStepLatencies) }

        /// Every figure, one shape (``SagaBenchReportView``).
        public var view: SagaBenchReportView { SagaBenchReportView(self) }

        /// Every figure, for `--json`: the view, encoded so that numbers keep their form.
        public var json: JSONValue {
            // The view holds strings, numbers and JSON values only: the encoder has nothing to refuse.
            (try? JSONValueEncoder().encode(view)) ?? .null
        }
    }

    /// Counts handler calls while a benchmark runs; shared by the handlers and the reporter.
    public final class Counters: Sendable {
        let actions = Atomic<Int>(0)
        let compensations = Atomic<Int>(0)
        let probes = Atomic<Int>(0)
        let finished = Atomic<Int>(0)

        public init() {}

        /// Sagas that reached a final status so far (for a progress line).
        public var finishedSagas: Int { finished.load(ordering: .relaxed) }
        /// Actions started so far.
        public var actionsStarted: Int { actions.load(ordering: .relaxed) }
    }

    /// The workflow's name.
    public static let workflowName = "bench"

    /// The name of step `index` (1-based).
    public static func stepName(_ index: Int) -> String { "step-\(index)" }

    /// The benchmark's workflow: `steps` steps, each a `bench.step` handler with `bench.undo` as compensation and
    /// `bench.probe` as probe, one attempt each (a failure is final, so a failing saga compensates at once).
    public static func definition(steps: Int) throws(SagaError) -> SagaDefinition {
        let stepList = (1...max(1, steps)).map { i in
            """
            {"name": "\(stepName(i))", "action": {"handler": {"name": "bench.step"}},
             "compensation": {"handler": {"name": "bench.undo"}}, "probe": {"handler": {"name": "bench.probe"}}}
            """
        }
        let text = """
            {"name": "\(workflowName)", "version": 1,
             "description": "saga bench: no-op steps; input {\\"failAt\\": STEP} makes that step fail",
             "defaults": {"retry": {"maxAttempts": 1}, "compensationRetry": {"maxAttempts": 3, "initialInterval": "0ms"},
                          "timeout": "60s"},
             "steps": [\(stepList.joined(separator: ",\n"))]}
            """
        return try WorkflowLoader.definition(of: WorkflowLoader.load(string: text, file: "bench workflow"), path: "bench workflow")
    }

    /// Registers the benchmark's handlers on `engine`. With `hang`, actions never return (to leave sagas in flight
    /// for the recovery benchmark); `onActionStarted` is called as each one starts.
    public static func registerHandlers(
        on engine: SagaEngine,
        counters: Counters,
        hang: Bool = false,
        onActionStarted: (@Sendable (Int) -> Void)? = nil
    ) {
        engine.register(handler: "bench.step") { context in
            let n = counters.actions.add(1, ordering: .relaxed).newValue
            onActionStarted?(n)
            if hang {
                while true { try await Task.sleep(for: .seconds(3600)) }
            }
            if context.input["failAt"]?.stringValue == context.step {
                throw StepFailure("bench: \(context.step) fails on purpose", retryable: false)
            }
            return .null
        }
        engine.register(handler: "bench.undo") { _ in
            counters.compensations.add(1, ordering: .relaxed)
            return .null
        }
        engine.register(handler: "bench.probe") { _ in
            // The interrupted action is a no-op: say it happened, so the saga goes on from the next step.
            counters.probes.add(1, ordering: .relaxed)
            return true
        }
    }

    /// Runs the workload in `.throughput` or `.latency` mode on `engine` (whose store should be empty).
    ///
    /// - Parameters:
    ///   - statistics: reads the store's journal counters, when it keeps them.
    /// - Throws: storage errors from the engine.
    public static func run(
        _ mode: Mode,
        workload: Workload,
        engine: SagaEngine,
        counters: Counters = Counters(),
        statistics: (@Sendable () async throws -> JournalCounters)? = nil
    ) async throws -> Report {
        precondition(mode != .recovery, "recovery runs in two processes: see journalInFlight and recover")
        let definition = try definition(for: workload)
        registerHandlers(on: engine, counters: counters)
        let inputs = workload.inputs()
        let before = try await statistics?()
        let width = mode == .latency ? 1 : min(workload.concurrency, workload.sagas)
        let next = Cursor()
        let clock = ContinuousClock()
        let cpuBefore = cpuTime()
        let start = clock.now
        // One scope serves the engine's timers for every saga, as a worker's run() does for its drives.
        let outcomes = try await engine.withTimersServed {
            try await withThrowingTaskGroup(of: [(SagaStatus, Double)].self) { group in
                for _ in 0..<width {
                    group.addTask {
                        var mine: [(SagaStatus, Double)] = []
                        while true {
                            let i = next.value.add(1, ordering: .relaxed).oldValue
                            guard i < inputs.count else { break }
                            if let rate = workload.startsPerSecond {
                                // A steady load: saga i is due i / rate seconds after the start.
                                let due = start.advanced(by: .nanoseconds(Int64(Double(i) / rate * 1e9)))
                                if due > clock.now { try await clock.sleep(until: due) }
                            }
                            let t0 = clock.now
                            let record = try await engine.execute(definition, input: inputs[i])
                            let elapsed = clock.now - t0
                            counters.finished.add(1, ordering: .relaxed)
                            mine.append((record.status, SagaDuration.seconds(elapsed)))
                        }
                        return mine
                    }
                }
                var all: [(SagaStatus, Double)] = []
                for try await part in group { all += part }
                return all
            }
        }
        let elapsed = clock.now - start
        let cpu = cpuTime() - cpuBefore
        let after = try await statistics?()
        var report = Report(
            mode: mode,
            workload: workload,
            elapsedSeconds: seconds(elapsed),
            completed: outcomes.count { $0.0 == .completed },
            compensated: outcomes.count { $0.0 == .compensated },
            other: outcomes.count { $0.0 != .completed && $0.0 != .compensated },
            actionsRun: counters.actions.load(ordering: .relaxed),
            compensationsRun: counters.compensations.load(ordering: .relaxed),
            probesRun: counters.probes.load(ordering: .relaxed),
            latencies: outcomes.map(\.1),
            perStepLatencies: [],
            journal: after.flatMap { a in before.map { a - $0 } },
            databaseBytes: nil,
            peakMemoryBytes: peakMemoryBytes()
        )
        report.cpuSeconds = cpu
        if mode == .latency {
            // Attempts per saga follow from its input: K actions, or f actions and f-1 compensations.
            report.perStepLatencies = zip(outcomes, inputs).map { outcome, input in
                outcome.1 / Double(attempts(input: input, steps: workload.steps))
            }
        }
        return report
    }

    /// The handler calls saga `input` makes when it runs start to finish.
    static func attempts(input: JSONValue, steps: Int) -> Int {
        guard let failAt = input["failAt"]?.stringValue, let f = Int(failAt.dropFirst("step-".count)) else {
            return steps
        }
        return 2 * f - 1
    }

    /// Starts every saga of the workload on `engine` with handlers that never return, and calls `onAllStarted`
    /// once each saga has journaled its first step as started (the caller then kills the process). Returns only if
    /// the sagas end otherwise.
    public static func journalInFlight(
        workload: Workload,
        engine: SagaEngine,
        onAllStarted: @escaping @Sendable () -> Void
    ) async throws {
        let definition = try definition(for: workload)
        let counters = Counters()
        let total = workload.sagas
        // The handler runs after its `step.started` was journaled (journal first, then act).
        registerHandlers(on: engine, counters: counters, hang: true) { n in
            if n == total { onAllStarted() }
        }
        let inputs = workload.inputs()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for input in inputs {
                group.addTask { _ = try await engine.execute(definition, input: input) }
            }
            try await group.waitForAll()
        }
    }

    /// Resumes the sagas a killed process left in flight: runs `engine`'s worker until none is runnable, and
    /// reports how long that took.
    public static func recover(
        workload: Workload,
        engine: SagaEngine,
        counters: Counters = Counters(),
        statistics: (@Sendable () async throws -> JournalCounters)? = nil
    ) async throws -> Report {
        registerHandlers(on: engine, counters: counters)
        let before = try await statistics?()
        let clock = ContinuousClock()
        let cpuBefore = cpuTime()
        let start = clock.now
        try await engine.runUntilIdle()
        let elapsed = clock.now - start
        let cpu = cpuTime() - cpuBefore
        let after = try await statistics?()
        let counts = try await engine.store.countByStatus()
        let completed = counts[.completed] ?? 0
        let compensated = counts[.compensated] ?? 0
        let total = counts.values.reduce(0, +)
        var report = Report(
            mode: .recovery,
            workload: workload,
            elapsedSeconds: seconds(elapsed),
            completed: completed,
            compensated: compensated,
            other: total - completed - compensated,
            actionsRun: counters.actions.load(ordering: .relaxed),
            compensationsRun: counters.compensations.load(ordering: .relaxed),
            probesRun: counters.probes.load(ordering: .relaxed),
            latencies: [],
            perStepLatencies: [],
            journal: after.flatMap { a in before.map { a - $0 } },
            databaseBytes: nil,
            peakMemoryBytes: peakMemoryBytes()
        )
        report.cpuSeconds = cpu
        return report
    }

    /// The process's peak resident set size in bytes (`getrusage`'s `ru_maxrss`).
    public static func peakMemoryBytes() -> Int {
        guard let usage = resourceUsage() else { return 0 }
        #if canImport(Darwin)
        return Int(usage.ru_maxrss)  // bytes on Darwin
        #else
        return Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
        #endif
    }

    /// User and system CPU time of the whole process so far, in seconds (`getrusage`).
    public static func cpuTime() -> Double {
        guard let usage = resourceUsage() else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// `getrusage(RUSAGE_SELF)`, or `nil` when it fails.
    private static func resourceUsage() -> rusage? {
        var usage = rusage()
        #if os(Linux)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        return getrusage(who, &usage) == 0 ? usage : nil
    }

    static func seconds(_ d: Duration) -> Double {
        SagaDuration.seconds(d)
    }
}

/// The next saga to start, shared by the benchmark's tasks.
private final class Cursor: Sendable {
    let value = Atomic<Int>(0)
}
