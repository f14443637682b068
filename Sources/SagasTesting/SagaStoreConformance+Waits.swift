import Foundation
public import Sagas

// The `SagaStoreWaits` contract (issue 20): waiting sagas hold no lease, are not claimed before their wake time,
// and a signal (`appendUnowned`) or a cancel request makes one runnable at once. A store that does not adopt
// `SagaStoreWaits` fails these checks.
extension SagaStoreConformance {
    static let waitChecks: [Check] = [
        Check(name: "releaseWaiting hands a saga back until its wake time", body: releaseWaitingUntilWakeTime),
        Check(name: "a signal or a cancel request wakes a waiting saga", body: signalOrCancelWakes),
    ]

    private static func waits(_ store: any SagaStore) throws -> any SagaStoreWaits {
        guard let waits = store as? any SagaStoreWaits else {
            throw ConformanceFailure(check: "waits", message: "the store does not adopt SagaStoreWaits")
        }
        return waits
    }

    /// Claims `id` for `owner` and appends one started step, as a worker does before its step waits.
    private static func claimAndStart(_ store: any SagaStore, _ id: String, owner: String, now: Int) async throws {
        guard try await store.claim(sagaID: id, owner: owner, now: F.time(now), leaseUntil: F.time(now + 60_000)) != nil
        else { throw ConformanceViolation(message: "claim of \(id) failed") }
        let last = try await mustFind(store, id).lastSeq
        try await store.append(
            [SagaEvent(seq: last + 1, at: F.time(now), type: .stepStarted, step: "charge", attempt: 1)],
            sagaID: id, owner: owner, progress: SagaProgress(status: .running, currentStep: "charge"),
            leaseUntil: F.time(now + 60_000)
        )
    }

    static func releaseWaitingUntilWakeTime(_ store: any SagaStore) async throws {
        let waits = try waits(store)
        try await createSagas(store, count: 2)
        try await claimAndStart(store, "s-0", owner: "w1", now: 10)
        try expect(
            !(try await waits.releaseWaiting(sagaID: "s-0", owner: "w2", wakeAt: F.time(1_000))),
            "releaseWaiting by a worker that does not hold the saga changed it")
        try expect(
            try await waits.releaseWaiting(sagaID: "s-0", owner: "w1", wakeAt: F.time(1_000)),
            "releaseWaiting by the holder was refused")
        let waiting = try await mustFind(store, "s-0")
        try expectEqual(waiting.status, .waiting, "status after releaseWaiting")
        try expect(waiting.owner == nil && waiting.leaseExpiresAt == nil, "a waiting saga still has a lease")
        try expectEqual(try await waits.wakeTime(sagaID: "s-0"), F.time(1_000), "wakeTime")
        try expectEqual(try await waits.wakeTime(sagaID: "s-1"), nil, "wakeTime of a saga that does not wait")
        try expectEqual(try await store.countByStatus()[.waiting], 1, "countByStatus of waiting sagas")
        try expectEqual(
            try await store.list(SagaQuery(statuses: [.waiting])).map(\.id), ["s-0"], "list --status waiting")
        try expect(try await store.leasedSagas(limit: 10).isEmpty, "leasedSagas lists a waiting saga")
        try expect(
            try await store.claim(sagaID: "s-0", owner: "w2", now: F.time(500), leaseUntil: F.time(600)) == nil,
            "claim took a waiting saga before its wake time")
        let early = try await store.claimNext(owner: "w2", now: F.time(500), leaseUntil: F.time(50_000), limit: 10)
        try expectEqual(early.map(\.id), ["s-1"], "claimNext before the wake time")
        let due = try await store.claimNext(owner: "w3", now: F.time(1_000), leaseUntil: F.time(2_000), limit: 10)
        try expectEqual(due.map(\.id), ["s-0"], "claimNext at the wake time")
        try expectEqual(due.first?.status, .running, "the status of a woken saga")
        try expectEqual(due.first?.owner, "w3", "the owner of a woken saga")
        try expectEqual(try await waits.wakeTime(sagaID: "s-0"), nil, "wakeTime after waking")
    }

    static func signalOrCancelWakes(_ store: any SagaStore) async throws {
        let waits = try waits(store)
        try await createSagas(store, count: 3)
        for id in ["s-0", "s-1", "s-2"] {
            try await claimAndStart(store, id, owner: "w1", now: 10)
            _ = try await waits.releaseWaiting(sagaID: id, owner: "w1", wakeAt: F.time(1_000_000))
        }
        // A signal: a compare-and-set write by no worker, with status running.
        let last = try await mustFind(store, "s-0").lastSeq
        try await store.appendUnowned(
            [SagaEvent(seq: last + 1, at: F.time(100), type: .stepSignalled, step: "charge", attempt: 1, output: [:])],
            sagaID: "s-0", expectedLastSeq: last, progress: SagaProgress(status: .running), now: F.time(100)
        )
        try expectEqual(try await mustFind(store, "s-0").status, .running, "status after a signal")
        // A cancel request.
        let cancelled = try await store.requestCancel(sagaID: "s-1", reason: "stop", at: F.time(100))
        try expectEqual(cancelled.status, .running, "status after a cancel request of a waiting saga")
        let claimed = try await store.claimNext(owner: "w2", now: F.time(200), leaseUntil: F.time(900), limit: 10)
        try expectEqual(Set(claimed.map(\.id)), ["s-0", "s-1"], "claimNext after a signal and a cancel")
        // A saga with a cancel request is not handed back to wait.
        try expect(
            !(try await waits.releaseWaiting(sagaID: "s-1", owner: "w2", wakeAt: F.time(1_000_000))),
            "releaseWaiting of a saga with a cancel request")
        try expectEqual(try await mustFind(store, "s-2").status, .waiting, "the other saga still waits")
    }
}
