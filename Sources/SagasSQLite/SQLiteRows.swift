import Foundation
import GRDB
import Sagas

/// Columns, statements and row decoding for the `sagas` and `saga_events` tables.
enum SQLiteRows {
    /// The `sagas` columns a `SagaRecord` is read from.
    static let columns = """
        id, workflow, version, definition, base_directory, input, status, created_at, updated_at, owner, \
        lease_expires_at, current_step, last_error, cancel_reason, cancel_requested_at, last_seq
        """

    /// The runnable statuses, spelled exactly as the partial index `sagas_runnable` is, so SQLite uses it.
    static let runnable = "status IN ('pending', 'running', 'compensating')"

    static let insertSaga = """
        INSERT INTO sagas (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static let insertEvent = """
        INSERT INTO saga_events (saga_id, seq, at, type, step, payload) VALUES (?, ?, ?, ?, ?, ?)
        """

    static func arguments(_ record: SagaRecord, inputText: String) -> StatementArguments {
        [
            record.id, record.workflow, record.version, record.definition, record.baseDirectory, inputText,
            record.status.rawValue, SagaTime.milliseconds(record.createdAt), SagaTime.milliseconds(record.updatedAt),
            record.owner, record.leaseExpiresAt.map(SagaTime.milliseconds), record.currentStep, record.lastError,
            record.cancelReason, record.cancelRequestedAt.map(SagaTime.milliseconds), record.lastSeq,
        ]
    }

    static func insert(_ events: [SagaEvent], sagaID: String, db: Database) throws {
        guard !events.isEmpty else { return }
        let statement = try db.cachedStatement(sql: insertEvent)
        for event in events {
            try statement.execute(arguments: [
                sagaID, event.seq, SagaTime.milliseconds(event.at), event.type.rawValue, event.step,
                event.payload.jsonString,
            ])
        }
    }

    static func fetchSaga(_ db: Database, id: String) throws -> SagaRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(columns) FROM sagas WHERE id = ?"), arguments: [id])
            .map(record)
    }

    static func fetchOneRecord(_ db: Database, sql: String, arguments: StatementArguments) throws -> SagaRecord? {
        // `fetchAll`, not `fetchOne`: an `UPDATE … RETURNING` must run to completion.
        try Row.fetchAll(db, sql: sql, arguments: arguments).first.map(record)
    }

    static func record(_ row: Row) throws -> SagaRecord {
        let id: String = row["id"]
        let statusName: String = row["status"]
        guard let status = SagaStatus(rawValue: statusName) else {
            throw SagaError(.databaseCorrupt, "saga \(id) has an unknown status '\(statusName)'", sagaID: id)
        }
        let inputText: String = row["input"]
        let input: JSONValue
        do {
            input = try JSONValue(parsing: inputText)
        } catch {
            throw SagaError(.databaseCorrupt, "saga \(id) has an input that is not JSON: \(error)", sagaID: id)
        }
        return SagaRecord(
            id: id,
            workflow: row["workflow"],
            version: row["version"],
            definition: row["definition"],
            baseDirectory: row["base_directory"],
            input: input,
            status: status,
            createdAt: SagaTime.date(milliseconds: row["created_at"]),
            updatedAt: SagaTime.date(milliseconds: row["updated_at"]),
            owner: row["owner"],
            leaseExpiresAt: (row["lease_expires_at"] as Int64?).map(SagaTime.date(milliseconds:)),
            currentStep: row["current_step"],
            lastError: row["last_error"],
            cancelReason: row["cancel_reason"],
            cancelRequestedAt: (row["cancel_requested_at"] as Int64?).map(SagaTime.date(milliseconds:)),
            lastSeq: row["last_seq"]
        )
    }

    static func event(_ row: Row, sagaID: String) throws -> SagaEvent {
        let typeName: String = row["type"]
        guard let type = SagaEventType(rawValue: typeName) else {
            throw SagaError(
                .databaseCorrupt,
                "saga \(sagaID): event \(row["seq"] as Int) has an unknown type '\(typeName)'",
                sagaID: sagaID
            )
        }
        let payload: JSONValue
        do {
            payload = try JSONValue(parsing: row["payload"] as String)
        } catch {
            throw SagaError(.databaseCorrupt, "saga \(sagaID): an event payload is not JSON: \(error)", sagaID: sagaID)
        }
        return SagaEvent(
            seq: row["seq"],
            at: SagaTime.date(milliseconds: row["at"]),
            type: type,
            step: row["step"],
            payload: payload
        )
    }
}
