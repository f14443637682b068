import Foundation
import Logging
import Synchronization

// The drive loop's journal writes: the leased creation of a saga and the appends of its buffered events, each
// durable before anything that depends on it runs.
extension SagaEngine {
    /// Creates the saga leased to this worker with the buffered events; `false` when it already existed (nothing
    /// was written).
    func create(_ journal: inout JournalBuffer, status: SagaStatus) async throws -> Bool {
        guard let record = journal.creating, let store = store as? any SagaStoreCreatingLeased else {
            preconditionFailure("a leased creation needs a SagaStoreCreatingLeased")
        }
        let leaseUntil = leaseDeadline()
        let began = ContinuousClock.now
        let creation = try await store.createLeased(
            record,
            events: journal.events,
            owner: configuration.workerID,
            progress: SagaProgress(status: status, currentStep: journal.currentStep, lastError: journal.lastError),
            leaseUntil: leaseUntil
        )
        guard case .created = creation else { return false }
        notify(.created, record, events: journal.events, status: status, since: began)
        // Its lease is renewed from now on.
        state.withLock {
            _ = $0.active.insert(journal.sagaID)
            _ = $0.lostLeases.remove(journal.sagaID)
        }
        ensureLeaseRenewal()
        journal.written(status: status, owner: configuration.workerID, leaseUntil: leaseUntil)
        return true
    }

    /// Appends the buffered events in one write, retrying while the database is locked or full: nothing acts on an
    /// event before it is durable.
    func flush(_ journal: inout JournalBuffer, status: SagaStatus) async throws {
        guard !journal.events.isEmpty else { return }
        var delay = Duration.milliseconds(100)
        while true {
            do {
                let leaseUntil = leaseDeadline()
                let began = ContinuousClock.now
                try await appendChecked(journal, status: status, leaseUntil: leaseUntil)
                notify(.appended, journal.summary, events: journal.events, status: status, since: began)
                journal.written(status: status, owner: configuration.workerID, leaseUntil: leaseUntil)
                return
            } catch let error as SagaError
                where error.isTransient && !isShuttingDown
            {
                logger.error("cannot journal, will retry: \(error.message)", metadata: ["saga.id": "\(journal.sagaID)"])
                try await clock.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// `store.append` of the buffered events. They continue the journal this loop replayed, so a store that refuses
    /// their numbers says that someone else wrote the saga's journal meanwhile under this worker's lease (another
    /// worker configured with this one's id): the drive stops, as after a lost lease (`.leaseLost`). The journal
    /// itself is sound, so the saga is not parked.
    private func appendChecked(_ journal: JournalBuffer, status: SagaStatus, leaseUntil: Date) async throws {
        do {
            try await store.append(
                journal.events,
                sagaID: journal.sagaID,
                owner: configuration.workerID,
                progress: SagaProgress(status: status, currentStep: journal.currentStep, lastError: journal.lastError),
                leaseUntil: leaseUntil
            )
        } catch let error as SagaError where error.code == .corruptJournal {
            throw SagaError(
                .leaseLost,
                "saga \(journal.sagaID): its journal was written by someone else under this worker's lease "
                    + "(\(error.message)); worker \(configuration.workerID) stops driving it",
                sagaID: journal.sagaID
            )
        }
    }
}
