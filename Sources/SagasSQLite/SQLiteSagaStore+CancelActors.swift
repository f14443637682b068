public import Foundation
import GRDB
public import Sagas

// Who asked for a cancel (see `SagaStoreCancelActors`): `cancel_by`, written with the first request only.
extension SQLiteSagaStore: SagaStoreCancelActors {
    public func requestCancel(sagaID: String, reason: String, by: String, at: Date) async throws -> SagaRecord {
        let at = SagaTime.milliseconds(at)
        return try await write { db in
            guard let record = try SQLiteRows.fetchSaga(db, id: sagaID) else { throw SagaError.notFound(sagaID) }
            guard !record.status.isTerminal else {
                throw SagaError(.invalidState, "saga \(sagaID) is already \(record.status.rawValue)", sagaID: sagaID)
            }
            guard record.cancelRequestedAt == nil else { return record }
            return try SQLiteRows.fetchOneRecord(
                db,
                sql: "UPDATE sagas SET cancel_reason = ?, cancel_by = ?, cancel_requested_at = ?"
                    + "\(SQLiteSagaStore.wakeOnCancel) WHERE id = ? RETURNING \(SQLiteRows.columns)",
                arguments: [reason, by, at, sagaID]
            ) ?? record
        }
    }
}
