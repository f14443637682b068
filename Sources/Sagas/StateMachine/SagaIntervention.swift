public import Foundation

/// A point where the saga waits for a person (or the reconciliation job): opened by `saga.needs_intervention`,
/// settled by `intervention.resolved`.
public struct SagaIntervention: Sendable, Hashable {
    /// `SAGA#SEQ`: the saga and the number of the event that opened it. Stable across restarts.
    public var id: String
    public var sagaID: String
    public var step: String
    public var phase: StepPhase
    public var reason: String
    public var openedAt: Date
    /// The number of the `saga.needs_intervention` event.
    public var seq: Int
    /// How it was settled (`retry`, `skip`, `abandon`), by whom, when and why; `nil` while open.
    public var resolution: Resolution?

    public struct Resolution: Sendable, Hashable {
        public var action: String
        public var by: String
        public var note: String?
        public var at: Date
    }

    public var isOpen: Bool { resolution == nil }

    /// What an operator can do about it.
    public var actions: [String] { ["retry", "skip", "abandon"] }
}
