public import Foundation

/// What `saga stats --json` prints and `GET /v1/stats` returns: every status appears (0 when no saga has it), the
/// counts by workflow, stuck sagas, the intervention queue and recent throughput. One shape.
public struct SagaStatisticsView: Codable, Sendable, Hashable {
    public struct WorkflowCount: Codable, Sendable, Hashable {
        public var workflow: String
        public var version: Int
        public var status: SagaStatus
        public var count: Int
    }

    public struct Interventions: Codable, Sendable, Hashable {
        /// Sagas in `needs_intervention`.
        public var waiting: Int
        /// When the longest-waiting one got there, and how long ago that was; `null` when none waits.
        public var oldestSince: Date?
        public var oldestAgeSeconds: Int?

        enum CodingKeys: String, CodingKey { case waiting, oldestSince, oldestAgeSeconds }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(waiting, forKey: .waiting)
            try c.encode(oldestSince.map(SagaTime.format), forKey: .oldestSince)
            try c.encode(oldestAgeSeconds, forKey: .oldestAgeSeconds)
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            waiting = try c.decode(Int.self, forKey: .waiting)
            oldestSince = try SagaTime.decodeIfPresent(c, .oldestSince)
            oldestAgeSeconds = try c.decodeIfPresent(Int.self, forKey: .oldestAgeSeconds)
        }

        init(waiting: Int, oldestSince: Date?, now: Date) {
            self.waiting = waiting
            self.oldestSince = oldestSince
            oldestAgeSeconds = oldestSince.map { Int(max(0, min(now.timeIntervalSince($0), 1e15))) }
        }
    }

    public struct Finished: Codable, Sendable, Hashable {
        public var lastMinute: Int
        public var lastHour: Int
    }

    public var total: Int
    /// Every status, by its name (`needs_intervention`), with 0 for none.
    public var byStatus: [String: Int]
    public var byWorkflow: [WorkflowCount]
    public var stuck: Int
    public var interventions: Interventions
    public var finished: Finished

    /// The view of `statistics` at `now`.
    public init(_ statistics: SagaStatistics, now: Date) {
        total = statistics.total
        var statuses: [String: Int] = [:]
        for status in SagaStatus.allCases { statuses[status.rawValue] = statistics.byStatus[status] ?? 0 }
        byStatus = statuses
        byWorkflow = statistics.byWorkflow.map {
            WorkflowCount(workflow: $0.workflow, version: $0.version, status: $0.status, count: $0.count)
        }
        stuck = statistics.stuck
        interventions = Interventions(
            waiting: statistics.needsIntervention, oldestSince: statistics.oldestInterventionAt, now: now
        )
        finished = Finished(lastMinute: statistics.finishedLastMinute, lastHour: statistics.finishedLastHour)
    }
}

extension SagaStatistics {
    /// The object `saga stats --json` prints and `GET /v1/stats` returns: ``SagaStatisticsView``.
    public func json(now: Date) -> JSONValue {
        (try? JSONValueEncoder().encode(SagaStatisticsView(self, now: now))) ?? .null
    }
}
