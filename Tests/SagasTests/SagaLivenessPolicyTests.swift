import Foundation
import Sagas
import SagasTesting
import Testing

/// Dead-worker detection as a policy (`SagaEngine.Configuration.liveness`): the same-host process check takes a
/// killed local worker's saga over at once; `leasesOnly` waits for the lease.
@Suite(.timeLimit(.minutes(1)))
struct SagaLivenessPolicyTests {
    typealias S = TestSupport

    private func engine(_ store: MemorySagaStore, liveness: SagaLivenessPolicy?) -> SagaEngine {
        var configuration = SagaEngine.Configuration(
            workerID: "test:1:1", leaseDuration: .seconds(30), pollInterval: .milliseconds(10), environment: [:]
        )
        if let liveness { configuration.liveness = liveness }
        return SagaEngine(store: store, configuration: configuration, logger: S.logger)
    }

    /// A saga started, then claimed for 10 minutes by a worker of this machine whose process is gone.
    private func heldByADeadWorker(_ engine: SagaEngine, _ store: MemorySagaStore) async throws -> String {
        let definition = S.definition([S.step("a", after: [])])
        let record = try await engine.start(definition, input: [:], id: "held")
        let t = Date()
        let dead = try WorkerIdentityTests.deadWorker()
        let claimed = try await store.claim(sagaID: record.id, owner: dead, now: t, leaseUntil: t.addingTimeInterval(600))
        #expect(claimed != nil)
        return record.id
    }

    @Test(.enabled(if: WorkerIdentityTests.hasProc, "needs /proc"))
    func thePoliciesDecideOnlyForAWorkerOfThisMachineWhoseProcessIsGone() throws {
        let dead = try WorkerIdentityTests.deadWorker()
        #expect(SagaLivenessPolicy.sameHostProcessCheck.isCertainlyGone(dead))
        #expect(!SagaLivenessPolicy.leasesOnly.isCertainlyGone(dead))
        // This process is alive; an id without the process fields is never taken for gone.
        #expect(!SagaLivenessPolicy.sameHostProcessCheck.isCertainlyGone(SagaEngine.defaultWorkerID()))
        #expect(!SagaLivenessPolicy.sameHostProcessCheck.isCertainlyGone("other-host:123:1"))
        #expect(SagaEngine.Configuration().liveness == .sameHostProcessCheck, "the default")
    }

    @Test(.enabled(if: WorkerIdentityTests.hasProc, "needs /proc"))
    func theDefaultTakesADeadLocalWorkersSagaOverBeforeItsLease() async throws {
        let store = MemorySagaStore()
        let engine = engine(store, liveness: nil)
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["a"])
        let id = try await heldByADeadWorker(engine, store)
        let final = try await engine.run(sagaID: id)
        #expect(final.status == .completed)
        #expect(recorder.invocations.map(\.handler) == ["a"])
    }

    @Test(.enabled(if: WorkerIdentityTests.hasProc, "needs /proc"))
    func leasesOnlyWaitsForTheLeaseOfADeadLocalWorker() async throws {
        let store = MemorySagaStore()
        let engine = engine(store, liveness: .leasesOnly)
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["a"])
        let id = try await heldByADeadWorker(engine, store)
        let driving = Task { try await engine.run(sagaID: id) }
        try await Task.sleep(for: .milliseconds(400))
        driving.cancel()
        _ = try? await driving.value
        #expect(recorder.invocations.isEmpty, "nothing ran while the dead worker's lease lasts")
        let record = try #require(try await store.saga(id: id))
        #expect(record.status.isRunnable && record.owner != "test:1:1", "\(record)")
    }
}
