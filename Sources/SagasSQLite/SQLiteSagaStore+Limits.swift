public import Foundation
import GRDB
public import Sagas

// Named limits (issue 21): `saga_limit_slots`, `saga_limit_waiters`, `saga_limit_grants` (migration 7). Only sagas
// whose steps use a limit ever reach these tables.
extension SQLiteSagaStore: SagaStoreLimits {
    /// Whether the row aliased `alias` (a slot or a waiter) belongs to a live lease: its owner holds the saga's
    /// lease. A saga that `createLeased` is about to create (its first attempt took a slot just before) has no row
    /// yet: such a row lives for `creationGrace` after `since` (its column of the time it was written).
    private static func live(_ alias: String, since: String) -> String {
        "(EXISTS (SELECT 1 FROM sagas g WHERE g.id = \(alias).saga_id AND g.owner = \(alias).owner "
            + "AND g.lease_expires_at > :now) OR (\(alias).\(since) > :grace "
            + "AND NOT EXISTS (SELECT 1 FROM sagas g WHERE g.id = \(alias).saga_id)))"
    }

    /// How long a slot lives without its saga's row (a saga being created leased), in milliseconds.
    static let creationGrace: Int64 = 5_000

    public func acquire(_ request: SagaLimitRequest, now requested: Date) async throws -> Bool {
        let requestedAt = SagaTime.milliseconds(requested)
        return try await write { db in try Self.acquire(request, requestedAt: requestedAt, db: db) }
    }

    /// `true`: the write that makes a saga terminal frees its slots (`freeLimitSlots`).
    public var freesSlotsAtEnd: Bool { true }

    /// Frees every slot of a saga that became terminal, in the transaction that makes it so: its last attempts'
    /// slots cost no write of their own. A scan of the slots table, which holds about one row per attempt in flight.
    static func freeLimitSlots(sagaID: String, db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM saga_limit_slots WHERE saga_id = ?").execute(arguments: [sagaID])
    }

    /// `true`: a worker's parked requests are asked together, in one transaction (`acquireWaiting`).
    public var parksLimitWaiters: Bool { true }

    /// Asks again for every request of a worker's parked sagas in one transaction of the write batcher.
    public func acquireWaiting(_ requests: [SagaLimitRequest], now requested: Date) async throws -> [SagaLimitRequest] {
        let requestedAt = SagaTime.milliseconds(requested)
        return try await write { db in
            try requests.filter { request in try Self.acquire(request, requestedAt: requestedAt, db: db) }
        }
    }

    /// `acquire` inside a write transaction.
    static func acquire(_ request: SagaLimitRequest, requestedAt: Int64, db: Database) throws -> Bool {
        do {
            // The time the transaction runs, not the time it was asked for (it may have waited behind other writes):
            // a grant stamped earlier than it happened would leave the rate's window early.
            let now = max(requestedAt, SagaTime.milliseconds(Date()))
            let stale = now - Int64(SagaLimitRequest.waiterTimeout * 1000)
            let base: [String: (any DatabaseValueConvertible)?] = [
                "name": request.name, "saga": request.sagaID, "holder": request.holder, "owner": request.owner,
                "now": now, "stale": stale, "grace": now - Self.creationGrace,
            ]
            let args = StatementArguments(base)
            let slotArgs: StatementArguments = ["name": request.name, "now": now, "grace": now - Self.creationGrace]
            func inFlight() throws -> Int {
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT COUNT(*) FROM saga_limit_slots WHERE name = ?"),
                    arguments: [request.name]) ?? 0
            }
            /// Whether a slot is free, after freeing those of ended leases when the limit looks full.
            func slotFree(_ concurrency: Int) throws -> Bool {
                if try inFlight() < concurrency { return true }
                try db.execute(
                    sql: "DELETE FROM saga_limit_slots AS x WHERE name = :name AND NOT \(Self.live("x", since: "acquired_at"))",
                    arguments: slotArgs)
                return try inFlight() < concurrency
            }
            /// Whether the rate allows one more start now (a sliding window of the period and its margin).
            func rateAllows(_ rate: SagaRate) throws -> Bool {
                try db.cachedStatement(sql: "DELETE FROM saga_limit_grants WHERE name = ? AND granted_at <= ?")
                    .execute(arguments: [request.name, now - rate.windowMilliseconds])
                let recent = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT COUNT(*) FROM saga_limit_grants WHERE name = ?"),
                    arguments: [request.name]) ?? 0
                return recent < rate.count
            }
            func grant() throws {
                if request.limit.rate != nil {
                    try db.cachedStatement(sql: "INSERT INTO saga_limit_grants (name, granted_at) VALUES (?, ?)")
                        .execute(arguments: [request.name, now])
                }
                try db.cachedStatement(
                    sql: """
                        INSERT OR REPLACE INTO saga_limit_slots (name, saga_id, holder, owner, acquired_at)
                        VALUES (?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [request.name, request.sagaID, request.holder, request.owner, now])
            }
            // Nobody waits (the usual case while a limit is not full): one look at the waiters, then the checks.
            let anyWaiter = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM saga_limit_waiters WHERE name = ?)"),
                arguments: [request.name]) ?? false
            if !anyWaiter {
                let free = try request.limit.concurrency.map(slotFree) ?? true
                if free, try request.limit.rate.map(rateAllows) ?? true {
                    try grant()
                    return true
                }
            }
            // Waiters that stopped asking, or whose lease ended, are gone; this request joins (or stays in) the queue.
            try db.execute(
                sql: """
                    DELETE FROM saga_limit_waiters AS x
                    WHERE name = :name AND (seen_at < :stale OR NOT \(Self.live("x", since: "requested_at")))
                    """,
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
            if let concurrency = request.limit.concurrency, try !slotFree(concurrency) { return false }
            if let rate = request.limit.rate, try !rateAllows(rate) { return false }
            try db.execute(
                sql: "DELETE FROM saga_limit_waiters WHERE name = :name AND saga_id = :saga AND holder = :holder",
                arguments: args)
            try grant()
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

    /// A read (no write transaction): a waiter that joins just after it waits behind one more hand-over.
    public func limitHasWaiters(_ name: String, now: Date) async throws -> Bool {
        let stale = SagaTime.milliseconds(now) - Int64(SagaLimitRequest.waiterTimeout * 1000)
        return try await read { db in
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: "SELECT EXISTS (SELECT 1 FROM saga_limit_waiters WHERE name = ? AND seen_at >= ?)"),
                arguments: [name, stale]) ?? false
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
            let args: StatementArguments = ["now": nowMillis, "stale": stale, "grace": nowMillis - Self.creationGrace]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT name, SUM(slot), SUM(1 - slot) FROM (
                        SELECT name, 1 AS slot FROM saga_limit_slots AS x WHERE \(Self.live("x", since: "acquired_at"))
                        UNION ALL
                        SELECT name, 0 AS slot FROM saga_limit_waiters AS x
                        WHERE seen_at >= :stale AND \(Self.live("x", since: "requested_at"))
                    ) GROUP BY name ORDER BY name
                    """,
                arguments: args)
            return rows.map { SagaLimitUsage(name: $0[0], inFlight: $0[1], waiting: $0[2]) }
        }
    }
}
