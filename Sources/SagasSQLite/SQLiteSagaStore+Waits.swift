public import Foundation
import GRDB
public import Sagas

// Waiting sagas (see `SagaStoreWaits`): status 'waiting' and `wake_at`, indexed by `sagas_waiting` (migration
// v6-waits). A waiting saga is outside `sagas_runnable`: claiming reads only the waiting sagas that are due.
extension SQLiteSagaStore: SagaStoreWaits {
    public func releaseWaiting(sagaID: String, owner: String, wakeAt: Date) async throws -> Bool {
        let wake = SagaTime.milliseconds(wakeAt)
        return try await write(saga: sagaID) { db in
            let update = try SQLiteRaw(
                db,
                "UPDATE sagas SET status = 'waiting', wake_at = ?, owner = NULL, lease_expires_at = NULL "
                    + "WHERE id = ? AND owner = ? AND \(SQLiteRows.runnable) AND cancel_requested_at IS NULL"
            )
            try update.bind(1, wake)
            try update.bind(2, sagaID)
            try update.bind(3, owner)
            try update.run()
            return update.changes > 0
        }
    }

    public func wakeTime(sagaID: String) async throws -> Date? {
        try await read { db in
            try Int64.fetchOne(
                db, sql: "SELECT wake_at FROM sagas WHERE id = ? AND status = 'waiting'", arguments: [sagaID]
            ).map { SagaTime.date(milliseconds: $0) }
        }
    }

    /// Makes the waiting sagas whose wake time has come runnable (`running`, no owner), in the claim's
    /// transaction: one probe of `sagas_waiting` when none is due.
    ///
    /// `INDEXED BY`: left to itself, SQLite reads every waiting saga through `sagas_status_created (status=?)` and
    /// each one's row to compare `wake_at`, in every claim: with 10,000 sagas waiting, that was most of an idle
    /// worker's CPU (Docs/performance.md, "Waiting sagas").
    static func wakeDue(_ db: Database, now: Int64) throws {
        try db.execute(sql: wakeDueSQL, arguments: [now, now])
    }

    /// The statement of `wakeDue` (its query plan is checked by `SQLiteWaitPlanTests`).
    static let wakeDueSQL = """
        UPDATE sagas INDEXED BY sagas_waiting SET status = 'running', wake_at = NULL, updated_at = MAX(updated_at, ?)
        WHERE status = 'waiting' AND wake_at <= ?
        """

    /// The assignments that make a waiting saga runnable when a cancel is requested (appended to its UPDATE).
    static let wakeOnCancel =
        ", status = CASE WHEN status = 'waiting' THEN 'running' ELSE status END"
        + ", wake_at = CASE WHEN status = 'waiting' THEN NULL ELSE wake_at END"
}
