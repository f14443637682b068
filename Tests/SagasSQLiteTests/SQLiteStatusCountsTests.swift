import Foundation
import GRDB
import Sagas
@testable import SagasSQLite
import SagasTesting
import Testing

/// The counts behind `saga stats` (finished sagas counted by triggers, the rest from the status index) agree with a
/// count of every row, whatever changed the statuses: the engine's writes, an operator's, `purge`, raw SQL.
@Suite struct SQLiteStatusCountsTests {
    /// Counts by status (unknown ones as `needs_intervention`) and by workflow, version and known status, read from
    /// every row.
    static func counted(_ path: String) async throws -> (byStatus: [SagaStatus: Int], byWorkflow: [String]) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try await queue.read { db in
            var byStatus: [SagaStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM sagas NOT INDEXED GROUP BY status") {
                byStatus[SagaStatus(rawValue: row[0]) ?? .needsIntervention, default: 0] += row[1] as Int
            }
            let byWorkflow = try Row.fetchAll(
                db, sql: "SELECT workflow, version, status, COUNT(*) FROM sagas NOT INDEXED GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            ).compactMap { row -> String? in
                SagaStatus(rawValue: row[2]) == nil ? nil : "\(row[0] as String)@\(row[1] as Int) \(row[2] as String) \(row[3] as Int)"
            }
            return (byStatus, byWorkflow)
        }
    }

    static func stored(_ store: SQLiteSagaStore) async throws -> (byStatus: [SagaStatus: Int], byWorkflow: [String]) {
        let stats = try await store.statistics(now: F.time(10_000_000))
        return (
            try await store.countByStatus(),
            stats.byWorkflow.map { "\($0.workflow)@\($0.version) \($0.status.rawValue) \($0.count)" }
        )
    }

    static func expectAgree(_ store: SQLiteSagaStore, _ path: String, _ when: String) async throws {
        let (status, workflow) = try await stored(store)
        let (expectedStatus, expectedWorkflow) = try await counted(path)
        #expect(status == expectedStatus, "\(when): by status")
        #expect(workflow == expectedWorkflow, "\(when): by workflow")
        let total = try await store.statistics(now: F.time(0)).byStatus.values.reduce(0, +)
        #expect(total == expectedStatus.values.reduce(0, +), "\(when): total")
    }

    @Test func theCountsFollowEveryChangeOfStatus() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("counts.db")
        let store = try SQLiteSagaStore(path: path)
        let workflows = [("order", 1), ("order", 2), ("travel", 1)]
        // 36 sagas: a third finished at creation (saga run's single write), the rest journaled pending.
        for i in 0..<36 {
            let (name, version) = workflows[i % 3]
            let record = F.record(id: "s-\(i)", workflow: name, version: version, createdAt: F.time(i))
            if i % 3 == 0 {
                let finished: SagaStatus = i % 2 == 0 ? .completed : .compensated
                _ = try await store.createLeased(
                    record, events: [F.started(record)], owner: "w", progress: SagaProgress(status: finished),
                    leaseUntil: F.time(60_000)
                )
            } else {
                try await F.create(record, in: store)
            }
        }
        try await Self.expectAgree(store, path, "after creation")
        // A worker runs some forward, finishes some, parks some for a person.
        for i in 0..<36 where i % 3 != 0 {
            let id = "s-\(i)"
            #expect(try await store.claim(sagaID: id, owner: "w", now: F.time(100), leaseUntil: F.time(60_000)) != nil)
            let next: SagaStatus = [.running, .completed, .compensated, .needsIntervention, .compensating][i % 5]
            try await store.append(
                F.stepEvents(from: 2, count: 1), sagaID: id, owner: "w", progress: SagaProgress(status: next),
                leaseUntil: F.time(60_000)
            )
        }
        try await Self.expectAgree(store, path, "after the worker's writes")
        // An operator settles the interventions: needs_intervention to completed or failed.
        for record in try await store.list(SagaQuery(statuses: [.needsIntervention], limit: 100)) {
            try await store.appendUnowned(
                [SagaEvent(seq: record.lastSeq + 1, at: F.time(200), type: .sagaCompleted)], sagaID: record.id,
                expectedLastSeq: record.lastSeq, progress: SagaProgress(status: record.id.hasSuffix("1") ? .failed : .completed),
                now: F.time(200)
            )
        }
        try await Self.expectAgree(store, path, "after the resolutions")
        // Retention deletes some finished sagas.
        let purged = try await store.purge(finishedBefore: F.time(150), limit: 5, dryRun: false)
        #expect(purged == 5)
        try await Self.expectAgree(store, path, "after a purge")
        // A repair by hand: a status changed, a saga deleted, a status this version does not know.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "UPDATE sagas SET status = 'failed' WHERE status = 'completed' AND id = (SELECT MIN(id) FROM sagas WHERE status = 'completed')")
            try db.execute(sql: "DELETE FROM sagas WHERE id = (SELECT MIN(id) FROM sagas WHERE status = 'compensated')")
            try db.execute(sql: "UPDATE sagas SET status = 'zzz-from-a-newer-version' WHERE id = (SELECT MIN(id) FROM sagas WHERE status = 'running')")
            try db.execute(sql: "UPDATE sagas SET status = 'aaa-damaged' WHERE id = (SELECT MIN(id) FROM sagas WHERE status = 'compensated')")
            // Between two known statuses ('completed' < 'd…' < 'failed'): found by a middle range.
            try db.execute(sql: "UPDATE sagas SET status = 'd-damaged' WHERE id = (SELECT MAX(id) FROM sagas WHERE status = 'completed')")
        }
        try queue.close()
        try await Self.expectAgree(store, path, "after repairs by hand")
        // The unknown statuses are listed with the interventions, found through the index ranges.
        let listed = try await store.list(SagaQuery(statuses: [.needsIntervention], limit: 100))
        #expect(listed.count == (try await Self.counted(path)).byStatus[.needsIntervention], "\(listed.map(\.id))")
        #expect(try await store.list(SagaQuery(limit: 1000)).count == (try await Self.counted(path)).byStatus.values.reduce(0, +))
    }

    /// A database from before the counts (schema 5) gets them when it is migrated, from its existing sagas.
    @Test func anOlderDatabaseIsCountedWhenMigrated() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("old.db")
        do {
            let store = try SQLiteSagaStore(path: path)
            for i in 0..<12 {
                let record = F.record(id: "s-\(i)", workflow: i % 2 == 0 ? "order" : "travel", createdAt: F.time(i))
                _ = try await store.createLeased(
                    record, events: [F.started(record)], owner: "w",
                    progress: SagaProgress(status: i % 3 == 0 ? .compensated : .completed), leaseUntil: F.time(60_000)
                )
            }
        }
        // Back to schema 5: the migration's table and triggers gone, as a database written by the previous version.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: """
                DROP TRIGGER sagas_finished_count_insert; DROP TRIGGER sagas_finished_count_update;
                DROP TRIGGER sagas_finished_count_delete; DROP TABLE saga_finished_counts;
                DELETE FROM grdb_migrations WHERE identifier = 'v9-finished-counts'; PRAGMA user_version = 5;
                ALTER TABLE sagas DROP COLUMN cancel_by; DELETE FROM grdb_migrations WHERE identifier = 'v11-cancel-by';
                """)
        }
        try queue.close()
        let store = try SQLiteSagaStore(path: path)
        #expect(try await store.connectionSettings().schemaVersion == SQLiteSchema.version)
        #expect(try await store.countByStatus() == [.completed: 8, .compensated: 4])
        try await Self.expectAgree(store, path, "after the migration")
    }
}
