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
        rerun_of, cancel_by
        """

    /// How many columns `columns` has: a query may add more after them (`rowid AS row_order`).
    static let columnCount = 19

    /// The runnable statuses, spelled exactly as the condition of the partial index `sagas_runnable`, so that
    /// SQLite may use it (`INDEXED BY sagas_runnable` makes it).
    static let runnable = "(status = 'pending' OR status = 'running' OR status = 'compensating')"

    static let insertSagaSQL = """
        INSERT INTO sagas (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        try insert.bind(19, record.cancelBy)
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
    ///
    /// Never traps on what the row holds: a column that does not decode (an input that is not JSON, a pinned
    /// definition missing from `saga_definitions`, an unknown status, a value of the wrong type) is replaced by a
    /// placeholder and named in the record's `damage`, so that one damaged saga neither hides the others from a
    /// listing nor stops a worker (which parks it). Times are clamped to `SagaTime.range`.
    static func record(_ row: Row, db: Database) throws -> SagaRecord {
        var reader = RowReader(row: row)
        let id: String = reader.value(0, "id", default: "")
        let sagaName = reader.problems.isEmpty ? id : RowReader.describe(row[0])
        let statusName: String = reader.value(6, "status", default: "")
        // An unknown status reads as `needs_intervention` (a person must look), with the damage saying so.
        let status = SagaStatus(rawValue: statusName) ?? .needsIntervention
        if SagaStatus(rawValue: statusName) == nil, reader.problems.last?.hasPrefix("a status") != true {
            reader.problems.append("an unknown status '\(RowReader.clip(statusName))'")
        }
        let inputText: String = reader.value(5, "input", default: "null")
        var input = JSONValue.null
        do {
            input = try JSONValue(parsing: inputText)
        } catch {
            reader.problems.append("an input that is not JSON: \(error)")
        }
        let digest: String = reader.value(3, "definition_digest", default: "")
        var definitionText = ""
        do {
            definitionText = try definition(digest: digest, db: db)
        } catch let error as SagaError where error.code == .databaseCorrupt {
            reader.problems.append("a pinned definition that is missing from saga_definitions (digest \(digest))")
        }
        let lastSeq: Int = reader.value(15, "last_seq", default: 0)
        if lastSeq < 0 { reader.problems.append("a negative last_seq (\(lastSeq))") }
        var record = SagaRecord(
            id: id,
            workflow: reader.value(1, "workflow", default: ""),
            version: reader.value(2, "version", default: 0),
            definition: definitionText,
            baseDirectory: reader.optional(4, "base_directory"),
            input: input,
            status: status,
            createdAt: SagaTime.date(milliseconds: reader.value(7, "created_at", default: 0)),
            updatedAt: SagaTime.date(milliseconds: reader.value(8, "updated_at", default: 0)),
            owner: reader.optional(9, "owner"),
            leaseExpiresAt: (reader.optional(10, "lease_expires_at") as Int64?).map(SagaTime.date(milliseconds:)),
            currentStep: reader.optional(11, "current_step"),
            lastError: reader.optional(12, "last_error"),
            cancelReason: reader.optional(13, "cancel_reason"),
            cancelRequestedAt: (reader.optional(14, "cancel_requested_at") as Int64?).map(SagaTime.date(milliseconds:)),
            lastSeq: max(0, lastSeq),
            key: reader.optional(16, "business_key"),
            rerunOf: reader.optional(17, "rerun_of")
        )
        record.cancelBy = reader.optional(18, "cancel_by")
        if !reader.problems.isEmpty {
            record.damage = "saga \(sagaName): damaged row: " + reader.problems.joined(separator: "; ")
        }
        return record
    }

    /// Reads columns of a row by index without trapping: a value that does not decode is recorded in `problems`.
    struct RowReader {
        let row: Row
        var problems: [String] = []

        /// A stored value as an error message may quote it: at most 40 characters.
        static func describe(_ value: DatabaseValue) -> String { clip(value.description) }

        /// At most 40 characters of `text`.
        static func clip(_ text: String) -> String { text.count <= 40 ? text : String(text.prefix(39)) + "…" }

        mutating func value<T: DatabaseValueConvertible & StatementColumnConvertible>(
            _ index: Int, _ name: String, default fallback: T
        ) -> T {
            do {
                return try row.decode(T.self, atIndex: index)
            } catch {
                problems.append("a \(name) that is not a valid \(T.self) (\(Self.describe(row[index])))")
                return fallback
            }
        }

        mutating func optional<T: DatabaseValueConvertible & StatementColumnConvertible>(_ index: Int, _ name: String)
            -> T?
        {
            do {
                return try row.decode(T?.self, atIndex: index)
            } catch {
                problems.append("a \(name) that is not a valid \(T.self) (\(Self.describe(row[index])))")
                return nil
            }
        }
    }

    /// An event from a row of `seq, at, type, step, payload`. Never traps on what the row holds: an event that
    /// does not decode makes the journal one that does not replay (`.corruptJournal`, naming the saga and the
    /// event), so `saga show` shows the saga with that error and a worker parks it.
    static func event(_ row: Row, sagaID: String) throws -> SagaEvent {
        var reader = RowReader(row: row)
        let seq: Int = reader.value(0, "seq", default: 0)
        let at: Int64 = reader.value(1, "at", default: 0)
        let typeName: String = reader.value(2, "type", default: "")
        let step: String? = reader.optional(3, "step")
        let payloadText: String = reader.value(4, "payload", default: "{}")
        let name = "saga \(sagaID): event \(reader.problems.first?.hasPrefix("a seq") == true ? "?" : String(seq))"
        guard reader.problems.isEmpty else {
            throw SagaError(.corruptJournal, "\(name) is damaged: its row has " + reader.problems.joined(separator: "; "), sagaID: sagaID)
        }
        guard let type = SagaEventType(rawValue: typeName) else {
            throw SagaError(.corruptJournal, "\(name) has an unknown type '\(RowReader.clip(typeName))'", sagaID: sagaID)
        }
        let payload: JSONValue
        do {
            payload = try JSONValue(parsing: payloadText)
        } catch {
            throw SagaError(.corruptJournal, "\(name) has a payload that is not JSON: \(error)", sagaID: sagaID)
        }
        return SagaEvent(seq: seq, at: SagaTime.date(milliseconds: at), type: type, step: step, payload: payload)
    }
}
