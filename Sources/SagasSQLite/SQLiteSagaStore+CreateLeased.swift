public import Foundation
import GRDB
public import Sagas

extension SQLiteSagaStore: SagaStoreCreatingLeased {
    /// Journals a new saga leased to `owner` with its first events and summary, in one write; or returns the
    /// existing saga with that id, writing nothing.
    ///
    /// - Throws: `.sagaConflict` when the id exists with another workflow, version or input (inputs compare by
    ///   their canonical JSON text); `.corruptJournal` when the events are not numbered from 1; storage errors.
    public func createLeased(
        _ saga: SagaRecord,
        events: [SagaEvent],
        owner: String,
        progress: SagaProgress,
        leaseUntil: Date
    ) async throws -> SagaCreation {
        for (offset, event) in events.enumerated() where event.seq != offset + 1 {
            throw SagaError(.corruptJournal, "saga \(saga.id): event \(event.seq) does not follow", sagaID: saga.id)
        }
        var record = saga
        record.status = progress.status
        record.currentStep = progress.currentStep ?? saga.currentStep
        record.lastError = progress.lastError ?? saga.lastError
        record.updatedAt = events.last?.at ?? saga.updatedAt
        let release = !progress.status.isRunnable
        record.owner = release ? nil : owner
        record.leaseExpiresAt = release ? nil : leaseUntil
        record.lastSeq = events.last?.seq ?? 0
        return try await insertNew(record, events: events)
    }
}
