public import Foundation
import GRDB
public import Sagas

// Workers' sightings (issue 15), in the `workers` table of migration v8-workers: a few writes per worker per
// lease duration, whatever the number of sagas.
extension SQLiteSagaStore: SagaStoreWorkers {
    public func recordWorkerSighting(_ sighting: SagaWorkerSighting) async throws {
        let seen = SagaTime.milliseconds(sighting.seenAt)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO workers (id, started_at, seen_at, alive_until, stopped_at) VALUES (?, ?, ?, ?, NULL)
                    ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, alive_until = excluded.alive_until,
                        stopped_at = NULL
                    """,
                arguments: [sighting.id, SagaTime.milliseconds(sighting.startedAt), seen, SagaTime.milliseconds(sighting.aliveUntil)]
            )
            // Old rows go: a table of a few rows per worker started in the last day.
            try db.execute(
                sql: "DELETE FROM workers WHERE seen_at < ?",
                arguments: [seen - Int64(SagaWorkerSighting.retention * 1000)]
            )
        }
    }

    public func recordWorkerStopped(id: String, at: Date) async throws {
        let ms = SagaTime.milliseconds(at)
        try await write { db in
            try db.execute(
                sql: "UPDATE workers SET stopped_at = ?, seen_at = ?, alive_until = ? WHERE id = ?",
                arguments: [ms, ms, ms, id]
            )
        }
    }

    public func workerSightings(seenSince: Date) async throws -> [SagaWorkerSighting] {
        try await read { db in
            // A database opened read-only before its v8 migration has no sightings.
            guard try db.tableExists("workers") else { return [] }
            return try Row.fetchAll(
                db,
                sql: "SELECT id, started_at, seen_at, alive_until, stopped_at FROM workers WHERE seen_at >= ? "
                    + "ORDER BY started_at, id",
                arguments: [SagaTime.milliseconds(seenSince)]
            ).map { row in
                SagaWorkerSighting(
                    id: row[0],
                    startedAt: SagaTime.date(milliseconds: row[1]),
                    seenAt: SagaTime.date(milliseconds: row[2]),
                    aliveUntil: SagaTime.date(milliseconds: row[3]),
                    stoppedAt: (row[4] as Int64?).map { SagaTime.date(milliseconds: $0) }
                )
            }
        }
    }
}
