public import Foundation
import GRDB
public import Sagas

// Named limits (issue 21): `saga_limit_slots`, `saga_limit_waiters`, `saga_limit_grants` (migration 7). Only sagas
// whose steps use a limit ever reach these tables.
extension SQLiteSagaStore: SagaStoreLimits {
    /// Whether the row aliased `x` (a slot or a waiter) belongs to a live lease: its owner holds the saga's lease.
    private static func live(_ alias: String) -> String {
        "EXISTS (SELECT 1 FROM sagas g WHERE g.id = \(alias).saga_id AND g.owner = \(alias).owner "
            + "AND g.lease_expires_at > :now)"
    }

    public func acquire(_ request: SagaLimitRequest, now: Date) async throws -> Bool {
        let now = SagaTime.milliseconds(now)
        let stale = now - Int64(SagaLimitRequest.waiterTimeout * 1000)
        return try await write { db in
            let base: [String: (any DatabaseValueConvertible)?] = [
                "name": request.name, "saga": request.sagaID, "holder": request.holder, "owner": request.owner,
                "now": now, "stale": stale,
            ]
            let args = StatementArguments(base)
            // Slots of leases that ended, and waiters that stopped asking, are gone.
            try db.execute(
                sql: "DELETE FROM saga_limit_slots AS x WHERE name = :name AND NOT \(Self.live("x"))", arguments: args)
            try db.execute(
                sql: "DELETE FROM saga_limit_waiters AS x WHERE name = :name AND (seen_at < :stale OR NOT \(Self.live("x")))",
                arguments: args)
            try db.execute(
                sql: """
                    INSERT INTO saga_limit_waiters (name, saga_id, holder, owner, requested_at, seen_at)
                    VALUES (:name, :saga, :holder, :owner, :now, :now)
                    ON CONFLICT (name, saga_id, holder) DO UPDATE SET seen_at = excluded.seen_at, owner = excluded.owner
                    """,
                arguments: args)
            // First come, first served.
            let first = try Row.fetchOne(
                db,
                sql: """
                    SELECT saga_id, holder FROM saga_limit_waiters WHERE name = :name
                    ORDER BY requested_at, saga_id, holder LIMIT 1
                    """,
                arguments: args)
            guard let first, first[0] as String == request.sagaID, first[1] as String == request.holder else {
                return false
            }
            if let concurrency = request.limit.concurrency {
                let inFlight = try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM saga_limit_slots WHERE name = :name", arguments: args) ?? 0
                if inFlight >= concurrency { return false }
            }
            if let rate = request.limit.rate {
                // A sliding window: at most `count` grants in any `period` (and its margin).
                let since = now - rate.windowMilliseconds
                try db.execute(
                    sql: "DELETE FROM saga_limit_grants WHERE name = ? AND granted_at <= ?",
                    arguments: [request.name, since])
                let recent = try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM saga_limit_grants WHERE name = ?", arguments: [request.name]) ?? 0
                if recent >= rate.count { return false }
                try db.execute(
                    sql: "INSERT INTO saga_limit_grants (name, granted_at) VALUES (?, ?)", arguments: [request.name, now])
            }
            try db.execute(
                sql: "DELETE FROM saga_limit_waiters WHERE name = :name AND saga_id = :saga AND holder = :holder",
                arguments: args)
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO saga_limit_slots (name, saga_id, holder, owner, acquired_at)
                    VALUES (:name, :saga, :holder, :owner, :now)
                    """,
                arguments: args)
            return true
        }
    }

    public func release(limit name: String, sagaID: String, holder: String) async throws {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM saga_limit_slots WHERE name = ? AND saga_id = ? AND holder = ?",
                arguments: [name, sagaID, holder])
            try db.execute(
                sql: "DELETE FROM saga_limit_waiters WHERE name = ? AND saga_id = ? AND holder = ?",
                arguments: [name, sagaID, holder])
        }
    }

    public func limitWaits(sagaID: String, now: Date) async throws -> [String] {
        let stale = SagaTime.milliseconds(now) - Int64(SagaLimitRequest.waiterTimeout * 1000)
        return try await read { db in
            try String.fetchAll(
                db,
                sql: "SELECT DISTINCT name FROM saga_limit_waiters WHERE saga_id = ? AND seen_at >= ? ORDER BY name",
                arguments: [sagaID, stale])
        }
    }

    public func limitUsage(now: Date) async throws -> [SagaLimitUsage] {
        let nowMillis = SagaTime.milliseconds(now)
        let stale = nowMillis - Int64(SagaLimitRequest.waiterTimeout * 1000)
        return try await read { db in
            let args: StatementArguments = ["now": nowMillis, "stale": stale]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT name, SUM(slot), SUM(1 - slot) FROM (
                        SELECT name, 1 AS slot FROM saga_limit_slots AS x WHERE \(Self.live("x"))
                        UNION ALL
                        SELECT name, 0 AS slot FROM saga_limit_waiters AS x WHERE seen_at >= :stale AND \(Self.live("x"))
                    ) GROUP BY name ORDER BY name
                    """,
                arguments: args)
            return rows.map { SagaLimitUsage(name: $0[0], inFlight: $0[1], waiting: $0[2]) }
        }
    }
}
