import Foundation
import Logging

extension SagaEngine {
    /// How often an attempt that waits for a named limit asks again.
    static let limitPollInterval: TimeInterval = 0.05

    /// Refuses a workflow whose steps use named limits on a store that keeps none (``SagaStoreLimits``).
    func checkLimitsSupported(_ definition: SagaDefinition, sagaID: String) throws(SagaError) {
        guard !definition.limits.isEmpty, !(store is any SagaStoreLimits) else { return }
        throw SagaError(
            .invalidArgument,
            "workflow \(definition.reference) declares named limits, which this store does not keep; "
                + "nothing was journaled",
            sagaID: sagaID
        )
    }

    /// The slot holder of an attempt of `step` in `phase`: one attempt of a step and phase runs at a time.
    static func limitHolder(step: String, phase: StepPhase) -> String { "\(step)/\(phase.rawValue)" }

    /// Takes a slot of the step's limit for an attempt about to start, or queues for one. Waiting is not an
    /// attempt: nothing is journaled, and the step's timeout does not run.
    ///
    /// - Returns: Whether the attempt may start (always, for a step without a limit).
    ///
    /// A slot an ended attempt of the saga held is handed over when nobody waits for the limit and it has no rate
    /// (``LimitSlotRows``): no write. Otherwise the kept slot is freed first and the store asked, in order.
    func acquireLimit(
        for step: SagaStep, phase: StepPhase, definition: SagaDefinition, sagaID: String, rows: inout LimitSlotRows
    ) async throws -> Bool {
        guard let request = limitRequest(for: step, phase: phase, definition: definition, sagaID: sagaID),
            let store = store as? any SagaStoreLimits
        else { return true }
        // A slot granted while the saga was parked.
        if takeGrant(request) {
            rows.took(request)
            return true
        }
        // Its row is another attempt's now: wait for that attempt to end (its row is then handed over).
        if rows.collides(request) { return false }
        if rows.hasKept(request.name), request.limit.rate == nil,
            try await !store.limitHasWaiters(request.name, now: now()), rows.handOver(to: request)
        {
            return true
        }
        for row in rows.takeKept(name: request.name) {
            await releaseSlot(row.name, sagaID: sagaID, holder: row.holder)
        }
        guard try await store.acquire(request, now: now()) else { return false }
        rows.took(request)
        return true
    }

    /// An attempt ended: its slot is kept for the saga's next attempt of the limit (``freeKeptSlots``).
    func keepSlot(of plan: AttemptPlan, in rows: inout LimitSlotRows) {
        rows.ended(holder: Self.limitHolder(step: plan.step.name, phase: plan.phase))
    }

    /// Frees the slots of ended attempts that no attempt took over; those of a saga that is `ending` (its next
    /// write makes it terminal) are left to that write on a store that frees them there (`freesSlotsAtEnd`). A
    /// slot that is not freed (the worker died) lives only as long as the saga's lease.
    func freeKeptSlots(_ rows: inout LimitSlotRows, sagaID: String, ending: Bool) async {
        let kept = rows.takeKept()
        guard !kept.isEmpty else { return }
        if ending, (store as? any SagaStoreLimits)?.freesSlotsAtEnd == true { return }
        for row in kept { await releaseSlot(row.name, sagaID: sagaID, holder: row.holder) }
    }

    /// Frees a slot of limit `name`, and asks the parked sagas that wait for it again.
    func releaseSlot(_ name: String, sagaID: String, holder: String) async {
        guard let store = store as? any SagaStoreLimits else { return }
        do {
            try await store.release(limit: name, sagaID: sagaID, holder: holder)
        } catch {
            logger.warning(
                "cannot free a slot of limit \(name): \(error); it is freed when the lease ends",
                metadata: ["saga.id": "\(sagaID)"]
            )
        }
        slotFreed(limit: name)
    }
}

extension SagaEngine {
    /// The limits a saga's attempts wait for, for `saga show`: asked of the store only for a runnable saga whose
    /// workflow declares limits.
    func limitWaits(of record: SagaRecord) async throws -> [String] {
        guard record.status.isRunnable, record.damage == nil, let store = store as? any SagaStoreLimits,
            let definition = try? definition(of: record), !definition.limits.isEmpty
        else { return [] }
        return try await store.limitWaits(sagaID: record.id, now: now())
    }
}
