public import Foundation

// Who asked for a cancel, in memory (see `SagaStoreCancelActors`).
extension MemorySagaStore: SagaStoreCancelActors {
    public func requestCancel(sagaID: String, reason: String, by: String, at: Date) throws -> SagaRecord {
        let first = records[sagaID]?.cancelRequestedAt == nil
        var record = try requestCancel(sagaID: sagaID, reason: reason, at: at)
        if first, record.cancelRequestedAt != nil {
            record.cancelBy = by
            records[sagaID]?.cancelBy = by
        }
        return record
    }
}
