public import Foundation

/// A saga's progress as a pure state machine: journal events in, decisions out.
///
/// The live engine and recovery both fold the journal through it, so a saga resumed after a crash makes exactly
/// the decisions the first worker would have made. It does no I/O and reads no clock: `decide(now:)` takes the time.
public struct SagaStateMachine: Sendable {
    public let sagaID: String
    public let definition: SagaDefinition
    public internal(set) var status: SagaStatus = .pending
    public private(set) var input: JSONValue = .null
    /// Step states in definition order.
    public internal(set) var steps: [StepState]
    public private(set) var lastSeq = 0
    public private(set) var cancelReason: String?
    /// Why the saga is compensating or needs intervention.
    public private(set) var reason: String?
    /// The step (and phase) an intervention is needed for.
    public private(set) var interventionStep: String?
    public private(set) var pivotSucceeded = false
    /// Every intervention the saga has had, oldest first; the last is open while the status is `needs_intervention`.
    public private(set) var interventions: [SagaIntervention] = []
    /// The status the saga had when its open intervention opened (where a retry or skip returns it).
    private var statusBeforeIntervention: SagaStatus = .running
    private var abandoned = false

    let index: [String: Int]

    public init(sagaID: String, definition: SagaDefinition) {
        self.sagaID = sagaID
        self.definition = definition
        self.steps = definition.steps.map { StepState(name: $0.name) }
        var index: [String: Int] = [:]
        for (i, s) in definition.steps.enumerated() { index[s.name] = i }
        self.index = index
    }

    /// How many attempts of one step and phase may be interrupted (their worker stopped before the outcome was
    /// journaled) before the saga stops in `needs_intervention`: a step that keeps killing its worker. Interrupted
    /// attempts do not count against the retry policy's `maxAttempts`; this cap counts them separately, from the
    /// step's last intervention. It never makes the saga compensate.
    public static let maxInterruptions = 10

    /// The idempotency key of every attempt of a step's phase: the same on each retry and after a restart.
    public static func idempotencyKey(sagaID: String, step: String, phase: StepPhase) -> String {
        "\(sagaID)/\(step)/\(phase.rawValue)"
    }

    public func state(of step: String) -> StepState? {
        index[step].map { steps[$0] }
    }

    /// Outputs of the steps that succeeded, by name (what templates see).
    public var outputs: [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for s in steps where s.succeeded {
            result[s.name] = s.output ?? .null
        }
        return result
    }

    /// Attempts journaled as started with no outcome.
    public var attemptsInFlight: [(step: String, phase: StepPhase, attempt: Int)] {
        steps.compactMap { s in s.inFlight.map { (s.name, $0.phase, $0.attempt) } }
    }

    // MARK: Applying events

    /// Folds one event into the state.
    ///
    /// - Throws: `.corruptJournal` when the event does not follow (a gap in numbering, an unknown step, an outcome
    ///   for an attempt that is not in flight, a transition the machine does not allow).
    public mutating func apply(_ event: SagaEvent) throws(SagaError) {
        guard event.seq == lastSeq + 1 else {
            throw corrupt(event, "expected event \(lastSeq + 1)")
        }
        if status.isTerminal {
            throw corrupt(event, "the saga is already \(status.rawValue)")
        }
        switch event.type {
        case .sagaStarted:
            guard lastSeq == 0 else { throw corrupt(event, "saga.started must be the first event") }
            input = event.data?["input"] ?? .null
        case .cancelRequested:
            cancelReason = event.error ?? "cancelled"
        case .sagaCompensating:
            guard status == .pending || status == .running else { throw corrupt(event, "cannot compensate from \(status.rawValue)") }
            guard !pivotSucceeded else { throw corrupt(event, "cannot compensate after the pivot succeeded") }
            status = .compensating
            reason = event.error
            abandonWaits(seq: event.seq)
        case .sagaCompleted:
            guard steps.allSatisfy(\.succeeded) else { throw corrupt(event, "not every step succeeded") }
            status = .completed
        case .sagaCompensated:
            guard status == .compensating, compensationQueue.isEmpty else {
                throw corrupt(event, "compensations are still pending")
            }
            status = .compensated
        case .sagaNeedsIntervention:
            guard status.isRunnable, let step = event.step, index[step] != nil else {
                throw corrupt(event, "an intervention needs a running saga and one of its steps")
            }
            statusBeforeIntervention = status == .pending ? .running : status
            status = .needsIntervention
            reason = event.error
            interventionStep = step
            let phase = event.data?["phase"]?.stringValue.flatMap(StepPhase.init(rawValue:)) ?? .action
            interventions.append(
                SagaIntervention(
                    id: "\(sagaID)#\(event.seq)",
                    sagaID: sagaID,
                    step: step,
                    phase: phase,
                    reason: event.error ?? "",
                    openedAt: event.at,
                    seq: event.seq
                )
            )
        case .interventionResolved:
            try resolveIntervention(event)
        case .sagaFailed:
            guard status == .needsIntervention, abandoned else {
                throw corrupt(event, "a saga fails only when an operator abandons it")
            }
            status = .failed
            reason = event.error
        case .stepReused:
            let i = try stepIndex(event)
            guard status == .pending || status == .running, steps[i].attempts == 0, !steps[i].succeeded else {
                throw corrupt(event, "a step is reused only before anything else happened to it")
            }
            for dep in definition.steps[i].after where !(state(of: dep)?.succeeded ?? false) {
                throw corrupt(event, "it depends on '\(dep)', which has not succeeded")
            }
            markSucceeded(i, output: event.output, seq: event.seq)
        case .sagaTerminated:
            if var open = openIntervention {
                open.resolution = SagaIntervention.Resolution(
                    action: "terminate",
                    by: event.data?["by"]?.stringValue ?? "unknown",
                    note: event.error,
                    at: event.at
                )
                interventions[interventions.count - 1] = open
            }
            status = .failed
            reason = event.error
        case .stepStarted, .compensationStarted, .probeStarted:
            let phase: StepPhase =
                event.type == .stepStarted ? .action : event.type == .compensationStarted ? .compensation : .probe
            try startAttempt(event, phase: phase)
        case .stepSucceeded, .stepFailed, .stepUnknown:
            try finishForward(event)
        case .probeHappened, .probeNotHappened, .probeFailed:
            try finishProbe(event)
        case .compensationSucceeded, .compensationFailed, .compensationUnknown:
            try finishCompensation(event)
        case .stepWaiting:
            try beginWait(event)
        case .stepSignalled:
            try applySignal(event)
        case .stepWaitTimedOut, .stepTimerFired:
            try endWait(event)
        }
        lastSeq = event.seq
    }

    /// The intervention waiting for a person, if any.
    public var openIntervention: SagaIntervention? {
        guard status == .needsIntervention, let last = interventions.last, last.isOpen else { return nil }
        return last
    }

    private mutating func resolveIntervention(_ event: SagaEvent) throws(SagaError) {
        guard status == .needsIntervention, var open = openIntervention, !abandoned else {
            throw corrupt(event, "no intervention is open")
        }
        guard event.step == open.step, let i = index[open.step] else {
            throw corrupt(event, "the open intervention is for step '\(open.step)'")
        }
        let action = event.data?["action"]?.stringValue ?? ""
        let budget = event.data?["attempts"]?.intValue
        // A person looked at the step: the interruption cap counts afresh from here.
        steps[i].interruptedTooOften = nil
        steps[i].interruptionBase = steps[i].interruptions
        steps[i].compensationInterruptionBase = steps[i].compensationInterruptions
        steps[i].probeInterruptionBase = steps[i].probeInterruptions
        switch (action, open.phase) {
        case ("retry", .compensation):
            steps[i].compensationExhausted = false
            steps[i].compensationAttemptBase = steps[i].compensationAttempts
            steps[i].compensationBudget = budget
            steps[i].notBefore = nil
            if let input = event.data?["input"] { steps[i].inputOverride = input }
        case ("retry", .action):
            steps[i].failedForGood = false
            steps[i].attemptBase = steps[i].attempts
            steps[i].attemptBudget = budget
            steps[i].notBefore = nil
            if let input = event.data?["input"] { steps[i].inputOverride = input }
        case ("retry", .probe):
            steps[i].failedForGood = false
            steps[i].probeExhausted = false
            steps[i].needsProbe = true
            steps[i].probeAttemptBase = steps[i].probeAttempts
            steps[i].probeBudget = budget
            steps[i].notBefore = nil
        case ("skip", .compensation):
            steps[i].compensated = true
            steps[i].compensationSkipped = true
            steps[i].compensationExhausted = false
            steps[i].notBefore = nil
        case ("skip", .action), ("skip", .probe):
            steps[i].failedForGood = false
            markSucceeded(i, output: event.data?["output"], seq: event.seq)
        case ("abandon", _):
            abandoned = true
        default:
            throw corrupt(event, "unknown resolution '\(action)' (expected retry, skip or abandon)")
        }
        open.resolution = SagaIntervention.Resolution(
            action: action,
            by: event.data?["by"]?.stringValue ?? "unknown",
            note: event.data?["note"]?.stringValue,
            at: event.at
        )
        interventions[interventions.count - 1] = open
        if !abandoned {
            status = statusBeforeIntervention
            interventionStep = nil
        }
    }

    func corrupt(_ event: SagaEvent, _ message: String) -> SagaError {
        let on = event.step.map { " (step \($0))" } ?? ""
        return SagaError(
            .corruptJournal,
            "saga \(sagaID): event \(event.seq) \(event.type.rawValue)\(on) does not replay: \(message)",
            sagaID: sagaID,
            step: event.step
        )
    }

    func stepIndex(_ event: SagaEvent) throws(SagaError) -> Int {
        guard let name = event.step, let i = index[name] else {
            throw corrupt(event, "no such step in the saga's definition")
        }
        return i
    }

    private mutating func startAttempt(_ event: SagaEvent, phase: StepPhase) throws(SagaError) {
        let i = try stepIndex(event)
        guard steps[i].inFlight == nil else { throw corrupt(event, "an attempt is already in flight") }
        let attempt = event.attempt ?? 0
        switch phase {
        case .action:
            guard status == .pending || status == .running else {
                throw corrupt(event, "a forward step cannot start while the saga is \(status.rawValue)")
            }
            guard !steps[i].succeeded, !steps[i].failedForGood, attempt == steps[i].attempts + 1 else {
                throw corrupt(event, "attempt \(attempt) is out of order")
            }
            for dep in definition.steps[i].after where !(state(of: dep)?.succeeded ?? false) {
                throw corrupt(event, "it depends on '\(dep)', which has not succeeded")
            }
            steps[i].attempts = attempt
            status = .running
        case .probe:
            guard steps[i].needsProbe, attempt == steps[i].probeAttempts + 1 else {
                throw corrupt(event, "no probe is due")
            }
            steps[i].probeAttempts = attempt
            status = status == .pending ? .running : status
        case .compensation:
            guard status == .compensating, attempt == steps[i].compensationAttempts + 1 else {
                throw corrupt(event, "compensation attempt \(attempt) is out of order")
            }
            steps[i].compensationAttempts = attempt
        }
        steps[i].inFlight = (phase, attempt)
    }

    private mutating func finishForward(_ event: SagaEvent) throws(SagaError) {
        let i = try stepIndex(event)
        guard let f = steps[i].inFlight, f.phase == .action, event.attempt == nil || event.attempt == f.attempt else {
            throw corrupt(event, "no attempt of the action is in flight")
        }
        steps[i].inFlight = nil
        let step = definition.steps[i]
        switch event.type {
        case .stepSucceeded:
            markSucceeded(i, output: event.output, seq: event.seq)
        case .stepFailed:
            steps[i].lastError = event.error
            if event.retryable == false || forwardExhausted(i) {
                steps[i].failedForGood = true
                steps[i].notBefore = nil
            } else {
                steps[i].notBefore = retryTime(after: event, policy: step.retry, attempt: steps[i].attempts, step: step.name, phase: .action)
            }
        default:  // unknown outcome
            steps[i].lastError = event.error
            steps[i].unresolvedUnknown = true
            steps[i].completionSeq = event.seq
            if event.isInterruption {
                steps[i].interruptions += 1
                if steps[i].interruptions - steps[i].interruptionBase >= SagaStateMachine.maxInterruptions {
                    steps[i].interruptedTooOften = .action
                }
            }
            if step.probe != nil {
                // A fresh probe for each unknown outcome, with the step's whole retry budget.
                steps[i].needsProbe = true
                steps[i].probeAttempts = 0
                steps[i].probeAttemptBase = 0
                steps[i].probeBudget = nil
                steps[i].probeInterruptions = 0
                steps[i].probeInterruptionBase = 0
                steps[i].notBefore = event.at
            } else if forwardExhausted(i) {
                steps[i].failedForGood = true
                steps[i].notBefore = nil
            } else {
                steps[i].notBefore = retryTime(after: event, policy: step.retry, attempt: steps[i].attempts, step: step.name, phase: .action)
            }
        }
    }

    private mutating func finishProbe(_ event: SagaEvent) throws(SagaError) {
        let i = try stepIndex(event)
        guard let f = steps[i].inFlight, f.phase == .probe else { throw corrupt(event, "no probe is in flight") }
        steps[i].inFlight = nil
        let step = definition.steps[i]
        switch event.type {
        case .probeHappened:
            markSucceeded(i, output: event.output, seq: event.seq)
        case .probeNotHappened:
            steps[i].needsProbe = false
            steps[i].unresolvedUnknown = false
            steps[i].completionSeq = nil
            if forwardExhausted(i) {
                steps[i].failedForGood = true
                steps[i].notBefore = nil
            } else {
                steps[i].notBefore = retryTime(after: event, policy: step.retry, attempt: steps[i].attempts, step: step.name, phase: .action)
            }
        default:
            steps[i].lastError = event.error.map { "probe: \($0)" } ?? steps[i].lastError
            if event.isInterruption {
                steps[i].probeInterruptions += 1
                if steps[i].probeInterruptions - steps[i].probeInterruptionBase >= SagaStateMachine.maxInterruptions {
                    steps[i].interruptedTooOften = .probe
                }
            }
            let used = steps[i].probeAttempts - steps[i].probeAttemptBase
                - (steps[i].probeInterruptions - steps[i].probeInterruptionBase)
            if used >= (steps[i].probeBudget ?? step.retry.maxAttempts) {
                steps[i].needsProbe = false
                steps[i].probeExhausted = true
                steps[i].failedForGood = true
                steps[i].notBefore = nil
            } else {
                steps[i].notBefore = retryTime(after: event, policy: step.retry, attempt: steps[i].probeAttempts, step: step.name, phase: .probe)
            }
        }
    }

    private mutating func finishCompensation(_ event: SagaEvent) throws(SagaError) {
        let i = try stepIndex(event)
        guard let f = steps[i].inFlight, f.phase == .compensation else {
            throw corrupt(event, "no compensation attempt is in flight")
        }
        steps[i].inFlight = nil
        let step = definition.steps[i]
        switch event.type {
        case .compensationSucceeded:
            steps[i].compensated = true
            steps[i].notBefore = nil
        default:
            steps[i].lastError = event.error
            let permanent = event.type == .compensationFailed && event.retryable == false
            if event.isInterruption {
                steps[i].compensationInterruptions += 1
                if steps[i].compensationInterruptions - steps[i].compensationInterruptionBase
                    >= SagaStateMachine.maxInterruptions
                {
                    steps[i].interruptedTooOften = .compensation
                }
            }
            let used = steps[i].compensationAttempts - steps[i].compensationAttemptBase
                - (steps[i].compensationInterruptions - steps[i].compensationInterruptionBase)
            if permanent || used >= (steps[i].compensationBudget ?? step.compensationRetry.maxAttempts) {
                steps[i].compensationExhausted = true
                steps[i].notBefore = nil
            } else {
                steps[i].notBefore = retryTime(
                    after: event,
                    policy: step.compensationRetry,
                    attempt: steps[i].compensationAttempts,
                    step: step.name,
                    phase: .compensation
                )
            }
        }
    }

    /// The step took effect (its action succeeded, its probe found the effect, or a person did it by hand).
    mutating func markSucceeded(_ i: Int, output: JSONValue?, seq: Int) {
        steps[i].succeeded = true
        steps[i].unresolvedUnknown = false
        steps[i].needsProbe = false
        steps[i].probeExhausted = false
        if steps[i].interruptedTooOften != .compensation { steps[i].interruptedTooOften = nil }
        steps[i].output = output ?? .null
        steps[i].completionSeq = seq
        steps[i].notBefore = nil
        if definition.steps[i].kind == .pivot { pivotSucceeded = true }
    }

    /// Whether the step used up its attempts: those since its last intervention, less the interrupted ones.
    func forwardExhausted(_ i: Int) -> Bool {
        let used = steps[i].attempts - steps[i].attemptBase - (steps[i].interruptions - steps[i].interruptionBase)
        return used >= (steps[i].attemptBudget ?? definition.steps[i].retry.maxAttempts)
    }

    func retryTime(after event: SagaEvent, policy: RetryPolicy, attempt: Int, step: String, phase: StepPhase) -> Date {
        let unit = SagaStateMachine.jitterUnit(sagaID: sagaID, step: step, phase: phase, attempt: attempt)
        var millis = SagaDuration.milliseconds(policy.delay(afterAttempt: attempt, unit: unit))
        if let after = event.retryAfterMs { millis = max(millis, Int64(after)) }
        return event.at.addingTimeInterval(Double(millis) / 1000)
    }

    /// A number in `0..<1` derived from the attempt, so that backoff jitter replays identically.
    static func jitterUnit(sagaID: String, step: String, phase: StepPhase, attempt: Int) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(sagaID)|\(step)|\(phase.rawValue)|\(attempt)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Double(hash >> 11) / Double(1 << 53)
    }

    // MARK: Deciding

    /// Steps to compensate, next first: those that may have taken effect and have a compensation, in reverse order
    /// of completion, not yet compensated.
    public var compensationQueue: [String] {
        steps.enumerated()
            .filter { i, s in
                s.mayHaveTakenEffect && !s.compensated && definition.steps[i].kind == .compensable
                    && definition.steps[i].compensation != nil
            }
            .sorted { ($0.element.completionSeq ?? 0) > ($1.element.completionSeq ?? 0) }
            .map(\.element.name)
    }

    /// What to do next, given the time. Empty when the saga is waiting for attempts in flight, or is done.
    public func decide(now: Date) -> [SagaDecision] {
        switch status {
        case .completed, .compensated, .failed, .needsIntervention:
            return []
        case .waiting:
            return decideForward(now: now)
        case .compensating:
            return decideCompensation(now: now)
        case .pending, .running:
            return decideForward(now: now)
        }
    }

    private func decideForward(now: Date) -> [SagaDecision] {
        if let cancelReason, !pivotSucceeded {
            return [.beginCompensation(reason: "cancelled: \(cancelReason)")]
        }
        // A step that failed for good decides the saga's fate: once no attempt whose outcome could change that
        // decision is still in flight. An intervention waits for every attempt (its outcome must be journaled
        // before the saga stops); compensation waits for a pivot in flight (if the pivot succeeds, the saga can no
        // longer be undone); other attempts in flight finish during compensation and are undone first.
        let anyInFlight = steps.contains { $0.inFlight != nil }
        let pivotInFlight = steps.enumerated().contains { i, s in
            s.inFlight != nil && definition.steps[i].kind == .pivot
        }
        // A step whose attempts keep being interrupted (it may be what kills its worker) waits for a person, once
        // every attempt in flight is journaled: never compensated because of it.
        for s in steps {
            guard let phase = s.interruptedTooOften, phase != .compensation else { continue }
            if anyInFlight { return [] }
            return [.needIntervention(step: s.name, phase: phase, reason: Self.interruptedReason(s, phase))]
        }
        for (i, s) in steps.enumerated() where s.failedForGood {
            if anyInFlight && (pivotSucceeded || s.probeExhausted || pivotInFlight
                || (definition.steps[i].kind == .pivot && s.unresolvedUnknown))
            {
                return []
            }
            let step = definition.steps[i]
            let error = s.lastError ?? "failed"
            if s.probeExhausted {
                return [.needIntervention(step: s.name, phase: .probe, reason: "the outcome of step '\(s.name)' is unknown and its probe could not settle it: \(error)")]
            }
            if pivotSucceeded {
                return [.needIntervention(step: s.name, phase: .action, reason: "step '\(s.name)' failed after the pivot: \(error)")]
            }
            if step.kind == .pivot && s.unresolvedUnknown {
                return [.needIntervention(step: s.name, phase: .action, reason: "the outcome of pivot step '\(s.name)' is unknown: \(error)")]
            }
            return [.beginCompensation(reason: "step '\(s.name)' failed: \(error)")]
        }
        if steps.allSatisfy(\.succeeded) {
            return [.complete]
        }
        var decisions: [SagaDecision] = []
        var wake: Date?
        if let waits = waitDecisions(now: now) {
            decisions.append(contentsOf: waits.decisions)
            wake = waits.wake
        }
        for (i, s) in steps.enumerated() where !s.succeeded && s.inFlight == nil && s.waitingAttempt == nil {
            let step = definition.steps[i]
            if s.attempts == 0 {
                let ready = step.after.allSatisfy { state(of: $0)?.succeeded ?? false }
                if ready { decisions.append(.startAttempt(step: s.name, phase: .action, attempt: 1)) }
                continue
            }
            let due = s.notBefore ?? now
            if due > now {
                wake = min(wake ?? due, due)
                continue
            }
            if s.needsProbe {
                decisions.append(.startAttempt(step: s.name, phase: .probe, attempt: s.probeAttempts + 1))
            } else {
                decisions.append(.startAttempt(step: s.name, phase: .action, attempt: s.attempts + 1))
            }
        }
        if let wake { decisions.append(.wake(at: wake)) }
        return decisions
    }

    private static func interruptedReason(_ s: StepState, _ phase: StepPhase) -> String {
        let what = phase == .action ? "step '\(s.name)'" : "the \(phase.rawValue) of step '\(s.name)'"
        return "\(what) was interrupted \(maxInterruptions) times (its worker stopped before each attempt's outcome "
            + "was journaled; the step may be what kills it): \(s.lastError ?? "interrupted")"
    }

    private func decideCompensation(now: Date) -> [SagaDecision] {
        // Wait for forward attempts still in flight: their steps complete later, so they are undone first.
        if steps.contains(where: { $0.inFlight != nil && $0.inFlight?.phase != .compensation }) { return [] }
        guard let next = compensationQueue.first, let i = index[next] else {
            return [.finishCompensated]
        }
        let s = steps[i]
        if s.inFlight != nil { return [] }
        if let phase = s.interruptedTooOften, phase != .action {
            return [.needIntervention(step: next, phase: phase, reason: Self.interruptedReason(s, phase))]
        }
        // The step's outcome is unknown and it has a probe: ask it first. It can tell that the effect happened (and
        // supply the output the compensation reads), or that it did not (then there is nothing to undo). A journal
        // that already began compensating the step goes on as it was written.
        if s.unresolvedUnknown, definition.steps[i].probe != nil, s.compensationAttempts == 0 {
            if s.probeExhausted {
                return [.needIntervention(step: next, phase: .probe, reason: "the outcome of step '\(next)' is unknown and its probe could not settle it: \(s.lastError ?? "failed")")]
            }
            if s.needsProbe {
                if let due = s.notBefore, due > now { return [.wake(at: due)] }
                return [.startAttempt(step: next, phase: .probe, attempt: s.probeAttempts + 1)]
            }
        }
        if s.compensationExhausted {
            return [.needIntervention(step: next, phase: .compensation, reason: "compensation of step '\(next)' failed: \(s.lastError ?? "failed")")]
        }
        if let due = s.notBefore, due > now, s.compensationAttempts > 0 {
            return [.wake(at: due)]
        }
        return [.startAttempt(step: next, phase: .compensation, attempt: s.compensationAttempts + 1)]
    }
}
