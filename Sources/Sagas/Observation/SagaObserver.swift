public import Foundation

/// Sees what an engine journaled, after it is durable: metrics, tracing and live views attach here.
///
/// The engine calls ``observe(_:)`` synchronously, in the task that wrote, right after the store acknowledged the
/// write (never before: an observer never sees an event that is not committed). Observers are best effort: they
/// must return quickly and must not throw or block on I/O (hand work to a task of your own), and a crash between the
/// commit and the call loses the notice, never the event. Reading the journal (`SagaStore.events`) stays the way to
/// see every event exactly; publishing them reliably reads the journal past a durable position (an outbox), not this call.
public protocol SagaObserver: Sendable {
    func observe(_ notice: SagaNotice)
}

/// One durable write by an engine, or a lease it took.
public struct SagaNotice: Sendable {
    public enum Kind: String, Sendable, Hashable {
        /// A new saga was journaled (by `start`, `execute` or `rerun`), with its first events.
        case created
        /// Events were appended by the worker that holds the saga's lease.
        case appended
        /// Events were appended to a saga nobody held: an operator's resolution or termination.
        case appendedUnowned
        /// This engine took a saga's lease to run it (no events).
        case claimed
        /// This engine took over a saga from a worker that is gone (no events).
        case takenOver
    }

    public var kind: Kind
    public var sagaID: String
    public var workflow: String
    public var version: Int
    /// The events written, in order (empty for claims and take-overs).
    public var events: [SagaEvent]
    /// The saga's status after the write.
    public var status: SagaStatus
    /// When the saga was created (saga durations are measured from it).
    public var createdAt: Date
    /// For a claim: when the saga last made progress (or was created), so `at - runnableSince` is how long it
    /// waited for a worker.
    public var runnableSince: Date?
    /// How long the store took to commit the write (or to take the lease).
    public var duration: Duration
    /// When the write was acknowledged.
    public var at: Date
    /// The worker (or operator) that wrote.
    public var by: String

    public init(
        kind: Kind,
        sagaID: String,
        workflow: String,
        version: Int,
        events: [SagaEvent],
        status: SagaStatus,
        createdAt: Date,
        runnableSince: Date? = nil,
        duration: Duration,
        at: Date,
        by: String
    ) {
        self.kind = kind
        self.sagaID = sagaID
        self.workflow = workflow
        self.version = version
        self.events = events
        self.status = status
        self.createdAt = createdAt
        self.runnableSince = runnableSince
        self.duration = duration
        self.at = at
        self.by = by
    }
}
