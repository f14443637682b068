import Foundation
import Sagas
import SagasTesting
import Testing

/// A saga whose journal does not replay fails the same way on every worker: it is parked, visibly, instead of
/// being retried for ever.
@Suite(.timeLimit(.minutes(1)))
struct ParkedSagaTests {
    @Test func aSagaWhosePinnedDefinitionDoesNotLoadIsParked() async throws {
        let store = MemorySagaStore()
        // An empty step list does not load: the pinned definition is broken.
        let broken = SagaFixtures.record(id: "broken")
        try await SagaFixtures.create(broken, in: store)
        let engine = TestSupport.engine(store: store)
        // Before parking, this never returned: the saga stayed runnable and was claimed again at each lease expiry.
        try await engine.runUntilIdle()
        let saga = try #require(try await store.saga(id: "broken"))
        #expect(saga.status == .needsIntervention)
        #expect(saga.lastError?.contains("does not replay") == true, "\(saga.lastError ?? "")")
        #expect(saga.lastError?.contains("pinned definition") == true, "\(saga.lastError ?? "")")
        #expect(saga.owner == nil)
        // Nothing was added to the journal: it is what is broken.
        #expect(try await store.events(sagaID: "broken").count == 1)
        #expect(try await store.list(SagaQuery(statuses: [.needsIntervention])).map(\.id) == ["broken"])
    }

    @Test func aHealthySagaBesideABrokenOneStillRuns() async throws {
        let store = MemorySagaStore()
        try await SagaFixtures.create(SagaFixtures.record(id: "broken"), in: store)
        let engine = TestSupport.engine(store: store)
        engine.register(handler: "ok") { _ in ["done": true] }
        let definition = try #require(
            WorkflowLoader.load(
                string: #"{"name": "fine", "version": 1, "steps": [{"name": "one", "action": {"handler": {"name": "ok"}}}]}"#,
                file: "fine.json", kinds: .standard
            ).definition
        )
        let fine = try await engine.start(definition, input: [:], id: "fine")
        try await engine.runUntilIdle()
        #expect(try await store.saga(id: fine.id)?.status == .completed)
        #expect(try await store.saga(id: "broken")?.status == .needsIntervention)
    }
}

