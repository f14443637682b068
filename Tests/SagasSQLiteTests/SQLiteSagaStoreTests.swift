import Foundation
import GRDB
import Sagas
@testable import SagasSQLite
import SagasTesting
import Testing

@Suite(.timeLimit(.minutes(2)))
struct SQLiteSagaStoreTests {
    // MARK: Pragmas

    @Test func synchronousIsFullByDefaultInWALMode() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteSagaStore(path: folder.path("saga.db"))
        let settings = try await store.connectionSettings()
        #expect(settings.synchronous == 2)
        #expect(settings.journalMode == "wal")
        #expect(settings.foreignKeys)
        #expect(settings.schemaVersion == SQLiteSchema.version)
        #expect(store.path == folder.path("saga.db"))
    }

    /// A status named twice in a query (`saga list --status failed --status failed`, `GET /v1/sagas?status=…`).
    @Test func listWithARepeatedStatus() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteSagaStore(path: folder.path("saga.db"))
        let found = try await store.list(SagaQuery(statuses: [.completed, .pending, .completed], workflow: "w", limit: 10))
        #expect(found.isEmpty)
    }

    @Test func synchronousNormalWhenConfigured() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteSagaStore.sqlite(path: folder.path("saga.db"), configuration: .init(synchronous: .normal))
        let settings = try await store.connectionSettings()
        #expect(settings.synchronous == 1)
        #expect(settings.journalMode == "wal")
    }

    // MARK: Durability across reopen

    @Test func dataSurvivesCloseAndReopen() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("saga.db")
        let events = F.stepEvents(from: 2, count: 2, at: F.time(10))
        do {
            let store = try SQLiteSagaStore(path: path)
            try await F.create(F.record(id: "a", input: ["orderId": "o-1", "amount": 12.5]), in: store)
            _ = try await store.claim(sagaID: "a", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
            try await store.append(
                events, sagaID: "a", owner: "w1",
                progress: SagaProgress(status: .running, currentStep: "charge"), leaseUntil: F.time(100)
            )
        }
        let store = try SQLiteSagaStore(path: path, configuration: .init(createIfMissing: false))
        let record = try #require(try await store.saga(id: "a"))
        #expect(record.lastSeq == 3)
        #expect(record.owner == "w1")
        #expect(record.currentStep == "charge")
        #expect(record.input == ["orderId": "o-1", "amount": 12.5])
        #expect(try await store.events(sagaID: "a") == [F.started(F.record(id: "a", input: record.input))] + events)
    }

    // MARK: Files that are not ours

    @Test func aNewerSchemaIsRefusedAndTheFileIsUnchanged() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("saga.db")
        let known: Int
        do {
            let store = try SQLiteSagaStore(path: path)
            try await F.create(F.record(id: "a"), in: store)
            known = try await store.connectionSettings().schemaVersion
        }
        do {
            let queue = try DatabaseQueue(path: path)
            try await queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                try db.execute(sql: "PRAGMA user_version = 99")
            }
            try queue.close()
        }
        let before = bytes(path)
        let error = await sagaError { _ = try SQLiteSagaStore(path: path) }
        #expect(error?.code == .schemaTooNew)
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains("99") == true)
        #expect(error?.message.contains("(\(known))") == true)
        #expect(bytes(path) == before)
        let readOnly = await sagaError { _ = try SQLiteSagaStore(path: path, configuration: .init(readOnly: true)) }
        #expect(readOnly?.code == .schemaTooNew)
        #expect(bytes(path) == before)
    }

    @Test func aTextFileIsRefusedAndUnchanged() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("x.db")
        let text = Data(String(repeating: "not a database, just some text\n", count: 10).utf8)
        try text.write(to: URL(fileURLWithPath: path))
        let error = await sagaError { _ = try SQLiteSagaStore(path: path) }
        #expect(error?.code == .databaseCorrupt)
        #expect(error?.message == "database \(path) is not a Sagas database or is corrupt; it was not modified")
        #expect(bytes(path) == text)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func aShortTextFileIsRefusedAndUnchanged() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("x.db")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: path))
        let error = await sagaError { _ = try SQLiteSagaStore(path: path) }
        #expect(error?.code == .databaseCorrupt)
        #expect(bytes(path) == Data("hello".utf8))
    }

    @Test func anotherApplicationsDatabaseIsRefusedAndUnchanged() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("other.db")
        do {
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in
                try db.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
                try db.execute(sql: "INSERT INTO notes (body) VALUES ('keep me')")
            }
            try queue.close()
        }
        let before = bytes(path)
        let error = await sagaError { _ = try SQLiteSagaStore(path: path) }
        #expect(error?.code == .databaseCorrupt)
        #expect(error?.message.contains("another application") == true)
        #expect(bytes(path) == before)
    }

    @Test func anEmptyFileBecomesADatabase() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("empty.db")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let store = try SQLiteSagaStore(path: path)
        try await F.create(F.record(id: "a"), in: store)
        #expect(try await store.saga(id: "a") != nil)
    }

    // MARK: Missing files and read-only databases

    @Test func aMissingFileIsNotFoundWithoutCreateIfMissing() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("missing.db")
        let error = await sagaError {
            _ = try SQLiteSagaStore(path: path, configuration: .init(createIfMissing: false))
        }
        #expect(error?.code == .databaseNotFound)
        #expect(error?.message == "database \(path) does not exist")
        #expect(!FileManager.default.fileExists(atPath: path))
        let readOnly = await sagaError { _ = try SQLiteSagaStore(path: path, configuration: .init(readOnly: true)) }
        #expect(readOnly?.code == .databaseNotFound)
    }

    @Test func aMissingFolderIsAStorageFailure() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("nowhere/saga.db")
        let error = await sagaError { _ = try SQLiteSagaStore(path: path) }
        #expect(error?.code == .storageFailure)
        #expect(error?.message.contains(path) == true)
    }

    @Test func readOnlyStoresReadAndRefuseWrites() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("saga.db")
        do {
            let store = try SQLiteSagaStore(path: path)
            try await F.create(F.record(id: "a"), in: store)
        }
        let before = bytes(path)
        let store = try SQLiteSagaStore(path: path, configuration: .init(readOnly: true))
        #expect(try await store.saga(id: "a") != nil)
        #expect(try await store.list(SagaQuery()).map(\.id) == ["a"])
        #expect(try await store.countByStatus() == [.pending: 1])
        let create = await sagaError { try await F.create(F.record(id: "b"), in: store) }
        #expect(create?.code == .databaseReadOnly)
        #expect(create?.message.contains(path) == true)
        let claim = await sagaError {
            _ = try await store.claim(sagaID: "a", owner: "w1", now: F.time(0), leaseUntil: F.time(1))
        }
        #expect(claim?.code == .databaseReadOnly)
        #expect(bytes(path) == before)
    }

    /// A file without write permission. Tests run as root here, and root bypasses file permissions: then the
    /// store opens it for writing (as SQLite would), and only `readOnly: true` can be checked (above).
    @Test func aFileWithoutWritePermission() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("saga.db")
        do {
            let store = try SQLiteSagaStore(path: path)
            try await F.create(F.record(id: "a"), in: store)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path) }
        if getuid() == 0 {
            let store = try SQLiteSagaStore(path: path)
            #expect(try await store.saga(id: "a") != nil)
        } else {
            let error = await sagaError { _ = try SQLiteSagaStore(path: path) }
            #expect(error?.code == .databaseReadOnly)
            let store = try SQLiteSagaStore(path: path, configuration: .init(readOnly: true))
            #expect(try await store.saga(id: "a") != nil)
        }
    }

    // MARK: Locks

    @Test func aDatabaseLockedBeyondTheBusyTimeoutIsLocked() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("saga.db")
        let store = try SQLiteSagaStore(path: path, configuration: .init(busyTimeout: .milliseconds(100)))
        try await F.create(F.record(id: "a"), in: store)

        var unsafe = Configuration()
        unsafe.allowsUnsafeTransactions = true  // the transaction stays open across accesses, on purpose
        let other = try DatabaseQueue(path: path, configuration: unsafe)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
        let error = await sagaError { try await F.create(F.record(id: "b"), in: store) }
        #expect(error?.code == .databaseLocked)
        #expect(error?.message == "database \(path) is locked by another process (waited 100ms)")
        // Readers are not blocked in WAL mode.
        #expect(try await store.saga(id: "a") != nil)

        try await other.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
        try other.close()
        try await F.create(F.record(id: "b"), in: store)
        #expect(try await store.saga(id: "b") != nil)
    }

    // MARK: Full database

    @Test func aFullDatabaseLosesNothingAcknowledgedAndRecovers() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("saga.db")
        var acknowledged = 1
        do {
            let store = try SQLiteSagaStore(path: path, configuration: .init(maxPageCount: 60))
            try await F.create(F.record(id: "a"), in: store)
            _ = try await store.claim(sagaID: "a", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
            let big = JSONValue.string(String(repeating: "x", count: 3_000))
            var full: SagaError?
            for seq in 2..<500 {
                let event = SagaEvent(seq: seq, at: F.time(seq), type: .stepSucceeded, step: "charge", output: big)
                do {
                    try await store.append(
                        [event], sagaID: "a", owner: "w1", progress: SagaProgress(status: .running),
                        leaseUntil: F.time(100)
                    )
                    acknowledged = seq
                } catch let error as SagaError {
                    full = error
                    break
                }
            }
            #expect(full?.code == .databaseFull)
            #expect(full?.message.contains(path) == true)
            #expect(acknowledged > 2)
            #expect(try await store.events(sagaID: "a").count == acknowledged)
        }
        let store = try SQLiteSagaStore(path: path, configuration: .init(maxPageCount: 10_000))
        #expect(try await store.events(sagaID: "a").map(\.seq) == Array(1...acknowledged))
        #expect(try await store.saga(id: "a")?.lastSeq == acknowledged)
        try await store.append(
            F.stepEvents(from: acknowledged + 1, count: 2), sagaID: "a", owner: "w1",
            progress: SagaProgress(status: .running), leaseUntil: F.time(100)
        )
        #expect(try await store.saga(id: "a")?.lastSeq == acknowledged + 2)
    }

    // MARK: Group commit

    @Test func concurrentAppendsShareTransactions() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteSagaStore(path: folder.path("saga.db"))
        let count = 200
        for i in 0..<count {
            try await F.create(F.record(id: "s-\(i)", createdAt: F.time(i)), in: store)
        }
        let claimed = try await store.claimNext(owner: "w1", now: F.time(0), leaseUntil: F.time(60_000), limit: count)
        #expect(claimed.count == count)

        let before = try await store.journalStatistics()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                group.addTask {
                    try await store.append(
                        F.stepEvents(from: 2, count: 2), sagaID: "s-\(i)", owner: "w1",
                        progress: SagaProgress(status: .running, currentStep: "charge"), leaseUntil: F.time(60_000)
                    )
                }
            }
            try await group.waitForAll()
        }
        let after = try await store.journalStatistics()
        let commits = after.commits - before.commits
        #expect(after.writes - before.writes == count)
        #expect(after.eventRows - before.eventRows == 2 * count)
        #expect(commits < count)
        print("group commit: \(count) concurrent appends committed in \(commits) transactions")
        for i in 0..<count {
            #expect(try await store.saga(id: "s-\(i)")?.lastSeq == 3)
        }
    }

    @Test func aCancelledLeaderStillCommitsTheOthersWrites() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteSagaStore(path: folder.path("saga.db"))
        let tasks = (0..<20).map { i in
            Task { try await F.create(F.record(id: "s-\(i)", createdAt: F.time(i)), in: store) }
        }
        tasks[0].cancel()
        for task in tasks { _ = try? await task.value }
        #expect(try await store.countByStatus()[.pending] == 20)
    }
}
