public import Foundation
import PostgresNIO
public import Sagas

extension PostgresSchema {
    /// Migration `0008-cancel-by`: who asked for a saga's cancel, beside its reason (see `SagaStoreCancelActors`).
    var cancelActorsMigration: Migration {
        Migration(
            name: "0008-cancel-by",
            statements: ["ALTER TABLE \(sagas) ADD COLUMN cancel_by TEXT"]
        )
    }
}

// Who asked for a cancel: `cancel_by`, written with the first request only.
extension PostgresSagaStore: SagaStoreCancelActors {
    public func requestCancel(sagaID: String, reason: String, by: String, at: Date) async throws -> SagaRecord {
        var s = PostgresStatement()
        let reasonMark = s.bind(reason)
        let byMark = s.bind(by)
        let atMark = s.bind(SagaTime.milliseconds(at))
        let id = s.bind(sagaID)
        s.append(
            """
            UPDATE \(schema.sagas) SET cancel_reason = \(reasonMark), cancel_by = \(byMark),
                cancel_requested_at = \(atMark)\(Self.wakeOnCancel)
            WHERE id = \(id) AND cancel_requested_at IS NULL AND NOT \(PostgresSchema.finished)
            RETURNING \(schema.columns)
            """
        )
        if let updated = try await records(s).first { return updated.record }
        guard let record = try await saga(id: sagaID) else { throw SagaError.notFound(sagaID) }
        guard !record.status.isTerminal else {
            throw SagaError(.invalidState, "saga \(sagaID) is already \(record.status.rawValue)", sagaID: sagaID)
        }
        return record
    }
}
