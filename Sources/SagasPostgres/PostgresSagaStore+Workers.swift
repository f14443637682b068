public import Foundation
import PostgresNIO
public import Sagas

extension PostgresSchema {
    /// Migration `0004-workers` (issue 15): workers' sightings in their node rows (`saga_nodes`), so that an idle
    /// node is listed. `seen_until` is when its next sighting is due; `stopped_at` marks a graceful stop.
    var workersMigration: Migration {
        Migration(
            name: "0004-workers",
            statements: [
                "ALTER TABLE \(nodes) ADD COLUMN seen_until BIGINT",
                "ALTER TABLE \(nodes) ADD COLUMN stopped_at BIGINT",
            ]
        )
    }
}

// Workers' sightings on PostgreSQL: the node rows that lease renewals already write (`saga_nodes`). A sighting
// never moves `alive_until`, which extends the node's leases: only a renewal does.
extension PostgresSagaStore: SagaStoreWorkers {
    public func recordWorkerSighting(_ sighting: SagaWorkerSighting) async throws {
        var s = PostgresStatement()
        let id = s.bind(sighting.id)
        let started = s.bind(SagaTime.milliseconds(sighting.startedAt))
        let seen = s.bind(SagaTime.milliseconds(sighting.seenAt))
        let until = s.bind(SagaTime.milliseconds(sighting.aliveUntil))
        let old = s.bind(SagaTime.milliseconds(sighting.seenAt) - Int64(SagaWorkerSighting.retention * 1000))
        s.append(
            """
            WITH forgotten AS (
                DELETE FROM \(schema.nodes) WHERE heartbeat_at < \(old) AND alive_until < \(old) RETURNING 1
            )
            INSERT INTO \(schema.nodes) AS n (id, started_at, heartbeat_at, alive_until, seen_until, stopped_at)
            VALUES (\(id), \(started), \(seen), \(seen), \(until), NULL)
            ON CONFLICT (id) DO UPDATE
            SET heartbeat_at = GREATEST(n.heartbeat_at, EXCLUDED.heartbeat_at), seen_until = EXCLUDED.seen_until,
                stopped_at = NULL
            """
        )
        _ = try await rows(s)
    }

    public func recordWorkerStopped(id: String, at: Date) async throws {
        var s = PostgresStatement()
        let at = s.bind(SagaTime.milliseconds(at))
        let idMark = s.bind(id)
        s.append("UPDATE \(schema.nodes) SET stopped_at = \(at), seen_until = \(at) WHERE id = \(idMark)")
        _ = try await rows(s)
    }

    public func workerSightings(seenSince: Date) async throws -> [SagaWorkerSighting] {
        var s = PostgresStatement()
        let since = s.bind(SagaTime.milliseconds(seenSince))
        s.append(
            "SELECT id, started_at, heartbeat_at, COALESCE(seen_until, alive_until), stopped_at FROM \(schema.nodes) "
                + "WHERE heartbeat_at >= \(since) ORDER BY started_at, id"
        )
        let found = try await rows(s)
        return try decoded {
            try found.map { row in
                let (id, started, seen, until, stopped) = try row.decode((String, Int64, Int64, Int64, Int64?).self)
                return SagaWorkerSighting(
                    id: id,
                    startedAt: SagaTime.date(milliseconds: started),
                    seenAt: SagaTime.date(milliseconds: seen),
                    aliveUntil: SagaTime.date(milliseconds: until),
                    stoppedAt: stopped.map(SagaTime.date(milliseconds:))
                )
            }
        }
    }
}
