import Foundation
import Logging
import Synchronization

/// Events applied to the machine but not yet journaled.
struct JournalBuffer {
    let sagaID: String
    let now: @Sendable () -> Date
    var events: [SagaEvent] = []
    /// A new saga that the first write creates (leased), instead of appending to it.
    var creating: SagaRecord?
    var currentStep: String?
    var lastError: String?
    /// The saga's record as the store now has it, kept up to date with each write: the record `execute` returns.
    var summary: SagaRecord

    init(_ record: SagaRecord, now: @escaping @Sendable () -> Date) {
        self.sagaID = record.id
        self.now = now
        self.summary = record
    }

    /// After the buffered events were written with `status`: the summary follows what the store recorded (the
    /// same rules as `SagaStore.append`: the step and error are kept unless new ones are given, a saga that is
    /// not runnable has no lease), and the buffer empties.
    mutating func written(status: SagaStatus, owner: String, leaseUntil: Date) {
        summary.status = status
        summary.currentStep = currentStep ?? summary.currentStep
        summary.lastError = lastError ?? summary.lastError
        if let last = events.last {
            summary.updatedAt = last.at
            summary.lastSeq = last.seq
        }
        summary.owner = status.isRunnable ? owner : nil
        summary.leaseExpiresAt = status.isRunnable ? leaseUntil : nil
        creating = nil
        events.removeAll(keepingCapacity: true)
        currentStep = nil
        lastError = nil
    }

    mutating func emit(
        _ machine: inout SagaStateMachine,
        _ type: SagaEventType,
        step: String? = nil,
        attempt: Int? = nil,
        output: JSONValue? = nil,
        error: String? = nil,
        retryable: Bool? = nil,
        durationMs: Int? = nil,
        retryAfterMs: Int? = nil,
        key: String? = nil,
        data: JSONValue? = nil
    ) throws(SagaError) {
        let event = SagaEvent(
            seq: machine.lastSeq + 1,
            at: now(),
            type: type,
            step: step,
            attempt: attempt,
            output: output,
            error: error,
            retryable: retryable,
            durationMs: durationMs,
            retryAfterMs: retryAfterMs,
            idempotencyKey: key,
            data: data
        )
        try machine.apply(event)
        events.append(event)
    }
}
