import Foundation
import Sagas
import SagasTesting
import Testing

@Suite(.timeLimit(.minutes(1)))
struct MemoryStoreConformanceTests {
    @Test(arguments: SagaStoreConformance.checkNames)
    func conformance(check: String) async throws {
        try await SagaStoreConformance.check(check) { MemorySagaStore() }
    }

    @Test func everyCheckAtOnce() async throws {
        try await SagaStoreConformance.check { MemorySagaStore() }
    }

    /// The suite must be able to fail: a store that ignores leases does not pass it.
    @Test func aStoreThatIgnoresLeasesFails() async throws {
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await SagaStoreConformance.check { LeaseIgnoringStore() }
        }
        #expect(failure?.message.contains("leaseLost") == true || failure?.message.contains("lease") == true)
    }

    @Test func anUnknownCheckNameFails() async throws {
        await #expect(throws: ConformanceFailure.self) {
            try await SagaStoreConformance.check("no such check") { MemorySagaStore() }
        }
    }
}

/// A broken store: `append` takes the lease from whoever holds it instead of refusing with `.leaseLost`.
private struct LeaseIgnoringStore: SagaStore {
    let base = MemorySagaStore()

    func append(_ events: [SagaEvent], sagaID: String, owner: String, progress: SagaProgress, leaseUntil: Date)
        async throws
    {
        _ = try await base.claim(sagaID: sagaID, owner: owner, now: .distantFuture, leaseUntil: leaseUntil)
        try await base.append(events, sagaID: sagaID, owner: owner, progress: progress, leaseUntil: leaseUntil)
    }

    func create(_ saga: SagaRecord, events: [SagaEvent]) async throws -> SagaCreation {
        try await base.create(saga, events: events)
    }
    func claim(sagaID: String, owner: String, now: Date, leaseUntil: Date) async throws -> SagaRecord? {
        try await base.claim(sagaID: sagaID, owner: owner, now: now, leaseUntil: leaseUntil)
    }
    func claimNext(owner: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [SagaRecord] {
        try await base.claimNext(owner: owner, now: now, leaseUntil: leaseUntil, limit: limit)
    }
    func takeOver(sagaID: String, from previousOwner: String, owner: String, leaseUntil: Date) async throws -> Bool {
        try await base.takeOver(sagaID: sagaID, from: previousOwner, owner: owner, leaseUntil: leaseUntil)
    }
    func appendUnowned(
        _ events: [SagaEvent],
        sagaID: String,
        expectedLastSeq: Int,
        progress: SagaProgress,
        now: Date
    ) async throws {
        try await base.appendUnowned(events, sagaID: sagaID, expectedLastSeq: expectedLastSeq, progress: progress, now: now)
    }
    func renewLeases(sagaIDs: [String], owner: String, leaseUntil: Date) async throws -> [SagaRecord] {
        try await base.renewLeases(sagaIDs: sagaIDs, owner: owner, leaseUntil: leaseUntil)
    }
    func release(sagaID: String, owner: String) async throws {
        try await base.release(sagaID: sagaID, owner: owner)
    }
    func requestCancel(sagaID: String, reason: String, at: Date) async throws -> SagaRecord {
        try await base.requestCancel(sagaID: sagaID, reason: reason, at: at)
    }
    func saga(id: String) async throws -> SagaRecord? { await base.saga(id: id) }
    func events(sagaID: String) async throws -> [SagaEvent] { await base.events(sagaID: sagaID) }
    func list(_ query: SagaQuery) async throws -> [SagaRecord] { try await base.list(query) }
    func countByStatus() async throws -> [SagaStatus: Int] { await base.countByStatus() }
    func leasedSagas(limit: Int) async throws -> [SagaRecord] { await base.leasedSagas(limit: limit) }
}
