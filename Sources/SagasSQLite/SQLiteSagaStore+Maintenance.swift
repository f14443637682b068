public import Foundation
import GRDB
public import Sagas

// `saga stats` and `saga purge`: counts from the indexes, and the deletion of finished sagas.
extension SQLiteSagaStore: SagaStorePurging {
    /// The finished statuses, spelled exactly as the condition of the partial index `sagas_finished`.
    static let finished = "(status = 'completed' OR status = 'compensated' OR status = 'failed')"

    /// Counts by status and by workflow (finished sagas from `saga_finished_counts`, the others from
    /// `sagas_status_created`: `SQLiteStatusCounts`), stuck sagas (`sagas_runnable`), the oldest intervention and
    /// recent finishes (`sagas_finished`). Nothing here reads every saga.
    public func statistics(now: Date) async throws -> SagaStatistics {
        let byStatus = try await countByStatus()
        let nowMs = SagaTime.milliseconds(now)
        return try await read { db in
            var stats = SagaStatistics(byStatus: byStatus)
            stats.byWorkflow = try SQLiteStatusCounts.byWorkflow(db)
            stats.stuck =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM sagas INDEXED BY sagas_runnable WHERE \(SQLiteRows.runnable) "
                        + "AND (owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= ?) AND updated_at < ?",
                    arguments: [nowMs, nowMs - Int64(SagaQuery.stuckAfter * 1000)]
                ) ?? 0
            if let oldest = try Int64.fetchOne(
                db,
                sql: "SELECT MIN(updated_at) FROM sagas WHERE status = 'needs_intervention'"
            ) {
                stats.oldestInterventionAt = SagaTime.date(milliseconds: oldest)
            }
            let finishedSince = "SELECT COUNT(*) FROM sagas INDEXED BY sagas_finished WHERE \(Self.finished) AND updated_at >= ?"
            stats.finishedLastMinute = try Int.fetchOne(db, sql: finishedSince, arguments: [nowMs - 60_000]) ?? 0
            stats.finishedLastHour = try Int.fetchOne(db, sql: finishedSince, arguments: [nowMs - 3_600_000]) ?? 0
            return stats
        }
    }

    /// Deletes (or counts) up to `limit` sagas that finished before `finishedBefore`, oldest first, with their
    /// events (`ON DELETE CASCADE`), in one transaction. Read from `sagas_finished`. Freed pages are reused by
    /// later writes, so a database whose purges keep pace with new sagas stops growing; pinned definitions are
    /// kept (one row per distinct definition).
    public func purge(finishedBefore: Date, limit: Int, dryRun: Bool) async throws -> Int {
        guard limit > 0 else { return 0 }
        let cutoff = SagaTime.milliseconds(finishedBefore)
        // The journal is the webhooks' outbox: a saga whose lifecycle events a subscription that is not disabled
        // has not queued yet, or that has pending deliveries, is kept until they are out.
        let select =
            "SELECT rowid FROM sagas INDEXED BY sagas_finished WHERE \(Self.finished) AND updated_at < ? "
            + "AND NOT EXISTS (SELECT 1 FROM event_feed f WHERE f.saga_id = sagas.id AND f.position > "
            + "(SELECT COALESCE(MIN(position), 9223372036854775807) FROM webhook_subscriptions WHERE state != 'disabled')) "
            + "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.saga_id = sagas.id AND d.state = 'pending') "
            + "ORDER BY updated_at LIMIT ?"
        if dryRun {
            return try await read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (\(select))", arguments: [cutoff, limit]) ?? 0
            }
        }
        return try await write { db in
            try db.execute(
                sql: "CREATE TEMP TABLE IF NOT EXISTS purged_sagas (id TEXT NOT NULL); DELETE FROM purged_sagas"
            )
            try db.execute(
                sql: "INSERT INTO purged_sagas SELECT id FROM sagas WHERE rowid IN (\(select))",
                arguments: [cutoff, limit]
            )
            try db.execute(sql: "DELETE FROM sagas WHERE id IN (SELECT id FROM purged_sagas)")
            let deleted = db.changesCount
            try db.execute(sql: "DELETE FROM event_feed WHERE saga_id IN (SELECT id FROM purged_sagas)")
            try db.execute(sql: "DELETE FROM purged_sagas")
            return deleted
        }
    }
}
