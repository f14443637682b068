public import CoreMetrics
public import Foundation
public import Sagas
import Synchronization

/// Counts and times what an engine journals, through swift-metrics: attach it with `engine.add(observer:)`.
///
/// Every label value is bounded: a workflow name, a step name, a phase, an outcome or an action; never a saga id or
/// an input. The names follow Prometheus' style and are listed in `Docs/operations.md`:
///
/// | metric | kind | labels |
/// | --- | --- | --- |
/// | `saga_started_total` | counter | `workflow` |
/// | `saga_finished_total` | counter | `workflow`, `outcome` (`completed`, `compensated`, `needs_intervention`, `failed`, `terminated`) |
/// | `saga_step_attempts_total` | counter | `workflow`, `step`, `phase` (`action`, `compensation`, `probe`), `outcome` (`succeeded`, `failed`, `unknown`, `interrupted`) |
/// | `saga_lease_takeovers_total` | counter | `workflow` |
/// | `saga_interventions_opened_total` | counter | `workflow` |
/// | `saga_interventions_resolved_total` | counter | `workflow`, `action` (`retry`, `skip`, `abandon`, `terminate`) |
/// | `saga_journal_commits_total` | counter | |
/// | `saga_duration_seconds` | timer | `workflow`, `outcome` |
/// | `saga_attempt_duration_seconds` | timer | `workflow`, `step`, `phase` |
/// | `saga_claim_wait_seconds` | timer | `workflow` |
/// | `saga_commit_duration_seconds` | timer | |
///
/// Gauges (sagas by status, open interventions, the oldest one's age, sagas held) come from ``SagaMetricsSampler``.
/// The observer never waits: each notice costs a few dictionary lookups and atomic adds.
public final class SagaMetrics: SagaObserver, Sendable {
    private let factory: any MetricsFactory
    private let counters = Mutex<[SeriesKey: Counter]>([:])
    private let timers = Mutex<[SeriesKey: CoreMetrics.Timer]>([:])

    /// Metrics created through `factory` (default: the process's bootstrapped `MetricsSystem`).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// The bucket boundaries a Prometheus backend should use for each timer: durations of sagas up to a day,
    /// attempts up to an hour, claims and commits up to a minute.
    public static let histogramBuckets: [String: [Duration]] = [
        "saga_duration_seconds": [
            .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(60),
            .seconds(300), .seconds(900), .seconds(3600), .seconds(4 * 3600), .seconds(86_400),
        ],
        "saga_attempt_duration_seconds": [
            .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
            .seconds(15), .seconds(60), .seconds(300), .seconds(3600),
        ],
        "saga_claim_wait_seconds": [
            .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1),
            .seconds(5), .seconds(15), .seconds(60),
        ],
        "saga_commit_duration_seconds": [
            .microseconds(250), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
        ],
    ]

    public func observe(_ notice: SagaNotice) {
        let workflow = notice.workflow
        switch notice.kind {
        case .claimed:
            if let since = notice.runnableSince {
                time(SeriesKey(.claimWait, workflow: workflow), seconds: notice.at.timeIntervalSince(since))
            }
            return
        case .takenOver:
            count(SeriesKey(.leaseTakeovers, workflow: workflow))
            return
        case .created, .appended, .appendedUnowned:
            break
        }
        count(SeriesKey(.journalCommits))
        time(SeriesKey(.commitDuration), duration: notice.duration)
        for event in notice.events {
            record(event, notice: notice)
        }
    }

    private func record(_ event: SagaEvent, notice: SagaNotice) {
        let workflow = notice.workflow
        let step = event.step ?? ""
        switch event.type {
        case .sagaStarted:
            count(SeriesKey(.started, workflow: workflow))
        case .sagaCompleted:
            finished("completed", event, notice)
        case .sagaCompensated:
            finished("compensated", event, notice)
        case .sagaNeedsIntervention:
            finished("needs_intervention", event, notice)
            count(SeriesKey(.interventionsOpened, workflow: workflow))
        case .sagaFailed:
            finished("failed", event, notice)
        case .sagaTerminated:
            finished("terminated", event, notice)
        case .interventionResolved:
            let action = Self.bounded(event.data?["action"]?.stringValue, ["retry", "skip", "abandon", "terminate"])
            count(SeriesKey(.interventionsResolved, workflow: workflow, outcome: action))
        case .stepSucceeded:
            attempt(step, "action", "succeeded", event, notice)
        case .stepFailed:
            attempt(step, "action", "failed", event, notice)
        case .stepUnknown:
            attempt(step, "action", event.isInterruption ? "interrupted" : "unknown", event, notice)
        case .compensationSucceeded:
            attempt(step, "compensation", "succeeded", event, notice)
        case .compensationFailed:
            attempt(step, "compensation", "failed", event, notice)
        case .compensationUnknown:
            attempt(step, "compensation", event.isInterruption ? "interrupted" : "unknown", event, notice)
        case .probeHappened, .probeNotHappened:
            attempt(step, "probe", "succeeded", event, notice)
        case .probeFailed:
            attempt(step, "probe", event.isInterruption ? "interrupted" : "failed", event, notice)
        default:
            break
        }
    }

    private func finished(_ outcome: String, _ event: SagaEvent, _ notice: SagaNotice) {
        count(SeriesKey(.finished, workflow: notice.workflow, outcome: outcome))
        time(SeriesKey(.sagaDuration, workflow: notice.workflow, outcome: outcome), seconds: event.at.timeIntervalSince(notice.createdAt))
    }

    private func attempt(_ step: String, _ phase: String, _ outcome: String, _ event: SagaEvent, _ notice: SagaNotice) {
        count(SeriesKey(.stepAttempts, workflow: notice.workflow, step: step, phase: phase, outcome: outcome))
        if let ms = event.durationMs {
            time(SeriesKey(.attemptDuration, workflow: notice.workflow, step: step, phase: phase), duration: .milliseconds(ms))
        }
    }

    /// `value` when it is one of `allowed`, else `other`: a label never takes an unbounded value.
    static func bounded(_ value: String?, _ allowed: Set<String>) -> String {
        guard let value, allowed.contains(value) else { return "other" }
        return value
    }

    /// Finds the series' counter (made on first use; the label and dimensions are built only then) and adds one.
    private func count(_ key: SeriesKey) {
        let factory = self.factory
        let counter = counters.withLock { cache in
            if let known = cache[key] { return known }
            let made = Counter(label: key.series.label, dimensions: key.dimensions, factory: factory)
            cache[key] = made
            return made
        }
        counter.increment()
    }

    private func time(_ key: SeriesKey, seconds: TimeInterval) {
        let clamped: Double = Swift.max(0, Swift.min(seconds, 1e9))
        recordNanoseconds(key, Int64(clamped * 1e9))
    }

    private func time(_ key: SeriesKey, duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        recordNanoseconds(key, nanoseconds.overflow ? Int64.max : nanoseconds.partialValue + attoseconds / 1_000_000_000)
    }

    private func recordNanoseconds(_ key: SeriesKey, _ nanoseconds: Int64) {
        let factory = self.factory
        let timer = timers.withLock { cache in
            if let known = cache[key] { return known }
            let made = CoreMetrics.Timer(label: key.series.label, dimensions: key.dimensions, factory: factory)
            cache[key] = made
            return made
        }
        timer.recordNanoseconds(nanoseconds)
    }
}

/// One metric series: the metric and its label values. Hashing it allocates nothing (the label values are the
/// notice's own strings or short literals), so a notice costs lookups, not a string key per update as before.
struct SeriesKey: Hashable, Sendable {
    enum Series: UInt8, Hashable, Sendable {
        case started, finished, stepAttempts, leaseTakeovers, interventionsOpened, interventionsResolved
        case journalCommits, sagaDuration, attemptDuration, claimWait, commitDuration

        var label: String {
            switch self {
            case .started: "saga_started_total"
            case .finished: "saga_finished_total"
            case .stepAttempts: "saga_step_attempts_total"
            case .leaseTakeovers: "saga_lease_takeovers_total"
            case .interventionsOpened: "saga_interventions_opened_total"
            case .interventionsResolved: "saga_interventions_resolved_total"
            case .journalCommits: "saga_journal_commits_total"
            case .sagaDuration: "saga_duration_seconds"
            case .attemptDuration: "saga_attempt_duration_seconds"
            case .claimWait: "saga_claim_wait_seconds"
            case .commitDuration: "saga_commit_duration_seconds"
            }
        }

        /// The name of the label that ``SeriesKey/outcome`` fills (`action` for resolutions).
        var outcomeLabel: String { self == .interventionsResolved ? "action" : "outcome" }
    }

    var series: Series
    var workflow: String?
    var step: String?
    var phase: String?
    var outcome: String?

    init(_ series: Series, workflow: String? = nil, step: String? = nil, phase: String? = nil, outcome: String? = nil) {
        self.series = series
        self.workflow = workflow
        self.step = step
        self.phase = phase
        self.outcome = outcome
    }

    /// The dimensions, in the documented order: `workflow`, `step`, `phase`, then `outcome` (or `action`).
    var dimensions: [(String, String)] {
        var result: [(String, String)] = []
        if let workflow { result.append(("workflow", workflow)) }
        if let step { result.append(("step", step)) }
        if let phase { result.append(("phase", phase)) }
        if let outcome { result.append((series.outcomeLabel, outcome)) }
        return result
    }
}
