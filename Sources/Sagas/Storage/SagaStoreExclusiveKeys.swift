public import Foundation

/// One of a saga's exclusive keys, and the saga that holds it.
public struct SagaKeyHold: Sendable, Hashable {
    /// The evaluated key (`account:42`).
    public var key: String
    /// The saga that queued for it.
    public var sagaID: String
    /// The saga first in the key's queue: the one that holds it (`sagaID` itself when that saga holds it).
    public var holder: String
    /// How many sagas queued for the key before `sagaID` (0: it holds the key).
    public var ahead: Int

    public init(key: String, sagaID: String, holder: String, ahead: Int) {
        self.key = key
        self.sagaID = sagaID
        self.holder = holder
        self.ahead = ahead
    }

    /// Whether `sagaID` holds the key.
    public var isHeld: Bool { holder == sagaID }
}

/// A store that keeps exclusive keys: an optional capability, which the engine needs to start a saga of a
/// workflow with `exclusive` keys.
///
/// The contract (checked by `SagaStoreConformance`):
/// - `create` of a record with `exclusiveKeys` queues the saga for each key, in the same transaction as the saga,
///   in submission order. A saga is claimable (`claim`, `claimNext`) only while it is first in the queue of every
///   one of its keys: a later saga waits, without a lease, and sagas that want the same keys in another order
///   never deadlock (the queues share one order). `claimNext` skips waiting sagas through an index.
/// - A saga leaves its queues in the transaction that makes it terminal (completed, compensated, failed),
///   whether a worker (`append`) or a person (`appendUnowned`) ends it; `needs_intervention` keeps them.
/// - `createLeased` of a saga with exclusive keys (a store that adopts both) leases it only when they are all its
///   at once; otherwise it throws `.keyBusy` and writes nothing, and the caller creates it with `create`.
public protocol SagaStoreExclusiveKeys: SagaStore {
    /// The keys a saga queued for, in its workflow's order, each with the saga that holds it; empty when the saga
    /// has none (or is terminal: its keys are released).
    func keys(of sagaID: String) async throws -> [SagaKeyHold]

    /// The keys held now (each key's first saga), with how many sagas wait behind each, most waited-for first.
    func keyHolders(limit: Int) async throws -> [(hold: SagaKeyHold, waiting: Int)]
}

/// The exclusive-key queues of a store that keeps everything in memory (``MemorySagaStore``): one order shared by
/// every key, so a saga is first in every queue it waits in or waits behind an earlier saga, never a cycle.
struct ExclusiveKeyQueues: Sendable {
    private var queues: [String: [String]] = [:]
    private var keysBySaga: [String: [String]] = [:]

    var isEmpty: Bool { keysBySaga.isEmpty }

    mutating func enqueue(_ sagaID: String, keys: [String]) {
        guard !keys.isEmpty else { return }
        keysBySaga[sagaID] = keys
        for key in keys { queues[key, default: []].append(sagaID) }
    }

    /// Whether `sagaID` may run: first in the queue of each of its keys (or has none).
    func isClear(_ sagaID: String) -> Bool {
        guard let keys = keysBySaga[sagaID] else { return true }
        return keys.allSatisfy { queues[$0]?.first == sagaID }
    }

    mutating func release(_ sagaID: String) {
        guard let keys = keysBySaga.removeValue(forKey: sagaID) else { return }
        for key in keys {
            queues[key]?.removeAll { $0 == sagaID }
            if queues[key]?.isEmpty == true { queues[key] = nil }
        }
    }

    func holds(of sagaID: String) -> [SagaKeyHold] {
        (keysBySaga[sagaID] ?? []).compactMap { key in
            guard let queue = queues[key], let holder = queue.first, let index = queue.firstIndex(of: sagaID) else {
                return nil
            }
            return SagaKeyHold(key: key, sagaID: sagaID, holder: holder, ahead: index)
        }
    }

    func holders(limit: Int) -> [(hold: SagaKeyHold, waiting: Int)] {
        let all: [(hold: SagaKeyHold, waiting: Int)] = queues.compactMap { key, queue in
            guard let holder = queue.first else { return nil }
            return (SagaKeyHold(key: key, sagaID: holder, holder: holder, ahead: 0), queue.count - 1)
        }
        let sorted = all.sorted { a, b in
            a.waiting != b.waiting ? a.waiting > b.waiting : a.hold.key < b.hold.key
        }
        return Array(sorted.prefix(max(0, limit)))
    }
}
