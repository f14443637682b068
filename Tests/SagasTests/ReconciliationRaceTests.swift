import Foundation
import Sagas
import SagasTesting
import Synchronization
import Testing

/// Issue 14, item 1: the reconciliation job inside a worker resolved an intervention as "retry by reconciliation",
/// which leaves the saga runnable with no lease holder, and then drove it itself while a slot of the same worker
/// had claimed it too. Both wrote under the worker's one lease: an attempt's outcome was lost, the saga was parked
/// ("event N does not follow event N"), with no open intervention and no way out for an operator.
@Suite(.timeLimit(.minutes(1)))
struct ReconciliationRaceTests {
    typealias S = TestSupport
    typealias I = InterventionTests

    /// A saga whose compensation of b failed twice: it waits for a person (or the reconciliation job).
    static func parkedOnACompensation(_ engine: SagaEngine, _ recorder: HandlerRecorder, id: String) async throws {
        I.register(engine, recorder)
        let record = try await engine.execute(I.definition(), input: I.input, id: id)
        #expect(record.status == .needsIntervention)
    }

    /// Once the cause is fixed: b's compensation succeeds, after `entered` fires and `gate` opens.
    static func fixedUndo(_ engine: SagaEngine, _ recorder: HandlerRecorder, entered: TestSignal, gate: TestSignal) {
        engine.register(
            handler: "b.undo",
            recorder.recording("b.undo") { _ in
                entered.fire()
                await gate.wait()
                return ["undone": "b"]
            }
        )
    }

    @Test func theReconciliationJobDoesNotDriveASagaThatItsOwnWorkerDrives() async throws {
        let store = ObservedStore()
        let engine = I.engine(store: store)
        let recorder = HandlerRecorder()
        try await Self.parkedOnACompensation(engine, recorder, id: "race")
        let (entered, gate) = (TestSignal(), TestSignal())
        Self.fixedUndo(engine, recorder, entered: entered, gate: gate)
        let worker = Task { try await engine.run() }
        // What a reconciliation pass does: resolve as the job (the saga is runnable, with no lease holder)...
        try await engine.resolve(
            "race", .retry(input: nil, attempts: 1), by: SagaEngine.reconciliationActor, note: "automatic retry 1 of 3"
        )
        // ...a slot of the worker claims it and runs the compensation...
        #expect(await entered.wait(timeout: .seconds(30)))
        // ...and the job drives it: it must wait for the slot, not claim the saga under the same lease.
        let (reads, claims) = (store.reads("race"), store.claims("race"))
        let driven = Task { try await engine.run(sagaID: "race") }
        #expect(await S.eventually { store.claims("race") > claims || store.reads("race") >= reads + 3 })
        gate.fire()
        let record = try await driven.value
        engine.beginShutdown()
        try await worker.value

        let events = try await store.events(sagaID: "race")
        #expect(record.status == .compensated, "\(S.trace(events)) \(record.lastError ?? "")")
        #expect(store.claims("race") == claims, "the job claimed a saga its own worker drove")
        #expect(events.filter(\.isInterruption).isEmpty, "an attempt's outcome was lost: \(S.trace(events))")
        #expect(recorder.invocations(of: "b.undo").count == 3, "two failures, then one retry")
        try await I.checkJournal(engine, "race")
        let report = try await JournalChecker(requireEffectForEverySuccess: false).check(store: store)
        #expect(report.violations.isEmpty, "\(report)")
    }

    /// Two engines configured with one worker id (a misconfiguration the store's lease cannot see): the drive whose
    /// write the store refuses stops as after a lost lease; it does not park a saga whose journal is sound.
    @Test func aDriveWhoseJournalMovedUnderItsLeaseStopsWithoutParkingTheSaga() async throws {
        let store = MemorySagaStore()
        let first = I.engine(store: store, workerID: "same:1:1")
        let second = I.engine(store: store, workerID: "same:1:1")
        let recorder = HandlerRecorder()
        try await Self.parkedOnACompensation(first, recorder, id: "twin")
        I.register(second, recorder)
        try await first.resolve("twin", .retry(input: nil, attempts: 1), by: "alice", note: "fixed the refund API")
        let (entered1, gate1, entered2, gate2) = (TestSignal(), TestSignal(), TestSignal(), TestSignal())
        Self.fixedUndo(first, recorder, entered: entered1, gate: gate1)
        Self.fixedUndo(second, recorder, entered: entered2, gate: gate2)
        let one = Task { try await first.run(sagaID: "twin") }
        #expect(await entered1.wait(timeout: .seconds(30)))
        // The same owner claims it again, journals the first attempt as interrupted and starts another.
        let two = Task { try await second.run(sagaID: "twin") }
        #expect(await entered2.wait(timeout: .seconds(30)))
        gate1.fire()
        let error = await #expect(throws: SagaError.self) { try await one.value }
        #expect(error?.code == .leaseLost, "\(error?.message ?? "")")
        #expect(try await store.saga(id: "twin")?.status == .compensating, "not parked")
        gate2.fire()
        let record = try await two.value
        let events = try await store.events(sagaID: "twin")
        #expect(record.status == .compensated, "\(S.trace(events)) \(record.lastError ?? "")")
        try await I.checkJournal(second, "twin")
    }
}

/// A memory store that counts, per saga, `saga(id:)` reads and `claim` calls.
final class ObservedStore: SagaStore {
    let base = MemorySagaStore()
    private let counts = Mutex<[String: (reads: Int, claims: Int)]>([:])

    func reads(_ id: String) -> Int { counts.withLock { $0[id]?.reads ?? 0 } }
    func claims(_ id: String) -> Int { counts.withLock { $0[id]?.claims ?? 0 } }

    func saga(id: String) async throws -> SagaRecord? {
        counts.withLock { $0[id, default: (0, 0)].reads += 1 }
        return await base.saga(id: id)
    }
    func claim(sagaID: String, owner: String, now: Date, leaseUntil: Date) async throws -> SagaRecord? {
        counts.withLock { $0[sagaID, default: (0, 0)].claims += 1 }
        return try await base.claim(sagaID: sagaID, owner: owner, now: now, leaseUntil: leaseUntil)
    }
    func create(_ saga: SagaRecord, events: [SagaEvent]) async throws -> SagaCreation {
        try await base.create(saga, events: events)
    }
    func claimNext(owner: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [SagaRecord] {
        try await base.claimNext(owner: owner, now: now, leaseUntil: leaseUntil, limit: limit)
    }
    func takeOver(sagaID: String, from previousOwner: String, owner: String, leaseUntil: Date) async throws -> Bool {
        try await base.takeOver(sagaID: sagaID, from: previousOwner, owner: owner, leaseUntil: leaseUntil)
    }
    func append(_ events: [SagaEvent], sagaID: String, owner: String, progress: SagaProgress, leaseUntil: Date)
        async throws
    {
        try await base.append(events, sagaID: sagaID, owner: owner, progress: progress, leaseUntil: leaseUntil)
    }
    func appendUnowned(_ events: [SagaEvent], sagaID: String, expectedLastSeq: Int, progress: SagaProgress, now: Date)
        async throws
    {
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
    func events(sagaID: String) async throws -> [SagaEvent] { await base.events(sagaID: sagaID) }
    func list(_ query: SagaQuery) async throws -> [SagaRecord] { try await base.list(query) }
    func countByStatus() async throws -> [SagaStatus: Int] { await base.countByStatus() }
    func leasedSagas(limit: Int) async throws -> [SagaRecord] { await base.leasedSagas(limit: limit) }
}
