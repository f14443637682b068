public import Foundation

/// What the state machine asks the engine to do next.
public enum SagaDecision: Sendable, Hashable {
    /// Journal the start of an attempt, then run it.
    case startAttempt(step: String, phase: StepPhase, attempt: Int)
    /// Stop going forward and undo what may have taken effect; journal `saga.compensating` with the reason.
    case beginCompensation(reason: String)
    /// Journal `saga.completed`.
    case complete
    /// Journal `saga.compensated`.
    case finishCompensated
    /// Journal `saga.needs_intervention` for a step and phase.
    case needIntervention(step: String, phase: StepPhase, reason: String)
    /// Nothing to start before this time (a retry's backoff, a wait's deadline, a timer).
    case wake(at: Date)
    /// A waiting step reached its deadline: journal `step.wait_timed_out` (or, for a timer, `step.timer_fired`).
    case endWait(step: String, attempt: Int)
}
