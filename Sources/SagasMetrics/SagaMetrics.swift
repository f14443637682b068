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
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])

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
                time("saga_claim_wait_seconds", [("workflow", workflow)], seconds: notice.at.timeIntervalSince(since))
            }
            return
        case .takenOver:
            count("saga_lease_takeovers_total", [("workflow", workflow)])
            return
        case .created, .appended, .appendedUnowned:
            break
        }
        count("saga_journal_commits_total", [])
        time("saga_commit_duration_seconds", [], duration: notice.duration)
        for event in notice.events {
            record(event, notice: notice)
        }
    }

    private func record(_ event: SagaEvent, notice: SagaNotice) {
        let workflow = notice.workflow
        let step = event.step ?? ""
        switch event.type {
        case .sagaStarted:
            count("saga_started_total", [("workflow", workflow)])
        case .sagaCompleted:
            finished("completed", event, notice)
        case .sagaCompensated:
            finished("compensated", event, notice)
        case .sagaNeedsIntervention:
            finished("needs_intervention", event, notice)
            count("saga_interventions_opened_total", [("workflow", workflow)])
        case .sagaFailed:
            finished("failed", event, notice)
        case .sagaTerminated:
            finished("terminated", event, notice)
        case .interventionResolved:
            let action = Self.bounded(event.data?["action"]?.stringValue, ["retry", "skip", "abandon", "terminate"])
            count("saga_interventions_resolved_total", [("workflow", workflow), ("action", action)])
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
        let labels = [("workflow", notice.workflow), ("outcome", outcome)]
        count("saga_finished_total", labels)
        time("saga_duration_seconds", labels, seconds: event.at.timeIntervalSince(notice.createdAt))
    }

    private func attempt(_ step: String, _ phase: String, _ outcome: String, _ event: SagaEvent, _ notice: SagaNotice) {
        count(
            "saga_step_attempts_total",
            [("workflow", notice.workflow), ("step", step), ("phase", phase), ("outcome", outcome)]
        )
        if let ms = event.durationMs {
            time(
                "saga_attempt_duration_seconds",
                [("workflow", notice.workflow), ("step", step), ("phase", phase)],
                duration: .milliseconds(ms)
            )
        }
    }

    /// `value` when it is one of `allowed`, else `other`: a label never takes an unbounded value.
    static func bounded(_ value: String?, _ allowed: Set<String>) -> String {
        guard let value, allowed.contains(value) else { return "other" }
        return value
    }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        var key = label
        for (name, value) in dimensions {
            key += "\u{1}" + name + "\u{2}" + value
        }
        return key
    }

    private func count(_ label: String, _ dimensions: [(String, String)]) {
        let key = Self.key(label, dimensions)
        let factory = self.factory
        let counter = counters.withLock { cache in
            if let known = cache[key] { return known }
            let made = Counter(label: label, dimensions: dimensions, factory: factory)
            cache[key] = made
            return made
        }
        counter.increment()
    }

    private func time(_ label: String, _ dimensions: [(String, String)], seconds: TimeInterval) {
        let clamped: Double = Swift.max(0, Swift.min(seconds, 1e9))
        time(label, dimensions, duration: .nanoseconds(Int64(clamped * 1e9)))
    }

    private func time(_ label: String, _ dimensions: [(String, String)], duration: Duration) {
        let key = Self.key(label, dimensions)
        let factory = self.factory
        let timer = timers.withLock { cache in
            if let known = cache[key] { return known }
            let made = CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory)
            cache[key] = made
            return made
        }
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        timer.recordNanoseconds(nanoseconds.overflow ? Int64.max : nanoseconds.partialValue + attoseconds / 1_000_000_000)
    }
}
