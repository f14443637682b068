import Foundation
import Logging
import Sagas
import SagasSQLite
import SagasTesting
import Testing

/// `execute` on the SQLite store returns the record the saga ended with as the drive wrote it, without reading it
/// back: it must be the record the store holds (times to the millisecond, as the store keeps them).
@Suite(.timeLimit(.minutes(1)))
struct SQLiteExecuteTests {
    @Test(arguments: ["completes", "compensates", "needs intervention"])
    func executeReturnsTheStoredRecord(_ ending: String) async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteSagaStore(path: folder.path("saga.db"))
        let engine = SagaEngine(
            store: store,
            configuration: .init(workerID: "test:1:1", environment: [:]),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        engine.register(handler: "reserve") { _ in ["reservation": "r-1"] }
        engine.register(handler: "reserve.undo") { _ in
            if ending == "needs intervention" { throw StepFailure.permanent("refund API down") }
            return .null
        }
        engine.register(handler: "charge") { _ in
            if ending != "completes" { throw StepFailure.permanent("card declined") }
            return ["charge": "c-1"]
        }
        engine.register(handler: "charge.undo") { _ in .null }
        let definition = try #require(
            WorkflowLoader.load(
                string: """
                    {"name": "order", "version": 1, "defaults": {"retry": {"maxAttempts": 1}, "compensationRetry": {"maxAttempts": 1}},
                     "steps": [
                       {"name": "reserve", "action": {"handler": {"name": "reserve"}}, "compensation": {"handler": {"name": "reserve.undo"}}},
                       {"name": "charge", "action": {"handler": {"name": "charge"}}, "compensation": {"handler": {"name": "charge.undo"}}}
                     ]}
                    """,
                file: "order.json"
            ).definition
        )
        let returned = try await engine.execute(definition, input: ["orderId": "o-1"])
        let stored = try #require(try await store.saga(id: returned.id))
        let expected: SagaStatus =
            switch ending {
            case "completes": .completed
            case "compensates": .compensated
            default: .needsIntervention
            }
        #expect(returned.status == expected)
        #expect(stored.status == expected)
        #expect(returned.lastSeq == stored.lastSeq)
        #expect(returned.lastSeq == (try await store.events(sagaID: returned.id)).count)
        #expect(returned.currentStep == stored.currentStep)
        #expect(returned.lastError == stored.lastError)
        #expect(returned.owner == nil && stored.owner == nil)
        #expect(returned.leaseExpiresAt == nil && stored.leaseExpiresAt == nil)
        #expect(SagaTime.milliseconds(returned.updatedAt) == SagaTime.milliseconds(stored.updatedAt))
        #expect(SagaTime.milliseconds(returned.createdAt) == SagaTime.milliseconds(stored.createdAt))
        #expect(returned.definition == stored.definition)
        #expect(returned.input == stored.input)
        if ending != "completes" { #expect(returned.lastError != nil) }
    }
}
