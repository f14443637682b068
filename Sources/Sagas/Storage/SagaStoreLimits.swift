public import Foundation

/// One attempt that asks for a named limit (`SagaStoreLimits.acquire`).
public struct SagaLimitRequest: Sendable, Hashable {
    /// The limit's name.
    public var name: String
    /// What it allows.
    public var limit: SagaLimit
    /// The saga whose attempt asks.
    public var sagaID: String
    /// Tells the saga's attempts apart: its step and phase (`charge/action`).
    public var holder: String
    /// The worker that holds the saga's lease: a slot lives as long as that lease.
    public var owner: String

    public init(name: String, limit: SagaLimit, sagaID: String, holder: String, owner: String) {
        self.name = name
        self.limit = limit
        self.sagaID = sagaID
        self.holder = holder
        self.owner = owner
    }
}

/// How many attempts of a limit are in flight and how many wait (`saga stats`, metrics).
public struct SagaLimitUsage: Sendable, Hashable {
    public var name: String
    public var inFlight: Int
    public var waiting: Int

    public init(name: String, inFlight: Int, waiting: Int) {
        self.name = name
        self.inFlight = inFlight
        self.waiting = waiting
    }
}

/// A store that keeps named limits across every worker on it: an optional capability, which the engine needs to
/// run a workflow whose steps use limits.
///
/// The contract (checked by `SagaStoreConformance`):
/// - `acquire` grants a slot only when fewer than `concurrency` slots of the name are live, fewer than
///   `rate.count` slots were granted in the last `rate.period`, and no live waiter asked before this one (first
///   come, first served); otherwise it records the request as waiting (keeping its first request time) and
///   returns `false`. A slot or a waiter is live while the saga's lease is held by the request's owner; a
///   waiter must also ask again within `waiterTimeout`.
/// - `release` frees a slot; slots of a lease that expired or passed on are freed without it.
/// - Everything is in the database: several processes share one limit.
public protocol SagaStoreLimits: SagaStore {
    /// Takes a slot of a limit for one attempt, or queues the request.
    ///
    /// - Returns: Whether the slot was granted.
    func acquire(_ request: SagaLimitRequest, now: Date) async throws -> Bool

    /// Asks again for each of these waiting requests, in order (the parked sagas of a worker), and returns those
    /// granted. A default implementation calls `acquire` for each; a store may answer them in one transaction.
    func acquireWaiting(_ requests: [SagaLimitRequest], now: Date) async throws -> [SagaLimitRequest]

    /// Whether the engine may park sagas that wait for a limit out of its worker slots (guarantees rule 31): the
    /// parked requests are asked again every 50 ms, so only a store that answers them together cheaply
    /// (`acquireWaiting` in one transaction) says `true`. The default is `false`: a waiting attempt keeps its slot
    /// and asks on its own.
    var parksLimitWaiters: Bool { get }

    /// Whether any request waits for limit `name` now: when none does, a saga hands the slot of its ended attempt
    /// over to its next attempt of the limit without a write. A read; the default says `true` (never hand over).
    func limitHasWaiters(_ name: String, now: Date) async throws -> Bool

    /// Whether the write that makes a saga terminal (`append` with a terminal status) frees the saga's slots: the
    /// engine then leaves its last attempts' slots to that write. The default is `false`.
    var freesSlotsAtEnd: Bool { get }

    /// Frees the slot `holder` of `sagaID` holds of limit `name`, and forgets its waiting request, if any.
    func release(limit name: String, sagaID: String, holder: String) async throws

    /// The limits a saga's attempts wait for now (their names).
    func limitWaits(sagaID: String, now: Date) async throws -> [String]

    /// In-flight and waiting counts of every limit in use, by name.
    func limitUsage(now: Date) async throws -> [SagaLimitUsage]
}

extension SagaStoreLimits {
    /// `true`: a store that cannot tell cheaply never lets a slot be handed over (it is freed and asked again).
    public func limitHasWaiters(_ name: String, now: Date) async throws -> Bool { true }

    /// `false`: the engine frees each slot with `release`.
    public var freesSlotsAtEnd: Bool { false }
}

extension SagaLimitRequest {
    /// How long a waiting request stays in the queue without being asked again.
    public static let waiterTimeout: TimeInterval = 3
}

/// The limits of ``MemorySagaStore``: slots, recent grants and waiters by limit name.
struct MemoryLimitState: Sendable {
    struct Entry: Sendable {
        var sagaID: String
        var holder: String
        var owner: String
        var at: Date
        var seen: Date
    }
    var slots: [String: [Entry]] = [:]
    var grants: [String: [Date]] = [:]
    var waiters: [String: [Entry]] = [:]
}
