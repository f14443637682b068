public import Foundation

/// What undo would do: for a saga, what would run if it were cancelled or failed now; for a workflow not yet
/// started, the forward order and what each step's failure would undo (`saga plan`). Computed from the journal
/// and the pinned definition by the same rules the state machine follows; nothing runs, nothing is written.
public struct SagaPlan: Sendable, Hashable {
    /// The saga (`nil` for a workflow's what-if plan).
    public var sagaID: String?
    /// `name@version`.
    public var workflow: String
    /// The saga's status (`pending` for a what-if plan).
    public var status: SagaStatus
    /// One sentence for people: what happens if the saga is cancelled (or fails) now.
    public var summary: String
    /// Whether a cancel would be ignored: the pivot has succeeded (or the saga is finished).
    public var cancelIgnored: Bool
    /// The compensations that would run, in the order they would run.
    public var compensations: [Compensation]
    /// Steps that would not be compensated, and why.
    public var notCompensated: [Skipped]
    /// Steps whose outcome is unknown: their probe would run first, and only an effect it finds is compensated.
    public var probedFirst: [String]
    /// Attempts in flight: they finish (and are journaled) before compensation starts, and are undone first if
    /// they took effect.
    public var inFlight: [String]
    /// What would stop the saga in `needs_intervention` instead of finishing the undo.
    public var wouldNeedIntervention: [String]
    /// For a workflow's what-if plan: the forward order, one group of steps that run in parallel per entry.
    public var forward: [[String]]
    /// For a workflow's what-if plan: for each step, what its failure (for good) would start.
    public var ifStepFails: [IfStepFails]
    /// The named limits and exclusive keys the saga needs.
    public var needs = Needs()
    /// The steps waiting now (for a signal or a timer), each with its attempt and deadline: a cancel ends each wait at
    /// once (`SagaStateMachine+Waits.swift`).
    public var waits: [Wait] = []

    /// A step that waits.
    public struct Wait: Sendable, Hashable {
        public var step: String
        public var attempt: Int
        /// `signal` or `timer`.
        public var waitsFor: String
        public var until: Date
    }

    /// A compensation that would run.
    public struct Compensation: Sendable, Hashable {
        public var step: String
        /// The key every attempt of it carries: `SAGA/STEP/compensation`.
        public var idempotencyKey: String?
        /// Its action kind (`http`, `command`, `handler`).
        public var kind: String
        /// Its specification with templates resolved and secrets (`${env.…}`) shown as `***`; templates that
        /// cannot be resolved yet (a what-if plan) are left as written.
        public var spec: JSONValue
        /// Why it could not run as it stands (a template that names a missing value), if so.
        public var problem: String?
        /// Whether it only runs if the step's probe finds the effect.
        public var ifProbeFindsEffect: Bool
    }

    /// A step that would not be compensated.
    public struct Skipped: Sendable, Hashable {
        public var step: String
        /// `never started`, `failed, no effect`, `read-only`, `no compensation`, `already compensated`, ...
        public var reason: String
    }

    /// What one step's failure would start, in a what-if plan.
    public struct IfStepFails: Sendable, Hashable {
        public var step: String
        /// `compensate`, or `needs_intervention` (the step runs after the pivot, or is the pivot with an unknown
        /// outcome).
        public var outcome: String
        /// The compensations that would run, in order (steps that must have succeeded before it).
        public var compensations: [String]
        /// Compensable steps that run in parallel with it: compensated too if they finished first.
        public var alsoIfFinished: [String]
    }
}
