public import Foundation

/// The progress of one step, derived from the journal.
public struct StepState: Sendable, Hashable {
    public let name: String
    /// Forward attempts started.
    public internal(set) var attempts = 0
    public internal(set) var compensationAttempts = 0
    public internal(set) var probeAttempts = 0
    /// The attempt in flight: journaled as started, with no outcome yet.
    public internal(set) var inFlight: (phase: StepPhase, attempt: Int)? {
        get { inFlightPhase.map { ($0, inFlightAttempt) } }
        set {
            inFlightPhase = newValue?.phase
            inFlightAttempt = newValue?.attempt ?? 0
        }
    }
    private var inFlightPhase: StepPhase?
    private var inFlightAttempt = 0

    public internal(set) var succeeded = false
    /// The step failed for good: no more forward attempts.
    public internal(set) var failedForGood = false
    /// Some attempt ended with an unknown outcome that no probe has settled: the step may have taken effect.
    public internal(set) var unresolvedUnknown = false
    /// The last attempt's outcome is unknown and the step has a probe to settle it.
    public internal(set) var needsProbe = false
    /// The probe could not settle the outcome within its attempts.
    public internal(set) var probeExhausted = false
    public internal(set) var compensated = false
    public internal(set) var compensationExhausted = false
    /// The earliest the next attempt (of whichever phase is due) may start.
    public internal(set) var notBefore: Date?
    public internal(set) var output: JSONValue?
    public internal(set) var lastError: String?
    /// The journal number of the event after which the step may have taken effect: compensation runs in the
    /// reverse order of these.
    public internal(set) var completionSeq: Int?
    /// A person did by hand what the compensation should have done.
    public internal(set) var compensationSkipped = false
    /// The input an operator gave when retrying after an intervention; templates of this step read it instead of
    /// the saga's input.
    public internal(set) var inputOverride: JSONValue?
    /// Attempts of each phase that were interrupted: their worker stopped before their outcome was journaled, and
    /// the worker that took over journaled them as such (`SagaEvent.isInterruption`). They do not use up the retry
    /// policy's attempts: an orchestrator crash is not the step's failure.
    public internal(set) var interruptions = 0
    public internal(set) var compensationInterruptions = 0
    public internal(set) var probeInterruptions = 0
    /// The phase whose attempts were interrupted `SagaStateMachine.maxInterruptions` times since the step's last
    /// intervention (a step that keeps killing its worker): the saga waits for a person.
    public internal(set) var interruptedTooOften: StepPhase?
    // Attempt counts at the last retry granted by an intervention, and how many attempts that retry allows
    // (`nil`: the retry policy's maxAttempts).
    var attemptBase = 0
    var attemptBudget: Int?
    var compensationAttemptBase = 0
    var compensationBudget: Int?
    var probeAttemptBase = 0
    var probeBudget: Int?
    // Interruption counts at the step's last intervention: the cap counts from there.
    var interruptionBase = 0
    var compensationInterruptionBase = 0
    var probeInterruptionBase = 0
    /// The attempt that is waiting for its signal (its `step.waiting` is journaled), and until when: see
    /// `SagaStateMachine+Waits.swift`.
    public internal(set) var waitingAttempt: Int?
    public internal(set) var waitingUntil: Date?
    /// A signal journaled for the attempt in flight before its action's call returned: applied when it does.
    public internal(set) var earlySignal: SagaEvent?

    init(name: String) { self.name = name }

    /// Whether the step's action may have taken effect (it succeeded, or an outcome stayed unknown).
    public var mayHaveTakenEffect: Bool { succeeded || unresolvedUnknown }

    /// A one-word status for people and `saga show --json`.
    public var status: String {
        if compensated { return compensationSkipped ? "compensation_skipped" : "compensated" }
        if compensationExhausted { return "compensation_failed" }
        if waitingAttempt != nil { return "waiting" }
        if let f = inFlight {
            switch f.phase {
            case .action: return "running"
            case .compensation: return "compensating"
            case .probe: return "probing"
            }
        }
        if compensationAttempts > 0 { return "compensating" }
        if succeeded { return "succeeded" }
        if failedForGood { return unresolvedUnknown ? "unknown" : "failed" }
        if needsProbe { return "probing" }
        if attempts > 0 { return "retrying" }
        return "pending"
    }

    public static func == (a: StepState, b: StepState) -> Bool {
        a.name == b.name && a.attempts == b.attempts && a.compensationAttempts == b.compensationAttempts
            && a.probeAttempts == b.probeAttempts && a.inFlightPhase == b.inFlightPhase
            && a.inFlightAttempt == b.inFlightAttempt && a.succeeded == b.succeeded
            && a.failedForGood == b.failedForGood && a.unresolvedUnknown == b.unresolvedUnknown
            && a.needsProbe == b.needsProbe && a.compensated == b.compensated
            && a.compensationExhausted == b.compensationExhausted && a.notBefore == b.notBefore
            && a.output == b.output && a.lastError == b.lastError && a.completionSeq == b.completionSeq
            && a.probeExhausted == b.probeExhausted && a.compensationSkipped == b.compensationSkipped
            && a.inputOverride == b.inputOverride && a.attemptBase == b.attemptBase
            && a.attemptBudget == b.attemptBudget && a.compensationAttemptBase == b.compensationAttemptBase
            && a.compensationBudget == b.compensationBudget && a.probeAttemptBase == b.probeAttemptBase
            && a.probeBudget == b.probeBudget && a.interruptions == b.interruptions
            && a.compensationInterruptions == b.compensationInterruptions
            && a.probeInterruptions == b.probeInterruptions && a.interruptedTooOften == b.interruptedTooOften
            && a.interruptionBase == b.interruptionBase
            && a.compensationInterruptionBase == b.compensationInterruptionBase
            && a.probeInterruptionBase == b.probeInterruptionBase
            && a.waitingAttempt == b.waitingAttempt && a.waitingUntil == b.waitingUntil
            && a.earlySignal == b.earlySignal
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(attempts)
        hasher.combine(compensationAttempts)
    }
}
