public import Foundation
import Logging

// What operators do besides starting and resolving: find sagas, count them, stop them without compensating, and
// delete finished journals. The CLI and the HTTP API call these.
extension SagaEngine {
    /// Sagas matching `query`, newest first (see ``SagaQuery``; every filter is served by an index).
    public func list(_ query: SagaQuery) async throws -> [SagaRecord] {
        try await store.list(query)
    }

    /// Counts by status and workflow, stuck sagas, the oldest intervention and recent finishes.
    public func statistics() async throws -> SagaStatistics {
        try await store.statistics(now: now())
    }

    /// Deletes (or counts, with `dryRun`) finished sagas that finished before `finishedBefore`, `batchSize` per
    /// transaction. Sagas waiting for a person and sagas still running are never deleted.
    ///
    /// - Throws: `.invalidArgument` when the store cannot delete sagas; storage errors.
    /// - Returns: how many sagas were deleted (or would be).
    @discardableResult
    public func purge(finishedBefore: Date, dryRun: Bool = false, batchSize: Int = 1000) async throws -> Int {
        guard let purging = store as? any SagaStorePurging else {
            throw SagaError(.invalidArgument, "this store cannot delete sagas")
        }
        if dryRun { return try await purging.purge(finishedBefore: finishedBefore, limit: Int.max, dryRun: true) }
        var total = 0
        while true {
            let deleted = try await purging.purge(finishedBefore: finishedBefore, limit: batchSize, dryRun: false)
            total += deleted
            if deleted < batchSize { return total }
        }
    }

    /// Stops a saga now without compensating: it ends `failed`, with `saga.terminated` journaled with who and why.
    /// For a saga whose undo was done by hand, or must not happen. Nothing that already took effect is undone.
    ///
    /// Acts on sagas that no live worker holds (waiting for a person, stuck, pending with no worker, parked): a
    /// saga a worker is running is refused, since its attempt in flight would be cut off unjournaled; cancel it,
    /// or stop that worker first.
    ///
    /// - Throws: `.sagaNotFound`; `.invalidState` when the saga is already finished or a live worker holds it (the
    ///   message names the worker and when its lease ends), or someone else wrote to it at the same moment.
    @discardableResult
    public func terminate(sagaID: String, reason: String, by: String) async throws -> SagaRecord {
        guard let record = try await store.saga(id: sagaID) else { throw SagaError.notFound(sagaID) }
        if record.status.isTerminal {
            throw SagaError(
                .invalidState,
                "saga \(sagaID) is already \(record.status.rawValue); nothing to terminate",
                sagaID: sagaID
            )
        }
        let at = now()
        if let owner = record.owner, let until = record.leaseExpiresAt, until > at {
            throw SagaError(
                .invalidState,
                "saga \(sagaID) is being run by worker \(owner) (lease until \(SagaTime.format(until))); terminate "
                    + "acts on sagas that no live worker holds: cancel it to compensate, or stop that worker first",
                sagaID: sagaID
            )
        }
        let event = SagaEvent(
            seq: record.lastSeq + 1,
            at: at,
            type: .sagaTerminated,
            error: "terminated by \(by): \(reason)",
            data: ["by": .string(by), "reason": .string(reason)]
        )
        // A journal that replays must accept the event; a parked one (it does not replay) is terminated as it is.
        if let definition = try? definition(of: record) {
            var machine = SagaStateMachine(sagaID: sagaID, definition: definition)
            var replays = true
            for e in try await store.events(sagaID: sagaID) where replays {
                do { try machine.apply(e) } catch { replays = false }
            }
            if replays, machine.lastSeq == record.lastSeq { try machine.apply(event) }
        }
        let began = ContinuousClock.now
        try await store.appendUnowned(
            [event],
            sagaID: sagaID,
            expectedLastSeq: record.lastSeq,
            progress: SagaProgress(status: .failed, currentStep: record.currentStep, lastError: event.error),
            now: at
        )
        notify(.appendedUnowned, record, events: [event], status: .failed, since: began, by: by)
        logger.notice(
            "saga terminated",
            metadata: ["saga.id": "\(sagaID)", "by": "\(by)", "reason": "\(reason)"]
        )
        guard let updated = try await store.saga(id: sagaID) else { throw SagaError.notFound(sagaID) }
        return updated
    }
}

extension SagaEngine {
    /// The workers that hold leases now: who they are, the sagas they hold, and whether their leases are live.
    public func workers() async throws -> [SagaWorkerSummary] {
        try await store.workers(now: now())
    }
}
