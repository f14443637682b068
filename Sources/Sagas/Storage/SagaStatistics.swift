public import Foundation

/// What `saga stats` reports: counts by status and workflow, sagas that nobody works on, sagas waiting for a
/// person, and recent throughput. Read from the store's indexes.
public struct SagaStatistics: Sendable, Hashable {
    /// How many sagas have each status (statuses with none are absent).
    public var byStatus: [SagaStatus: Int]
    /// How many sagas of each workflow have each status, sorted by workflow, version and status.
    public var byWorkflow: [WorkflowCount]
    /// Runnable sagas that no live worker holds and that made no progress for `SagaQuery.stuckAfter` seconds.
    public var stuck: Int
    /// When the longest-waiting saga in `needs_intervention` got there (its oldest open intervention), if any.
    public var oldestInterventionAt: Date?
    /// Sagas that finished (completed, compensated or failed) in the last minute and the last hour.
    public var finishedLastMinute: Int
    public var finishedLastHour: Int

    /// One workflow version's count of one status.
    public struct WorkflowCount: Sendable, Hashable {
        public var workflow: String
        public var version: Int
        public var status: SagaStatus
        public var count: Int

        public init(workflow: String, version: Int, status: SagaStatus, count: Int) {
            self.workflow = workflow
            self.version = version
            self.status = status
            self.count = count
        }
    }

    public init(
        byStatus: [SagaStatus: Int] = [:],
        byWorkflow: [WorkflowCount] = [],
        stuck: Int = 0,
        oldestInterventionAt: Date? = nil,
        finishedLastMinute: Int = 0,
        finishedLastHour: Int = 0
    ) {
        self.byStatus = byStatus
        self.byWorkflow = byWorkflow
        self.stuck = stuck
        self.oldestInterventionAt = oldestInterventionAt
        self.finishedLastMinute = finishedLastMinute
        self.finishedLastHour = finishedLastHour
    }

    /// All sagas.
    public var total: Int { byStatus.values.reduce(0, +) }

    /// Sagas in `needs_intervention` (open interventions, and parked sagas whose journal does not replay).
    public var needsIntervention: Int { byStatus[.needsIntervention] ?? 0 }
}

/// A store that can delete the journals of finished sagas (`saga purge`, `saga worker --retention`): an optional
/// capability.
public protocol SagaStorePurging: SagaStore {
    /// Deletes (or, with `dryRun`, counts) up to `limit` sagas that finished (`completed`, `compensated`, `failed`)
    /// before `finishedBefore`, with their journals, oldest first. Sagas waiting for a person
    /// (`needs_intervention`) and sagas still running are never deleted.
    ///
    /// - Returns: how many sagas were deleted (or would be).
    func purge(finishedBefore: Date, limit: Int, dryRun: Bool) async throws -> Int
}

extension SagaStore {
    /// Statistics computed from `countByStatus` and `list`: what a store without indexes of its own can offer.
    /// Stores override it with indexed queries.
    public func scannedStatistics(now: Date) async throws -> SagaStatistics {
        let all = try await list(SagaQuery(limit: Int.max))
        var stats = SagaStatistics()
        var byWorkflow: [String: SagaStatistics.WorkflowCount] = [:]
        for record in all {
            stats.byStatus[record.status, default: 0] += 1
            let id = "\(record.workflow)\u{0}\(record.version)\u{0}\(record.status.rawValue)"
            byWorkflow[id, default: .init(workflow: record.workflow, version: record.version, status: record.status, count: 0)]
                .count += 1
            if record.isStuck(now: now) { stats.stuck += 1 }
            if record.status == .needsIntervention {
                stats.oldestInterventionAt = min(stats.oldestInterventionAt ?? record.updatedAt, record.updatedAt)
            }
            if record.status.isTerminal {
                let age = now.timeIntervalSince(record.updatedAt)
                if age <= 60 { stats.finishedLastMinute += 1 }
                if age <= 3600 { stats.finishedLastHour += 1 }
            }
        }
        stats.byWorkflow = byWorkflow.values.sorted {
            ($0.workflow, $0.version, $0.status.rawValue) < ($1.workflow, $1.version, $1.status.rawValue)
        }
        return stats
    }
}
