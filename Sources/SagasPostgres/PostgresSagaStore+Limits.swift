public import Foundation
import PostgresNIO
public import Sagas

// Named limits (issue 21): `saga_limit_slots`, `saga_limit_waiters`, `saga_limit_grants` (migration 0007-limits),
// shared by every node on the database. An acquire is one round trip: `saga_limit_acquire` runs under the limit's
// advisory lock, so two nodes asking at once are served one after the other and never both take the last slot.
extension PostgresSagaStore: SagaStoreLimits {
    /// How long a slot lives without its saga's row (a saga being created leased), in milliseconds.
    static let creationGrace: Int64 = 5_000

    public func acquire(_ request: SagaLimitRequest, now: Date) async throws -> Bool {
        let nowMillis = SagaTime.milliseconds(now)
        var s = PostgresStatement()
        let arguments = [
            s.bind(request.name) + "::text", s.bind(request.sagaID) + "::text", s.bind(request.holder) + "::text",
            s.bind(request.owner) + "::text",
            s.bind(request.limit.concurrency.map { Int64($0) }) + "::integer",
            s.bind(request.limit.rate.map { Int64($0.count) }) + "::integer",
            s.bind(request.limit.rate.map(\.windowMilliseconds)) + "::bigint",
            s.bind(nowMillis) + "::bigint",
            s.bind(nowMillis - Int64(SagaLimitRequest.waiterTimeout * 1000)) + "::bigint",
            s.bind(Self.creationGrace) + "::bigint",
        ]
        s.append("SELECT \(schema.schema).saga_limit_acquire(\(arguments.joined(separator: ", ")))")
        guard let row = try await rows(s).first else { return false }
        return try decoded { try row.decode(Bool.self) }
    }

    public func release(limit name: String, sagaID: String, holder: String) async throws {
        var s = PostgresStatement()
        let nameMark = s.bind(name)
        let id = s.bind(sagaID)
        let holderMark = s.bind(holder)
        let match = "name = \(nameMark) AND saga_id = \(id) AND holder = \(holderMark)"
        s.append(
            """
            WITH slot AS (DELETE FROM \(schema.limitSlots) WHERE \(match) RETURNING 1),
                waiter AS (DELETE FROM \(schema.limitWaiters) WHERE \(match) RETURNING 1)
            SELECT (SELECT count(*) FROM slot) + (SELECT count(*) FROM waiter)
            """
        )
        _ = try await rows(s)
    }

    /// A read, no commit: a waiter that joins just after it waits behind one more hand-over.
    public func limitHasWaiters(_ name: String, now: Date) async throws -> Bool {
        var s = PostgresStatement()
        let nameMark = s.bind(name)
        let stale = s.bind(SagaTime.milliseconds(now) - Int64(SagaLimitRequest.waiterTimeout * 1000))
        s.append("SELECT EXISTS (SELECT 1 FROM \(schema.limitWaiters) WHERE name = \(nameMark) AND seen_at >= \(stale))")
        guard let row = try await rows(s).first else { return true }
        return try decoded { try row.decode(Bool.self) }
    }

    public func limitWaits(sagaID: String, now: Date) async throws -> [String] {
        var s = PostgresStatement()
        let id = s.bind(sagaID)
        let stale = s.bind(SagaTime.milliseconds(now) - Int64(SagaLimitRequest.waiterTimeout * 1000))
        s.append(
            "SELECT DISTINCT name FROM \(schema.limitWaiters) WHERE saga_id = \(id) AND seen_at >= \(stale) ORDER BY name"
        )
        return try await rows(s).map { row in try decoded { try row.decode(String.self) } }
    }

    public func limitUsage(now: Date) async throws -> [SagaLimitUsage] {
        var s = PostgresStatement()
        let nowMillis = SagaTime.milliseconds(now)
        let nowMark = s.bind(nowMillis) + "::bigint"
        let stale = s.bind(nowMillis - Int64(SagaLimitRequest.waiterTimeout * 1000))
        let grace = s.bind(Self.creationGrace) + "::bigint"
        let live = "\(schema.schema).saga_limit_live"
        s.append(
            """
            SELECT name, sum(slot)::bigint, sum(1 - slot)::bigint FROM (
                SELECT name, 1 AS slot FROM \(schema.limitSlots) AS x
                WHERE \(live)(x.saga_id, x.owner, x.acquired_at, \(nowMark), \(grace))
                UNION ALL
                SELECT name, 0 AS slot FROM \(schema.limitWaiters) AS x
                WHERE x.seen_at >= \(stale) AND \(live)(x.saga_id, x.owner, x.requested_at, \(nowMark), \(grace))
            ) AS used GROUP BY name ORDER BY name
            """
        )
        return try await rows(s).map { row in
            let (name, inFlight, waiting) = try decoded { try row.decode((String, Int64, Int64).self) }
            return SagaLimitUsage(name: name, inFlight: Int(inFlight), waiting: Int(waiting))
        }
    }
}
