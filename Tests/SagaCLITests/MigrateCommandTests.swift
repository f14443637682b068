import Foundation
import GRDB
import Sagas
import SagasTesting
import Testing

@testable import SagasSQLite

/// `saga migrate` on a database written by the first schema, through the real binary.
@Suite(.timeLimit(.minutes(2)))
struct MigrateCommandTests {
    /// A schema-1 database holding one finished saga, as Sagas 1 wrote it.
    private func writeVersion1Database(_ path: String) async throws {
        let queue = try DatabaseQueue(path: path)
        try await queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        try SQLiteSchema.migrator.migrate(queue, upTo: "v1-sagas")
        let record = SagaFixtures.record(id: "old-1")
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO sagas (id, workflow, version, definition, input, status, created_at, updated_at, last_seq)
                    VALUES (?, 'order', 1, ?, ?, 'completed', 1700000000000, 1700000000000, 1)
                    """,
                arguments: [record.id, record.definition, record.input.jsonString]
            )
            try db.execute(
                sql: "INSERT INTO saga_events (saga_id, seq, at, type, step, payload) VALUES (?, 1, 1700000000000, 'saga.started', NULL, ?)",
                arguments: [record.id, SagaFixtures.started(record).payload.jsonString]
            )
        }
        try queue.close()
    }

    @Test func migrateLetsReadOnlyCommandsReadAnOlderDatabase() async throws {
        let box = try CLISandbox()
        try await writeVersion1Database(box.database)

        let refused = try box.run(["list"])
        #expect(refused.status == 5, "\(refused)")
        #expect(refused.stderr.contains("schema version 1"), "\(refused)")
        #expect(refused.stderr.contains("saga migrate"), "\(refused)")

        let migrated = try box.run(["migrate", "--json"])
        #expect(migrated.status == 0, "\(migrated)")
        // The newest schema (6 is v6-waits; the number grows with each migration).
        let version = try migrated.json()["schemaVersion"]?.intValue ?? 0
        #expect(version >= 6, "\(migrated)")

        let listed = try box.run(["list", "--json"])
        #expect(listed.status == 0, "\(listed)")
        #expect(listed.stdout.contains("old-1"), "\(listed)")
        let shown = try box.show("old-1")
        #expect(shown["status"] == "completed")

        // Again: nothing to do.
        let again = try box.run(["migrate"])
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("schema version \(version)"), "\(again)")
    }

    @Test func migrateRefusesAMissingDatabase() throws {
        let box = try CLISandbox()
        let result = try box.run(["migrate"])
        #expect(result.status == 5, "\(result)")
        #expect(result.stderr.contains("does not exist"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: box.database))
    }
}
