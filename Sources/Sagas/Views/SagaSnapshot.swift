public import Foundation

/// A saga's record, its journal, and the state derived from it.
public struct SagaSnapshot: Sendable {
    public var record: SagaRecord
    public var events: [SagaEvent]
    /// `nil` when the journal does not replay against the pinned definition.
    public var state: SagaStateMachine?
    /// The ids of the sagas that rerun this one (`saga rerun`), newest first.
    public var reruns: [String] = []
    /// Why the journal does not replay (`state` is `nil`), naming the saga; `nil` when it replays.
    public var journalError: String? = nil
    /// The saga's exclusive keys, each with the saga that holds it (empty when it has none, or is terminal).
    public var keys: [SagaKeyHold] = []
    /// The named limits the saga's attempts wait for now (a slot, or the rate).
    public var limitWaits: [String] = []
}
