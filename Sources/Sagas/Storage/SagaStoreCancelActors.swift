public import Foundation

/// A store that records who asked for a cancel (`SagaRecord.cancelBy`), so that the worker journals it in
/// `saga.cancel_requested` (`data.by`) whichever process takes the request: an optional capability. With a store
/// that lacks it the request keeps its reason only, and the event has no `by`.
public protocol SagaStoreCancelActors: SagaStore {
    /// Records a request to cancel a saga, as `requestCancel(sagaID:reason:at:)` does, with who asks: the first
    /// request's reason, time and `by` are kept.
    ///
    /// - Throws: `.sagaNotFound`; `.invalidState` when the saga is already terminal.
    func requestCancel(sagaID: String, reason: String, by: String, at: Date) async throws -> SagaRecord
}
