public import CoreMetrics
public import Foundation
public import Logging
public import Sagas
public import ServiceLifecycle
import Synchronization

/// Sets the gauges that a journal's counts give, every `interval`: sagas by status, stuck sagas, open
/// interventions and the oldest one's age, and the sagas this worker holds. A swift-service-lifecycle `Service`.
///
/// | gauge | labels |
/// | --- | --- |
/// | `saga_sagas` | `status` |
/// | `saga_stuck_sagas` | |
/// | `saga_open_interventions` | |
/// | `saga_oldest_intervention_age_seconds` | (0 when none is open) |
/// | `saga_worker_sagas_held` | |
/// | `saga_limit_in_flight`, `saga_limit_waiting` | `limit` (named limits in use; `SagaMetricsSampler+Limits.swift`) |
///
/// A failed read is logged and tried again at the next interval; the gauges keep their last values.
///
/// Reading the counts costs a scan of the status index and one of the sagas table (the counts by workflow), so a
/// process that only serves a scrape should call ``sampleIfStale(maxAge:)`` from the scrape instead of running the
/// service: the journal is then read when someone looks, at most once per `maxAge`.
public final class SagaMetricsSampler: Service, Sendable {
    let engine: SagaEngine
    let interval: Duration
    let logger: Logger
    let factory: any MetricsFactory
    private let lastSample = Mutex<ContinuousClock.Instant?>(nil)

    public init(
        engine: SagaEngine,
        interval: Duration = .seconds(5),
        logger: Logger,
        factory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.engine = engine
        self.interval = interval
        self.logger = logger
        self.factory = factory
    }

    public func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            await sample()
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }

    /// Samples unless the last sample is younger than `maxAge`.
    public func sampleIfStale(maxAge: Duration = .seconds(1)) async {
        let now = ContinuousClock.now
        let stale = lastSample.withLock { last -> Bool in
            if let last, now - last < maxAge { return false }
            last = now
            return true
        }
        if stale { await sample() }
    }

    /// Reads the counts once and sets the gauges.
    public func sample() async {
        let now = Date()
        do {
            let stats = try await engine.store.statistics(now: now)
            for status in SagaStatus.allCases {
                Gauge(label: "saga_sagas", dimensions: [("status", status.rawValue)], factory: factory)
                    .record(stats.byStatus[status] ?? 0)
            }
            Gauge(label: "saga_stuck_sagas", factory: factory).record(stats.stuck)
            Gauge(label: "saga_open_interventions", factory: factory).record(stats.needsIntervention)
            let age: Double = stats.oldestInterventionAt.map { Swift.max(0, now.timeIntervalSince($0)) } ?? 0
            Gauge(label: "saga_oldest_intervention_age_seconds", factory: factory).record(age)
        } catch {
            logger.warning("cannot read the journal's counts for metrics: \(error)")
        }
        Gauge(label: "saga_worker_sagas_held", factory: factory).record(engine.sagasHeld)
        await sampleLimits(now: now)
    }
}

extension Task where Success == Never, Failure == Never {
    /// Whether the current task was cancelled or its service group is shutting down gracefully.
    static var isCancelledOrShuttingDown: Bool {
        Task.isCancelled || Task.isShuttingDownGracefully
    }
}
