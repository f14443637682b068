public import Foundation

/// A store that keeps waiting sagas without a lease: an optional capability that every store of this package has.
///
/// A saga whose every path that can run is waiting (for a signal, a wait's deadline, a timer) is handed back with
/// `releaseWaiting`: it gets the status `waiting`, no owner, and a wake time, kept in an index of waiting sagas
/// only. `claimNext` first makes the waiting sagas whose wake time has come runnable again (`running`); a signal
/// (`appendUnowned` with status `running`) and a cancel request (`requestCancel`) make one runnable at once. A
/// waiting saga thus costs one index row, and no worker.
public protocol SagaStoreWaits: SagaStore {
    /// Gives up `owner`'s lease on a runnable saga and marks it `waiting` until `wakeAt`. Returns `false`, and
    /// changes nothing, when `owner` does not hold the saga or a cancel has been requested.
    func releaseWaiting(sagaID: String, owner: String, wakeAt: Date) async throws -> Bool

    /// The wake time of a waiting saga (`nil` when it is not waiting).
    func wakeTime(sagaID: String) async throws -> Date?
}
