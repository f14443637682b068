public import Foundation

// Waiting sagas in memory: a status and a wake time (see `SagaStoreWaits`).
extension MemorySagaStore {
    public func releaseWaiting(sagaID: String, owner: String, wakeAt: Date) -> Bool {
        guard var record = records[sagaID], record.owner == owner, record.status.isRunnable,
            record.cancelRequestedAt == nil
        else { return false }
        record.status = .waiting
        record.owner = nil
        record.leaseExpiresAt = nil
        records[sagaID] = record
        wakeTimes[sagaID] = wakeAt
        return true
    }

    public func wakeTime(sagaID: String) -> Date? {
        records[sagaID]?.status == .waiting ? wakeTimes[sagaID] : nil
    }

    /// Makes the waiting sagas whose wake time has come runnable.
    func wakeDue(now: Date) {
        guard !wakeTimes.isEmpty else { return }
        for (id, at) in wakeTimes where at <= now {
            wake(id, at: now)
        }
    }

    /// Makes a waiting saga runnable now.
    func wake(_ sagaID: String, at: Date) {
        wakeTimes[sagaID] = nil
        guard var record = records[sagaID], record.status == .waiting else { return }
        record.status = .running
        record.updatedAt = max(record.updatedAt, at)
        records[sagaID] = record
    }
}
