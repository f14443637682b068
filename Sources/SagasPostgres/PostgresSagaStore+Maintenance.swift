public import Foundation
import PostgresNIO
import Synchronization
public import Sagas

// Listing with keyset paging, `saga stats`, `saga purge`, and the leased start.
extension PostgresSagaStore: SagaStorePurging, SagaStoreCreatingLeased {
    /// Sagas matching a query, newest first (by creation time, then creation order). `after` is a keyset cursor:
    /// the position (creation time, creation order) of the saga it names. Every filter is served by an index
    /// (`sagas_status_created`, `sagas_workflow_created`, `sagas_key_created`, `sagas_reruns`, `sagas_created`).
    ///
    /// - Throws: `.sagaNotFound` when `after` names no saga.
    public func list(_ query: SagaQuery) async throws -> [SagaRecord] {
        guard query.limit > 0 else { return [] }
        var s = PostgresStatement("SELECT \(schema.columns) FROM \(schema.sagas) WHERE true")
        if let after = query.after {
            var cursor = PostgresStatement("SELECT created_at, position FROM \(schema.sagas) WHERE id = ")
            cursor.append(cursor.bind(after))
            guard let row = try await rows(cursor).first else {
                throw SagaError(.sagaNotFound, "no saga \(after) to list after", sagaID: after)
            }
            let (createdAt, position) = try decoded { try row.decode((Int64, Int64).self) }
            s.append(" AND (created_at, position) < (\(s.bind(createdAt)), \(s.bind(position)))")
        }
        if !query.statuses.isEmpty {
            s.append(" AND status = ANY(\(s.bind(Set(query.statuses).map(\.rawValue)))::text[])")
        }
        if let workflow = query.workflow { s.append(" AND workflow = \(s.bind(workflow))") }
        if let version = query.version { s.append(" AND version = \(s.bind(Int64(version)))") }
        if let key = query.key { s.append(" AND business_key = \(s.bind(key))") }
        if let rerunOf = query.rerunOf { s.append(" AND rerun_of = \(s.bind(rerunOf))") }
        if let since = query.createdSince { s.append(" AND created_at >= \(s.bind(SagaTime.milliseconds(since)))") }
        if let until = query.createdUntil { s.append(" AND created_at < \(s.bind(SagaTime.milliseconds(until)))") }
        if let stuckAt = query.stuckAt {
            let now = SagaTime.milliseconds(stuckAt)
            let nowMark = s.bind(now)
            s.append(
                " AND \(PostgresSchema.runnable)"
                    + " AND (owner IS NULL OR \(schema.lapsed(nowMark)))"
                    + " AND updated_at < \(s.bind(now - Int64(SagaQuery.stuckAfter * 1000)))"
            )
        }
        s.append(" ORDER BY created_at DESC, position DESC LIMIT \(s.bind(Int64(min(query.limit, Int(Int32.max)))))")
        return try await records(s).map(\.record)
    }

    /// Counts by status and by workflow, stuck sagas, the oldest intervention and recent finishes, from the
    /// indexes (the count by workflow reads every row).
    public func statistics(now: Date) async throws -> SagaStatistics {
        var stats = SagaStatistics(byStatus: try await countByStatus())
        let byWorkflow = PostgresStatement(
            "SELECT workflow, version, status, count(*) FROM \(schema.sagas) GROUP BY workflow, version, status "
                + "ORDER BY workflow, version, status"
        )
        for row in try await rows(byWorkflow) {
            let (workflow, version, statusName, count) = try decoded {
                try row.decode((String, Int64, String, Int64).self)
            }
            guard let status = SagaStatus(rawValue: statusName) else { continue }
            stats.byWorkflow.append(
                .init(workflow: workflow, version: Int(version), status: status, count: Int(count))
            )
        }
        let nowMs = SagaTime.milliseconds(now)
        var figures = PostgresStatement()
        let nowMark = figures.bind(nowMs)
        let stuckBefore = figures.bind(nowMs - Int64(SagaQuery.stuckAfter * 1000))
        let minute = figures.bind(nowMs - 60_000)
        let hour = figures.bind(nowMs - 3_600_000)
        figures.append(
            """
            SELECT
                (SELECT count(*) FROM \(schema.sagas) WHERE \(PostgresSchema.runnable)
                    AND (owner IS NULL OR \(schema.lapsed(nowMark)))
                    AND updated_at < \(stuckBefore)),
                (SELECT min(updated_at) FROM \(schema.sagas) WHERE status = 'needs_intervention'),
                (SELECT count(*) FROM \(schema.sagas) WHERE \(PostgresSchema.finished) AND updated_at >= \(minute)),
                (SELECT count(*) FROM \(schema.sagas) WHERE \(PostgresSchema.finished) AND updated_at >= \(hour))
            """
        )
        if let row = try await rows(figures).first {
            let (stuck, oldest, lastMinute, lastHour) = try decoded {
                try row.decode((Int64, Int64?, Int64, Int64).self)
            }
            stats.stuck = Int(stuck)
            stats.oldestInterventionAt = oldest.map(SagaTime.date(milliseconds:))
            stats.finishedLastMinute = Int(lastMinute)
            stats.finishedLastHour = Int(lastHour)
        }
        return stats
    }

    /// Deletes (or counts) up to `limit` sagas that finished before `finishedBefore`, oldest first, with their
    /// events (`ON DELETE CASCADE`), in one statement read from `sagas_finished`.
    public func purge(finishedBefore: Date, limit: Int, dryRun: Bool) async throws -> Int {
        guard limit > 0 else { return 0 }
        var s = PostgresStatement()
        let cutoff = s.bind(SagaTime.milliseconds(finishedBefore))
        let limitMark = s.bind(Int64(min(limit, Int(Int32.max))))
        let select =
            "SELECT id FROM \(schema.sagas) WHERE \(PostgresSchema.finished) AND updated_at < \(cutoff) "
            + "AND \(webhookRetentionGuard("\(schema.sagas).id")) "
            + "ORDER BY updated_at LIMIT \(limitMark)"
        if dryRun {
            s.append("SELECT count(*) FROM (\(select)) AS finished")
        } else {
            s.append(
                "WITH deleted AS (DELETE FROM \(schema.sagas) WHERE id IN (\(select)) RETURNING 1) "
                    + "SELECT count(*) FROM deleted"
            )
        }
        return Int(try await rows(s).first.map { try $0.decode(Int64.self) } ?? 0)
    }

    /// Journals a new saga leased to `owner` with its first events and summary, in one statement (lease epoch 1);
    /// or returns the existing saga with that id, writing nothing.
    ///
    /// - Throws: `.sagaConflict` when the id exists with another workflow, version or input; `.corruptJournal`
    ///   when the events are not numbered from 1; storage errors.
    public func createLeased(
        _ saga: SagaRecord,
        events: [SagaEvent],
        owner: String,
        progress: SagaProgress,
        leaseUntil: Date
    ) async throws -> SagaCreation {
        for (offset, event) in events.enumerated() where event.seq != offset + 1 {
            throw SagaError(.corruptJournal, "saga \(saga.id): event \(event.seq) does not follow", sagaID: saga.id)
        }
        var record = saga
        record.status = progress.status
        record.currentStep = progress.currentStep ?? saga.currentStep
        record.lastError = progress.lastError ?? saga.lastError
        record.updatedAt = events.last?.at ?? saga.updatedAt
        let release = !progress.status.isRunnable
        record.owner = release ? nil : owner
        record.leaseExpiresAt = release ? nil : leaseUntil
        record.lastSeq = events.last?.seq ?? 0
        let creation = try await insertNew(record, events: events, epoch: release ? 0 : 1)
        if case .created = creation, !release {
            remember(saga.id, owner: owner, epoch: 1)
        }
        return creation
    }
}

extension PostgresSagaStore {
    /// Copies one saga, as another store keeps it, with its journal: every field as given, but no owner nor lease
    /// (the nodes of this database claim it afresh). What `saga migrate --to` uses; writes nothing when a saga with
    /// that id exists.
    ///
    /// - Returns: Whether the saga was inserted (`false`: one with that id was already there).
    /// - Throws: `.corruptJournal` when the events are not numbered from 1 to `record.lastSeq`; storage errors.
    public func importSaga(_ record: SagaRecord, events: [SagaEvent]) async throws -> Bool {
        guard Self.consecutive(events), events.first.map({ $0.seq == 1 }) ?? true,
            (events.last?.seq ?? 0) == record.lastSeq
        else {
            throw SagaError(
                .corruptJournal,
                "saga \(record.id): its events are not numbered 1 to \(record.lastSeq)",
                sagaID: record.id
            )
        }
        var copy = record
        copy.owner = nil
        copy.leaseExpiresAt = nil
        do {
            if case .created = try await insertNew(copy, events: events, epoch: 0) { return true }
            return false
        } catch let error as SagaError where error.code == .sagaConflict {
            return false
        }
    }
}
