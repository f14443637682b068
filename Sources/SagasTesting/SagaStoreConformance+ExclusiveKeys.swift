import Foundation
import Sagas

// The exclusive-key checks: run against a store that adopts `SagaStoreExclusiveKeys`; others pass them (the engine
// refuses to start a saga with exclusive keys on such a store).
extension SagaStoreConformance {
    /// Creates a saga with exclusive keys, created at `at` milliseconds.
    private static func createKeyed(_ store: any SagaStore, _ id: String, keys: [String], at: Int) async throws {
        var record = F.record(id: id, input: ["n": .string(id)], createdAt: F.time(at))
        record.exclusiveKeys = keys
        _ = try await store.create(record, events: [F.started(record)])
    }

    /// Ends a saga as `status` through `owner`'s lease.
    private static func finish(_ store: any SagaStore, _ id: String, owner: String, status: SagaStatus) async throws {
        let record = try await mustFind(store, id)
        try await store.append(
            [SagaEvent(seq: record.lastSeq + 1, at: F.time(5_000), type: status == .needsIntervention
                ? .sagaNeedsIntervention : .sagaCompleted)],
            sagaID: id, owner: owner, progress: SagaProgress(status: status), leaseUntil: F.time(9_000)
        )
    }

    static func exclusiveKeysQueueInSubmissionOrder(_ store: any SagaStore) async throws {
        guard let keyed = store as? any SagaStoreExclusiveKeys else { return }
        // k-1 and k-2 want the same account; k-3 another; k-4 both accounts, in the other order; plain wants none.
        try await createKeyed(store, "k-1", keys: ["account:1"], at: 0)
        try await createKeyed(store, "k-2", keys: ["account:1"], at: 1)
        try await createKeyed(store, "k-3", keys: ["account:2"], at: 2)
        try await createKeyed(store, "k-4", keys: ["account:2", "account:1"], at: 3)
        _ = try await F.create(F.record(id: "plain", createdAt: F.time(4)), in: store)

        let first = try await store.claimNext(owner: "w1", now: F.time(100), leaseUntil: F.time(10_000), limit: 10)
        try expectEqual(first.map(\.id), ["k-1", "k-3", "plain"], "claimNext skips sagas that wait for a key")
        try expect(
            try await store.claim(sagaID: "k-2", owner: "w2", now: F.time(100), leaseUntil: F.time(10_000)) == nil,
            "claim of a saga that waits for a key is not nil")
        let waiting = try await mustFind(store, "k-2")
        try expect(waiting.owner == nil && waiting.status == .pending, "a saga that waits for a key holds no lease")
        try expectEqual(
            try await keyed.keys(of: "k-4").map { "\($0.key)=\($0.holder)/\($0.ahead)" },
            ["account:2=k-3/1", "account:1=k-1/2"], "keys(of:) names each key's holder and how many are ahead")

        // needs_intervention keeps the key.
        try await finish(store, "k-1", owner: "w1", status: .needsIntervention)
        let parked = try await store.claimNext(owner: "w2", now: F.time(200), leaseUntil: F.time(10_000), limit: 10)
        try expectEqual(parked.map(\.id), [], "a saga in needs_intervention keeps its keys")

        // Settled by a person: the next saga in the queue may run.
        let k1 = try await mustFind(store, "k-1")
        try await store.appendUnowned(
            [SagaEvent(seq: k1.lastSeq + 1, at: F.time(6_000), type: .sagaCompensated)],
            sagaID: "k-1", expectedLastSeq: k1.lastSeq, progress: SagaProgress(status: .compensated), now: F.time(300)
        )
        try expectEqual(try await keyed.keys(of: "k-1").count, 0, "a terminal saga holds no key")
        let second = try await store.claimNext(owner: "w2", now: F.time(300), leaseUntil: F.time(10_000), limit: 10)
        try expectEqual(second.map(\.id), ["k-2"], "the next saga of the key, in submission order")

        try await finish(store, "k-3", owner: "w1", status: .completed)
        let none = try await store.claimNext(owner: "w2", now: F.time(400), leaseUntil: F.time(10_000), limit: 10)
        try expectEqual(none.map(\.id), [], "a saga waits until every one of its keys is free")
        try await finish(store, "k-2", owner: "w2", status: .completed)
        let last = try await store.claimNext(owner: "w2", now: F.time(500), leaseUntil: F.time(10_000), limit: 10)
        try expectEqual(last.map(\.id), ["k-4"], "a saga that wants two keys runs once both are free")
        let holders = try await keyed.keyHolders(limit: 10)
        try expectEqual(
            holders.map { "\($0.hold.key)=\($0.hold.holder)+\($0.waiting)" }.sorted(),
            ["account:1=k-4+0", "account:2=k-4+0"], "keyHolders")
    }
}
