public import CoreMetrics
public import Foundation
import Logging
public import Sagas

extension SagaMetricsSampler {
    /// The gauges of named limits (issue 21), on a store that keeps them: `saga_limit_in_flight` and
    /// `saga_limit_waiting`, labelled `limit` (the names workflows declare, so the label values are bounded).
    /// One read of the limit tables, which only limited steps write.
    func sampleLimits(now: Date) async {
        guard let store = engine.store as? any SagaStoreLimits else { return }
        do {
            for usage in try await store.limitUsage(now: now) {
                Gauge(label: "saga_limit_in_flight", dimensions: [("limit", usage.name)], factory: factory)
                    .record(usage.inFlight)
                Gauge(label: "saga_limit_waiting", dimensions: [("limit", usage.name)], factory: factory)
                    .record(usage.waiting)
            }
        } catch {
            logger.warning("cannot read the named limits for metrics: \(error)")
        }
    }
}
