import Foundation
import GRDB
import Sagas
import SagasTesting
import Testing

@testable import SagasSQLite

@Suite(.timeLimit(.minutes(2)))
struct SQLiteSchemaTests {
    @Test func definitionDigestIsSHA256() {
        #expect(SQLiteDefinitionDigest.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SQLiteDefinitionDigest.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SQLiteDefinitionDigest.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
        // Longer than one block, and not a multiple of one.
        #expect(
            SQLiteDefinitionDigest.hex(String(repeating: "a", count: 1000))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        )
    }

    @Test func sagasThatPinTheSameDefinitionShareOneRow() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("saga.db")
        let store = try SQLiteSagaStore(path: path)
        for i in 0..<10 {
            try await F.create(F.record(id: "s-\(i)", createdAt: F.time(i)), in: store)
        }
        try await F.create(F.record(id: "other", workflow: "travel", createdAt: F.time(20)), in: store)
        let queue = try DatabaseQueue(path: path)
        let rows = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM saga_definitions") }
        #expect(rows == 2)
        try queue.close()
        #expect(try await store.saga(id: "s-3")?.definition == F.record(id: "x").definition)
        #expect(try await store.saga(id: "other")?.definition == F.record(id: "x", workflow: "travel").definition)
    }

    /// A database written by the first schema (the definition in every saga's row) is migrated when opened: every
    /// saga keeps its definition, journal, lease and place in the listing order.
    @Test func aVersion1DatabaseIsMigrated() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("v1.db")
        do {
            let queue = try DatabaseQueue(path: path)
            try await queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
            }
            try SQLiteSchema.migrator.migrate(queue, upTo: "v1-sagas")
            try await queue.write { db in
                for i in 0..<5 {
                    let record = F.record(id: "s-\(i)", workflow: i < 3 ? "order" : "travel", createdAt: F.time(100 - i))
                    try db.execute(
                        sql: """
                            INSERT INTO sagas (id, workflow, version, definition, base_directory, input, status, created_at,
                                updated_at, owner, lease_expires_at, last_seq)
                            VALUES (?, ?, 1, ?, '/workflows', ?, ?, ?, ?, ?, ?, 2)
                            """,
                        arguments: [
                            record.id, record.workflow, record.definition, record.input.jsonString,
                            i == 0 ? "running" : "completed", SagaTime.milliseconds(record.createdAt),
                            SagaTime.milliseconds(record.createdAt), i == 0 ? "w1" : nil,
                            i == 0 ? SagaTime.milliseconds(F.time(60_000)) : nil,
                        ]
                    )
                    for event in [F.started(record)] + F.stepEvents(from: 2, count: 1) {
                        try db.execute(
                            sql: "INSERT INTO saga_events (saga_id, seq, at, type, step, payload) VALUES (?, ?, ?, ?, ?, ?)",
                            arguments: [
                                record.id, event.seq, SagaTime.milliseconds(event.at), event.type.rawValue, event.step,
                                event.payload.jsonString,
                            ]
                        )
                    }
                }
            }
            #expect(try await queue.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") } == 1)
            try queue.close()
        }

        let store = try SQLiteSagaStore(path: path)
        #expect(try await store.connectionSettings().schemaVersion == SQLiteSchema.version)
        // v4: business keys and rerun links are new columns, empty for the migrated sagas, and indexed.
        let indexes = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
        }
        #expect(indexes.contains("sagas_key_created") && indexes.contains("sagas_finished"), "\(indexes)")
        // v3: the partial index of runnable sagas is spelled without `IN (…)`, and the queries that name it work.
        let indexSQL = try await store.pool.read { db in
            try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'sagas_runnable'")
        }
        #expect(indexSQL?.contains(" OR ") == true && indexSQL?.contains(" IN ") == false, "\(indexSQL ?? "none")")
        #expect(try await store.leasedSagas(limit: 10).map(\.id) == ["s-0"])
        for i in 0..<5 {
            let saga = try #require(try await store.saga(id: "s-\(i)"))
            let expected = F.record(id: "s-\(i)", workflow: i < 3 ? "order" : "travel", createdAt: F.time(100 - i))
            #expect(saga.definition == expected.definition)
            #expect(saga.input == expected.input)
            #expect(saga.status == (i == 0 ? .running : .completed))
            #expect(saga.owner == (i == 0 ? "w1" : nil))
            #expect(saga.lastSeq == 2)
            #expect(saga.key == nil && saga.rerunOf == nil)
            #expect(try await store.events(sagaID: "s-\(i)").map(\.seq) == [1, 2])
        }
        // Newest first, as before.
        #expect(try await store.list(SagaQuery()).map(\.id) == ["s-0", "s-1", "s-2", "s-3", "s-4"])
        // The journal goes on where it stopped.
        try await store.append(
            F.stepEvents(from: 3, count: 1), sagaID: "s-0", owner: "w1",
            progress: SagaProgress(status: .running), leaseUntil: F.time(60_000)
        )
        #expect(try await store.saga(id: "s-0")?.lastSeq == 3)
        let queue = try DatabaseQueue(path: path)
        let (definitions, violations) = try await queue.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM saga_definitions"),
                try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count
            )
        }
        #expect(definitions == 2)
        #expect(violations == 0)
        try queue.close()
    }

    /// Writes share a transaction; one refused (its lease is held by another worker) writes nothing, and the
    /// others in its transaction commit.
    @Test func aRefusedWriteLeavesTheOthersInItsTransaction() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteSagaStore(path: folder.path("saga.db"))
        let count = 100
        for i in 0..<count {
            try await F.create(F.record(id: "s-\(i)", createdAt: F.time(i)), in: store)
        }
        _ = try await store.claimNext(owner: "w1", now: F.time(0), leaseUntil: F.time(60_000), limit: count)
        let before = try await store.journalStatistics()
        let refused = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<count {
                group.addTask {
                    do {
                        try await store.append(
                            F.stepEvents(from: 2, count: 2), sagaID: "s-\(i)", owner: i % 3 == 0 ? "w2" : "w1",
                            progress: SagaProgress(status: .running), leaseUntil: F.time(60_000)
                        )
                        return false
                    } catch let error as SagaError where error.code == .leaseLost {
                        return true
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        let after = try await store.journalStatistics()
        #expect(refused == (0..<count).filter { $0 % 3 == 0 }.count)
        #expect(after.commits - before.commits < count)
        for i in 0..<count {
            let saga = try #require(try await store.saga(id: "s-\(i)"))
            #expect(saga.lastSeq == (i % 3 == 0 ? 1 : 3), "saga s-\(i)")
            #expect(try await store.events(sagaID: "s-\(i)").count == saga.lastSeq)
        }
    }
}

/// Migration v6-waits: waiting sagas are indexed on their own.
struct SQLiteWaitsMigrationTests {
    @Test func theWaitingIndexExists() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteSagaStore(path: folder.path("w.db"))
        #expect(try await store.connectionSettings().schemaVersion >= 6)
        let indexes = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        #expect(indexes.contains("sagas_waiting"))
    }
}
