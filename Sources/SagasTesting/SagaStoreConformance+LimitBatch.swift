import Foundation
import Sagas

// `acquireWaiting` (a worker's parked requests asked together) and `limitHasWaiters`: first come, first served
// holds whatever order the batch names the requests in.
extension SagaStoreConformance {
    static func limitBatch(_ store: any SagaStore) async throws {
        guard let limits = store as? any SagaStoreLimits else { return }
        let one = SagaLimit(concurrency: 1)
        func request(_ id: String) -> SagaLimitRequest {
            SagaLimitRequest(name: "batch", limit: one, sagaID: id, holder: "charge/action", owner: "w1")
        }
        for (i, id) in ["b-1", "b-2", "b-3", "b-4"].enumerated() {
            _ = try await F.create(F.record(id: id, createdAt: F.time(i)), in: store)
            let lease = try await store.claim(
                sagaID: id, owner: "w1", now: Date(), leaseUntil: Date().addingTimeInterval(60))
            try expect(lease != nil, "saga \(id) could not be claimed")
        }
        try expect(try await limits.acquire(request("b-1"), now: Date()), "a free slot")
        try expect(try await !limits.acquire(request("b-2"), now: Date()), "b-2 waits")
        try expect(try await !limits.acquire(request("b-3"), now: Date()), "b-3 waits")
        try expect(try await limits.limitHasWaiters("batch", now: Date()), "limitHasWaiters with two waiting")
        var granted = try await limits.acquireWaiting([request("b-3"), request("b-2")], now: Date())
        try expectEqual(granted.map(\.sagaID), [], "a full limit granted a parked request")
        try await limits.release(limit: "batch", sagaID: "b-1", holder: "charge/action")
        granted = try await limits.acquireWaiting([request("b-3"), request("b-2")], now: Date())
        try expectEqual(granted.map(\.sagaID), ["b-2"], "the first waiter gets the slot, whatever the batch order")
        try await limits.release(limit: "batch", sagaID: "b-2", holder: "charge/action")
        granted = try await limits.acquireWaiting([request("b-4"), request("b-3")], now: Date())
        try expectEqual(granted.map(\.sagaID), ["b-3"], "a request new in the batch queues behind the earlier one")
        try expectEqual(
            try await limits.limitUsage(now: Date()).filter { $0.name == "batch" }.map { "\($0.inFlight)/\($0.waiting)" },
            ["1/1"], "one in flight, b-4 waiting")
    }
}
