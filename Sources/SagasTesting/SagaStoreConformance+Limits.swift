import Foundation
import Sagas

// Named limits and more exclusive-key checks: run against a store that adopts `SagaStoreLimits` (or
// `SagaStoreExclusiveKeys`); others pass them (the engine refuses such workflows there). Limits use the wall clock:
// a store may stamp grants with its own clock (PostgreSQL uses the server's, shared by every node).
extension SagaStoreConformance {
    static let limitChecks: [Check] = [
        Check(name: "limits: concurrency, first come first served, slots live with the lease", body: limitConcurrency),
        Check(name: "limits: a rate's sliding window", body: limitRate),
        Check(name: "limits: concurrent acquires never over-grant", body: limitConcurrentAcquires),
        Check(name: "limits: parked requests asked together, first come first served", body: limitBatch),
        Check(name: "exclusive keys: createLeased takes free keys or writes nothing", body: keysCreateLeased),
        Check(name: "exclusive keys: concurrent creators in opposite key orders", body: keysConcurrentCreators),
    ]

    /// Creates pending sagas and claims them for `owner` until a minute from now.
    private static func claimed(_ store: any SagaStore, _ ids: [String], owner: String) async throws {
        for (i, id) in ids.enumerated() {
            _ = try await F.create(F.record(id: id, createdAt: F.time(i)), in: store)
            let lease = try await store.claim(
                sagaID: id, owner: owner, now: Date(), leaseUntil: Date().addingTimeInterval(60))
            try expect(lease != nil, "saga \(id) could not be claimed")
        }
    }

    private static func request(_ id: String, _ limit: SagaLimit, owner: String = "w1", holder: String = "charge/action")
        -> SagaLimitRequest
    {
        SagaLimitRequest(name: "payments", limit: limit, sagaID: id, holder: holder, owner: owner)
    }

    static func limitConcurrency(_ store: any SagaStore) async throws {
        guard let limits = store as? any SagaStoreLimits else { return }
        let two = SagaLimit(concurrency: 2)
        try await claimed(store, ["l-1", "l-2", "l-3", "l-4", "l-5"], owner: "w1")
        let granted = [
            try await limits.acquire(request("l-1", two), now: Date()),
            try await limits.acquire(request("l-2", two), now: Date()),
            try await limits.acquire(request("l-3", two), now: Date()),
            try await limits.acquire(request("l-4", two), now: Date()),
        ]
        try expectEqual(granted, [true, true, false, false], "a concurrency of 2 grants two slots")
        let usage = try await limits.limitUsage(now: Date())
        try expectEqual(usage.map { "\($0.name) \($0.inFlight)/\($0.waiting)" }, ["payments 2/2"], "limitUsage")
        try expectEqual(try await limits.limitWaits(sagaID: "l-3", now: Date()), ["payments"], "limitWaits")

        try await limits.release(limit: "payments", sagaID: "l-1", holder: "charge/action")
        try expect(
            try await !limits.acquire(request("l-4", two), now: Date()), "a later waiter took the slot of an earlier one")
        try expect(try await limits.acquire(request("l-3", two), now: Date()), "the first waiter gets the free slot")
        try expectEqual(try await limits.limitWaits(sagaID: "l-3", now: Date()), [], "a granted request waits no more")
        try expect(try await !limits.acquire(request("l-4", two), now: Date()), "a full limit granted a third slot")

        // l-2's lease ends: its slot is free without a release.
        try await store.release(sagaID: "l-2", owner: "w1")
        try expect(try await limits.acquire(request("l-4", two), now: Date()), "a slot of a released lease stays held")
        // l-3's lease passes to another worker: the slot its first owner took is free.
        try expect(try await store.takeOver(sagaID: "l-3", from: "w1", owner: "w2",
            leaseUntil: Date().addingTimeInterval(60)), "takeOver")
        try expect(try await limits.acquire(request("l-5", two), now: Date()), "a slot of a passed-on lease stays held")
        try expect(
            try await !limits.acquire(request("l-3", two, owner: "w2", holder: "refund/compensation"), now: Date()),
            "a full limit granted a slot to a new owner")
        let after = try await limits.limitUsage(now: Date())
        try expectEqual(after.map { "\($0.name) \($0.inFlight)/\($0.waiting)" }, ["payments 2/1"], "limitUsage after")
    }

    static func limitRate(_ store: any SagaStore) async throws {
        guard let limits = store as? any SagaStoreLimits else { return }
        let rate = SagaRate(count: 2, period: .seconds(1))
        let limit = SagaLimit(rate: rate)
        try await claimed(store, ["r-1", "r-2", "r-3"], owner: "w1")
        var granted: [Bool] = []
        for id in ["r-1", "r-2", "r-3"] {
            granted.append(try await limits.acquire(request(id, limit), now: Date()))
        }
        try expectEqual(granted, [true, true, false], "a rate of 2/s grants two starts at once")
        // Releasing a slot does not give back a start: the window does.
        try await limits.release(limit: "payments", sagaID: "r-1", holder: "charge/action")
        try expect(try await !limits.acquire(request("r-3", limit), now: Date()), "a release gave back a start")
        try await Task.sleep(for: .milliseconds(Int(rate.windowMilliseconds) + 80))
        try expect(try await limits.acquire(request("r-3", limit), now: Date()), "the window passed, and no start")
    }

    static func limitConcurrentAcquires(_ store: any SagaStore) async throws {
        guard let limits = store as? any SagaStoreLimits else { return }
        let three = SagaLimit(concurrency: 3)
        let ids = (0..<24).map { "c-\($0)" }
        try await claimed(store, ids, owner: "w1")
        let granted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for id in ids {
                group.addTask { try await limits.acquire(request(id, three), now: Date()) }
            }
            var count = 0
            for try await ok in group where ok { count += 1 }
            return count
        }
        try expectEqual(granted, 3, "24 concurrent acquires of a concurrency of 3: slots granted")
    }

    static func keysCreateLeased(_ store: any SagaStore) async throws {
        guard let keyed = store as? any SagaStoreExclusiveKeys, let leasing = store as? any SagaStoreCreatingLeased
        else { return }
        var first = F.record(id: "held", input: ["n": "held"], createdAt: F.time(0))
        first.exclusiveKeys = ["account:1"]
        _ = try await store.create(first, events: [F.started(first)])
        var busy = F.record(id: "busy", input: ["n": "busy"], createdAt: F.time(1))
        busy.exclusiveKeys = ["account:2", "account:1"]
        try await expectError(.keyBusy, "createLeased of a saga whose key is held") {
            _ = try await leasing.createLeased(busy, events: [F.started(busy)], owner: "w1",
                progress: SagaProgress(status: .running), leaseUntil: F.time(60_000))
        }
        try expect(try await store.saga(id: "busy") == nil, "a createLeased refused for a busy key wrote the saga")
        try expectEqual(try await keyed.keys(of: "busy").count, 0, "a refused createLeased queued the saga")
        var free = F.record(id: "free", input: ["n": "free"], createdAt: F.time(2))
        free.exclusiveKeys = ["account:2"]
        let creation = try await leasing.createLeased(free, events: [F.started(free)], owner: "w1",
            progress: SagaProgress(status: .running), leaseUntil: F.time(60_000))
        try expectEqual(creation.record.owner, "w1", "createLeased with free keys leases the saga")
        try expectEqual(
            try await keyed.keys(of: "free").map { "\($0.key)=\($0.holder)" }, ["account:2=free"],
            "createLeased with free keys holds them")
        var later = F.record(id: "later", input: ["n": "later"], createdAt: F.time(3))
        later.exclusiveKeys = ["account:2"]
        _ = try await store.create(later, events: [F.started(later)])
        let next = try await store.claimNext(owner: "w2", now: F.time(100), leaseUntil: F.time(60_000), limit: 10)
        try expectEqual(next.map(\.id), ["held"], "a saga queued behind a leased creation waits")
    }

    static func keysConcurrentCreators(_ store: any SagaStore) async throws {
        guard let keyed = store as? any SagaStoreExclusiveKeys else { return }
        let count = 16
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                group.addTask {
                    var record = F.record(id: "ab-\(i)", input: ["n": .integer(i)], createdAt: F.time(i))
                    record.exclusiveKeys = i % 2 == 0 ? ["A", "B"] : ["B", "A"]
                    _ = try await store.create(record, events: [F.started(record)])
                }
            }
            try await group.waitForAll()
        }
        let holders = try await keyed.keyHolders(limit: 10)
        try expectEqual(holders.map(\.waiting), [count - 1, count - 1], "every saga queues behind the holder")
        try expectEqual(Set(holders.map(\.hold.holder)).count, 1, "one saga holds both keys")
        var finished = 0
        while finished < count {
            let batch = try await store.claimNext(owner: "w1", now: F.time(100), leaseUntil: F.time(60_000), limit: 5)
            try expectEqual(batch.count, 1, "sagas that share two keys run one at a time (after \(finished))")
            let saga = batch[0]
            try await store.append(
                [SagaEvent(seq: saga.lastSeq + 1, at: F.time(200), type: .sagaCompleted)],
                sagaID: saga.id, owner: "w1", progress: SagaProgress(status: .completed), leaseUntil: F.time(60_000))
            finished += 1
        }
        try expectEqual(try await keyed.keyHolders(limit: 10).count, 0, "every key is free at the end")
    }
}
