import Foundation
import GRDB
import Sagas
import Synchronization

/// Columns, statements and row decoding for the `sagas`, `saga_definitions` and `saga_events` tables.
enum SQLiteRows {
    /// The `sagas` columns a `SagaRecord` is read from, in the order `record(_:db:)` reads them by index.
    static let columns = """
        id, workflow, version, definition_digest, base_directory, input, status, created_at, updated_at, owner, \
        lease_expires_at, current_step, last_error, cancel_reason, cancel_requested_at, last_seq, business_key, \
        rerun_of
        """

    /// How many columns `columns` has: a query may add more after them (`rowid AS row_order`).
    static let columnCount = 18

    /// The runnable statuses, spelled exactly as the condition of the partial index `sagas_runnable`, so that
    /// SQLite may use it (`INDEXED BY sagas_runnable` makes it).
    static let runnable = "(status = 'pending' OR status = 'running' OR status = 'compensating')"

    static let insertSagaSQL = """
        INSERT INTO sagas (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static let insertEvent = """
        INSERT INTO saga_events (saga_id, seq, at, type, step, payload) VALUES (?, ?, ?, ?, ?, ?)
        """

    /// Pinned definitions by digest, and digests by text. Both are content-addressed (the digest is the SHA-256
    /// of the text), so an entry is true whatever database it came from, and whether or not the transaction that
    /// wrote it committed.
    private static let definitionCache = Mutex(DefinitionCache())

    private struct DefinitionCache {
        var texts = RecentCache<String, String>()
        var digests = RecentCache<String, String>()

        mutating func remember(digest: String, text: String) {
            texts.insert(text, for: digest)
            digests.insert(digest, for: text)
        }
    }

    /// The digest that names a pinned definition's text in `saga_definitions`.
    static func digest(ofDefinition text: String) -> String {
        if let digest = definitionCache.withLock({ $0.digests.lookup(text) }) { return digest }
        let digest = SQLiteDefinitionDigest.hex(text)
        definitionCache.withLock { $0.remember(digest: digest, text: text) }
        return digest
    }

    /// The text of the pinned definition `digest` names.
    static func definition(digest: String, db: Database) throws -> String {
        if let text = definitionCache.withLock({ $0.texts.lookup(digest) }) { return text }
        guard
            let text = try String.fetchOne(
                db.cachedStatement(sql: "SELECT text FROM saga_definitions WHERE digest = ?"),
                arguments: [digest]
            )
        else {
            throw SagaError(.databaseCorrupt, "the pinned definition \(digest) is missing from saga_definitions")
        }
        definitionCache.withLock { $0.remember(digest: digest, text: text) }
        return text
    }

    /// Stores a pinned definition once, however many sagas pin it, under its digest.
    static func storeDefinition(_ text: String, digest: String, db: Database) throws {
        let insert = try SQLiteRaw(
            db,
            "INSERT INTO saga_definitions (digest, text) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING"
        )
        try insert.bind(1, digest)
        try insert.bind(2, text)
        try insert.run()
    }

    /// Inserts a saga's row (`columns`, in order).
    static func insertSaga(_ record: SagaRecord, definitionDigest: String, inputText: String, db: Database) throws {
        let insert = try SQLiteRaw(db, insertSagaSQL)
        try insert.bind(1, record.id)
        try insert.bind(2, record.workflow)
        try insert.bind(3, record.version)
        try insert.bind(4, definitionDigest)
        try insert.bind(5, record.baseDirectory)
        try insert.bind(6, inputText)
        try insert.bind(7, record.status.rawValue)
        try insert.bind(8, SagaTime.milliseconds(record.createdAt))
        try insert.bind(9, SagaTime.milliseconds(record.updatedAt))
        try insert.bind(10, record.owner)
        try insert.bind(11, record.leaseExpiresAt.map(SagaTime.milliseconds))
        try insert.bind(12, record.currentStep)
        try insert.bind(13, record.lastError)
        try insert.bind(14, record.cancelReason)
        try insert.bind(15, record.cancelRequestedAt.map(SagaTime.milliseconds))
        try insert.bind(16, record.lastSeq)
        try insert.bind(17, record.key)
        try insert.bind(18, record.rerunOf)
        try insert.run()
    }

    /// An event as its row stores it, encoded before the write's transaction begins (the transaction is shared,
    /// and the less it does, the sooner every write in it is acknowledged).
    struct EncodedEvent: Sendable {
        var seq: Int
        var at: Int64
        var type: String
        var step: String?
        var payload: String

        init(_ event: SagaEvent) {
            seq = event.seq
            at = SagaTime.milliseconds(event.at)
            type = event.type.rawValue
            step = event.step
            payload = event.payload.jsonString
        }
    }

    static func insert(_ events: [EncodedEvent], sagaID: String, db: Database) throws {
        guard !events.isEmpty else { return }
        let statement = try SQLiteRaw(db, insertEvent)
        for event in events {
            try statement.bind(1, sagaID)
            try statement.bind(2, event.seq)
            try statement.bind(3, event.at)
            try statement.bind(4, event.type)
            try statement.bind(5, event.step)
            try statement.bind(6, event.payload)
            try statement.run()
        }
    }

    static func fetchSaga(_ db: Database, id: String) throws -> SagaRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(columns) FROM sagas WHERE id = ?"), arguments: [id])
            .map { try record($0, db: db) }
    }

    static func fetchOneRecord(_ db: Database, sql: String, arguments: StatementArguments) throws -> SagaRecord? {
        // `fetchAll`, not `fetchOne`: an `UPDATE … RETURNING` must run to completion.
        try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).first.map { try record($0, db: db) }
    }

    /// A record from a row whose first columns are `columns`, in order (read by index: a lookup by name costs
    /// more than the rest of the decoding).
    static func record(_ row: Row, db: Database) throws -> SagaRecord {
        let id: String = row[0]
        let statusName: String = row[6]
        guard let status = SagaStatus(rawValue: statusName) else {
            throw SagaError(.databaseCorrupt, "saga \(id) has an unknown status '\(statusName)'", sagaID: id)
        }
        let inputText: String = row[5]
        let input: JSONValue
        do {
            input = try JSONValue(parsing: inputText)
        } catch {
            throw SagaError(.databaseCorrupt, "saga \(id) has an input that is not JSON: \(error)", sagaID: id)
        }
        return SagaRecord(
            id: id,
            workflow: row[1],
            version: row[2],
            definition: try definition(digest: row[3], db: db),
            baseDirectory: row[4],
            input: input,
            status: status,
            createdAt: SagaTime.date(milliseconds: row[7]),
            updatedAt: SagaTime.date(milliseconds: row[8]),
            owner: row[9],
            leaseExpiresAt: (row[10] as Int64?).map(SagaTime.date(milliseconds:)),
            currentStep: row[11],
            lastError: row[12],
            cancelReason: row[13],
            cancelRequestedAt: (row[14] as Int64?).map(SagaTime.date(milliseconds:)),
            lastSeq: row[15],
            key: row[16],
            rerunOf: row[17]
        )
    }

    static func event(_ row: Row, sagaID: String) throws -> SagaEvent {
        // Columns: seq, at, type, step, payload.
        let typeName: String = row[2]
        guard let type = SagaEventType(rawValue: typeName) else {
            throw SagaError(
                .databaseCorrupt,
                "saga \(sagaID): event \(row[0] as Int) has an unknown type '\(typeName)'",
                sagaID: sagaID
            )
        }
        let payload: JSONValue
        do {
            payload = try JSONValue(parsing: row[4] as String)
        } catch {
            throw SagaError(.databaseCorrupt, "saga \(sagaID): an event payload is not JSON: \(error)", sagaID: sagaID)
        }
        return SagaEvent(
            seq: row[0],
            at: SagaTime.date(milliseconds: row[1]),
            type: type,
            step: row[3],
            payload: payload
        )
    }
}
