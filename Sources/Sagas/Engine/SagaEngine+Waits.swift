public import Foundation
import Logging
import Synchronization

// Steps that wait, in the engine: callback tokens, journaling the start and end of a wait, handing a waiting saga
// back to the store, and signals.
extension SagaEngine {
    /// A fresh callback token: 128 random bits from the system's generator, as 32 hexadecimal digits. One per
    /// attempt of a step with `await`; it cannot be derived from the saga's id.
    static func makeWaitToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let a = generator.next() as UInt64
        let b = generator.next() as UInt64
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex(a) + hex(b)
    }

    /// The `data` of a `step.started` event for an attempt of `step` in `phase`, and the attempt's token.
    static func startData(step: SagaStep, phase: StepPhase) -> (data: JSONValue?, token: String?) {
        guard phase == .action, step.awaits != nil else { return (nil, nil) }
        let token = makeWaitToken()
        return (.object([SagaEvent.waitTokenKey: .string(token)]), token)
    }

    /// When an action's call of a step that waits returned successfully: journals `step.waiting` instead of
    /// `step.succeeded` and returns `true`.
    func journalWaitBegins(
        _ result: AttemptResult,
        into journal: inout JournalBuffer,
        machine: inout SagaStateMachine
    ) throws -> Bool {
        let plan = result.plan
        guard plan.phase == .action, let awaits = plan.step.awaits, case .success(let output) = result.outcome else {
            return false
        }
        let until = (journal.now()).addingTimeInterval(Double(SagaDuration.milliseconds(awaits.timeout)) / 1000)
        try journal.emit(
            &machine, .stepWaiting, step: plan.step.name, attempt: plan.attempt, output: output,
            durationMs: result.durationMs,
            data: [
                "timeoutMs": .integer(Int(SagaDuration.milliseconds(awaits.timeout))),
                "until": .string(SagaTime.format(until)),
            ]
        )
        return true
    }

    /// Journals the end of a wait whose deadline passed.
    func journalWaitEnds(
        step: String,
        attempt: Int,
        definition: SagaDefinition,
        into journal: inout JournalBuffer,
        machine: inout SagaStateMachine,
        logger: Logger
    ) throws {
        guard let s = definition.step(named: step) else { return }
        if s.action.kind.isTimer {
            try journal.emit(&machine, .stepTimerFired, step: step, attempt: attempt)
            return
        }
        let timeout = s.awaits.map { SagaDuration.format($0.timeout) } ?? "its timeout"
        let message = "no signal came within \(timeout)"
        try journal.emit(&machine, .stepWaitTimedOut, step: step, attempt: attempt, error: message, retryable: true)
        journal.lastError = "\(step): \(message)"
        logger.warning("wait timed out", metadata: ["saga.step": "\(step)", "attempt": "\(attempt)"])
    }

    /// When nothing is in flight and some step waits: hands the saga back to the store as `waiting` until
    /// `wakeAt` (the earliest deadline or retry), so that it holds no lease and no worker slot. Returns `false`
    /// when the store cannot (it keeps no wake times, or a cancel request came): the drive then keeps the lease.
    func releaseToWait(sagaID: String, machine: SagaStateMachine, wakeAt: Date, logger: Logger) async throws -> Bool {
        guard let store = store as? any SagaStoreWaits, !machine.waits.isEmpty, machine.cancelReason == nil,
            state.withLock({ $0.cancelRequests[sagaID] == nil })
        else { return false }
        guard try await store.releaseWaiting(sagaID: sagaID, owner: configuration.workerID, wakeAt: wakeAt) else {
            return false
        }
        logger.info(
            "saga waits",
            metadata: [
                "until": "\(SagaTime.format(wakeAt))",
                "saga.steps": "\(machine.waits.map(\.step).joined(separator: ","))",
            ]
        )
        return true
    }

    /// Sends a signal to a step that waits: the outcome of the work its action started.
    ///
    /// The token authorizes the signal and names the attempt; `nil` (for an operator, whom the caller has
    /// authorized) names the attempt that waits now. A signal is a compare-and-set write of the journal
    /// (`appendUnowned`) that makes the saga runnable at once; while a worker holds the saga (its action's call is
    /// still running) the signal waits up to `patience` for the lease to be released, then is refused.
    ///
    /// - Returns: `resolved`, `queued` (the attempt's call had not returned: the signal settles the step when it
    ///   does) or `duplicate` (the same outcome was already journaled for that attempt: nothing is written).
    /// - Throws: `.wrongToken` when the token belongs to no attempt of the step; `.staleSignal` when its attempt
    ///   no longer waits (it timed out, a newer attempt runs, the saga compensates or is finished), or was already
    ///   signalled with another outcome; `.invalidState` when the step does not wait for signals or a worker kept
    ///   the saga past `patience`; `.sagaNotFound`.
    @discardableResult
    public func signal(
        sagaID: String,
        step: String,
        token: String?,
        outcome: SagaSignalOutcome,
        by: String,
        patience: Duration = .seconds(10)
    ) async throws -> SagaSignalResult {
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                return try await signalOnce(sagaID: sagaID, step: step, token: token, outcome: outcome, by: by)
            } catch let error as SagaError where error.code == .invalidState && ContinuousClock.now < deadline {
                // A worker holds the saga, or someone wrote its journal first: look again.
                guard error.message.hasPrefix(Self.busyPrefix) else { throw error }
                try await clock.sleep(for: configuration.pollInterval)
            }
        }
    }

    static let busyPrefix = "busy: "

    private func signalOnce(
        sagaID: String,
        step: String,
        token: String?,
        outcome: SagaSignalOutcome,
        by: String
    ) async throws -> SagaSignalResult {
        let snapshot = try await snapshot(sagaID: sagaID)
        guard var machine = snapshot.state else {
            throw SagaError(.corruptJournal, "saga \(sagaID): its journal does not replay", sagaID: sagaID)
        }
        let events = snapshot.events
        guard let definitionStep = machine.definition.step(named: step), let state = machine.state(of: step) else {
            throw SagaError(.invalidArgument, "saga \(sagaID) has no step '\(EchoedText.clip(step))'", sagaID: sagaID)
        }
        guard definitionStep.awaits != nil else {
            throw SagaError(
                .invalidState, "step '\(step)' of saga \(sagaID) does not wait for signals (it has no 'await')",
                sagaID: sagaID, step: step)
        }
        // The attempt the token belongs to, compared in constant time against each attempt's token.
        var attempt: Int?
        if let token {
            for e in events where e.type == .stepStarted && e.step == step {
                if let t = e.data?[SagaEvent.waitTokenKey]?.stringValue, Self.sameToken(t, token) { attempt = e.attempt }
            }
        } else {
            attempt = state.waitingAttempt ?? state.inFlight.flatMap { $0.phase == .action ? $0.attempt : nil }
            if attempt == nil {
                throw SagaError(
                    .staleSignal, "step '\(step)' of saga \(sagaID) is not waiting (it is \(state.status))",
                    sagaID: sagaID, step: step)
            }
        }
        guard let attempt else {
            throw SagaError(
                .wrongToken, "the token does not belong to any attempt of step '\(step)' of saga \(sagaID)",
                sagaID: sagaID, step: step)
        }
        let fields = outcome.fields
        if let earlier = events.first(where: { $0.type == .stepSignalled && $0.step == step && $0.attempt == attempt }) {
            if earlier.output == fields.output && earlier.error == fields.error && earlier.retryable == fields.retryable {
                return SagaSignalResult(disposition: "duplicate", attempt: attempt, seq: earlier.seq, record: snapshot.record)
            }
            if attempt < state.attempts {
                throw SagaError(
                    .staleSignal,
                    "attempt \(attempt) of step '\(step)' of saga \(sagaID) no longer waits: attempt "
                        + "\(state.attempts) replaced it", sagaID: sagaID, step: step)
            }
            throw SagaError(
                .staleSignal,
                "attempt \(attempt) of step '\(step)' of saga \(sagaID) was already signalled at "
                    + "\(SagaTime.format(earlier.at)) with another outcome",
                sagaID: sagaID, step: step)
        }
        let waiting = state.waitingAttempt == attempt
        let inFlight = state.inFlight.map { $0.phase == .action && $0.attempt == attempt } ?? false
        guard waiting || inFlight, !snapshot.record.status.isTerminal else {
            let why: String
            if let ended = events.last(where: { $0.type == .stepWaitTimedOut && $0.step == step && $0.attempt == attempt }) {
                why = "its wait timed out at \(SagaTime.format(ended.at))"
            } else if attempt < state.attempts {
                why = "attempt \(state.attempts) replaced it"
            } else {
                why = "the step is \(state.status) and the saga \(snapshot.record.status.rawValue)"
            }
            throw SagaError(
                .staleSignal, "attempt \(attempt) of step '\(step)' of saga \(sagaID) no longer waits: \(why)",
                sagaID: sagaID, step: step)
        }
        let record = snapshot.record
        if let owner = record.owner, let until = record.leaseExpiresAt, until > now() {
            throw SagaError(
                .invalidState,
                "\(Self.busyPrefix)worker \(owner) is running saga \(sagaID) (the call of step '\(step)' has not "
                    + "returned, or another path is running); try again",
                sagaID: sagaID, step: step)
        }
        let at = now()
        let event = SagaEvent(
            seq: machine.lastSeq + 1, at: at, type: .stepSignalled, step: step, attempt: attempt,
            output: fields.output, error: fields.error, retryable: fields.retryable, data: ["by": .string(by)]
        )
        let expected = machine.lastSeq
        try machine.apply(event)
        let status: SagaStatus = machine.status == .pending ? .running : machine.status
        let began = ContinuousClock.now
        do {
            try await store.appendUnowned(
                [event],
                sagaID: sagaID,
                expectedLastSeq: expected,
                progress: SagaProgress(
                    status: status, currentStep: record.currentStep,
                    lastError: fields.error.map { "\(step): \($0)" } ?? record.lastError),
                now: at
            )
        } catch let error as SagaError where error.code == .invalidState {
            // A worker took the saga, or wrote its journal, since it was read.
            throw SagaError(.invalidState, Self.busyPrefix + error.message, sagaID: sagaID, step: step)
        }
        notify(.appendedUnowned, record, events: [event], status: status, since: began, by: by)
        logger.notice(
            "step signalled",
            metadata: ["saga.id": "\(sagaID)", "saga.step": "\(step)", "attempt": "\(attempt)", "by": "\(by)"]
        )
        guard let updated = try await store.saga(id: sagaID) else { throw SagaError.notFound(sagaID) }
        return SagaSignalResult(disposition: waiting ? "resolved" : "queued", attempt: attempt, seq: event.seq, record: updated)
    }

    /// Compares two tokens in time that depends only on their lengths.
    static func sameToken(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

extension SagaEngine {
    /// Journals the start of a durable timer (`sleep`, `sleepUntil`), whose `step.started` was just emitted:
    /// `step.waiting` until its time, or `step.failed` (permanent) when its template gives no duration or time.
    /// A time already past ends the wait at the next decision.
    func journalTimerBegins(
        _ step: SagaStep,
        attempt: Int,
        record: SagaRecord,
        into journal: inout JournalBuffer,
        machine: inout SagaStateMachine
    ) throws {
        let started = journal.now()
        let deadline: Date
        do {
            let resolved = try Template.resolve(
                step.action.spec,
                in: Template.Context(
                    input: machine.state(of: step.name)?.inputOverride ?? machine.input,
                    outputs: machine.outputs,
                    sagaID: record.id,
                    workflow: record.workflow,
                    environment: configuration.environment,
                    step: step.name,
                    phase: .action
                )
            )
            deadline = try SagaTimer.deadline(kind: step.action.kind, spec: resolved.value, now: started)
        } catch {
            let message = "saga \(record.id), step \(step.name): \(error.message)"
            try journal.emit(&machine, .stepFailed, step: step.name, attempt: attempt, error: message, retryable: false)
            journal.lastError = "\(step.name): \(message)"
            return
        }
        let ms = max(0, SagaTime.milliseconds(deadline) - SagaTime.milliseconds(started))
        try journal.emit(
            &machine, .stepWaiting, step: step.name, attempt: attempt,
            output: ["until": .string(SagaTime.format(deadline))],
            data: ["timeoutMs": .integer(Int(ms)), "until": .string(SagaTime.format(deadline))]
        )
    }
}
