public import Foundation
import PostgresNIO
public import Sagas
import Synchronization

// Waiting sagas (see `SagaStoreWaits`): status 'waiting' and `wake_at`, indexed by `sagas_waiting` (migration
// 0003-waits). A waiting saga is outside the runnable indexes: claiming reads only the waiting sagas that are due.
extension PostgresSchema {
    var waitsMigration: Migration {
        Migration(
            name: "0006-waits",
            statements: [
                "ALTER TABLE \(sagas) ADD COLUMN wake_at BIGINT",
                "CREATE INDEX sagas_waiting ON \(sagas) (wake_at) WHERE status = 'waiting'",
            ]
        )
    }
}

extension PostgresSagaStore: SagaStoreWaits {
    public func releaseWaiting(sagaID: String, owner: String, wakeAt: Date) async throws -> Bool {
        var s = PostgresStatement()
        let wake = s.bind(SagaTime.milliseconds(wakeAt))
        let id = s.bind(sagaID)
        let ownerMark = s.bind(owner)
        s.append(
            """
            UPDATE \(schema.sagas) SET status = 'waiting', wake_at = \(wake), owner = NULL, lease_expires_at = NULL
            WHERE id = \(id) AND owner = \(ownerMark) AND \(PostgresSchema.runnable) AND cancel_requested_at IS NULL
            RETURNING id
            """
        )
        let released = try await !rows(s).isEmpty
        if released {
            leases.withLock { leases in
                if leases[sagaID]?.owner == owner { leases[sagaID] = nil }
            }
        }
        return released
    }

    public func wakeTime(sagaID: String) async throws -> Date? {
        var s = PostgresStatement("SELECT wake_at FROM \(schema.sagas) WHERE status = 'waiting' AND id = ")
        s.append(s.bind(sagaID))
        guard let row = try await rows(s).first else { return nil }
        let ms = try row.decode(Int64?.self)
        return ms.map { SagaTime.date(milliseconds: $0) }
    }

    /// Makes the waiting sagas whose wake time has come runnable (`running`, no owner).
    func wakeDue(now: Date) async throws {
        var s = PostgresStatement()
        let nowMark = s.bind(SagaTime.milliseconds(now))
        s.append(
            """
            UPDATE \(schema.sagas) SET status = 'running', wake_at = NULL, updated_at = GREATEST(updated_at, \(nowMark))
            WHERE status = 'waiting' AND wake_at <= \(nowMark)
            """
        )
        _ = try await rows(s)
    }

    /// The assignments that make a waiting saga runnable when a cancel is requested (appended to its UPDATE).
    static let wakeOnCancel =
        ", status = CASE WHEN status = 'waiting' THEN 'running' ELSE status END"
        + ", wake_at = CASE WHEN status = 'waiting' THEN NULL ELSE wake_at END"
}
