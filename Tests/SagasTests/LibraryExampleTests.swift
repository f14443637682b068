import Foundation
import Logging
import Sagas
import Testing

// example:begin
/// Places an order with two Swift handlers: reserve stock (undone by a release), then charge (the pivot).
func placeOrder(amount: Int, id: String, store: any SagaStore, logger: Logger) async throws -> SagaRecord {
    let engine = SagaEngine(store: store, logger: logger)

    engine.register(handler: "inventory.reserve") { context in
        // The key is the same on every retry and after a restart: pass it on so the target can deduplicate.
        context.logger.info("reserving", metadata: ["key": "\(context.idempotencyKey)"])
        return ["reservation": .string("r-\(context.sagaID)")]
    }
    engine.register(handler: "inventory.release") { context in
        // A compensation sees its own step's output.
        let reservation = context.output?["reservation"]?.stringValue ?? "none"
        return ["released": .string(reservation)]
    }
    engine.register(handler: "payments.charge") { context in
        guard let amount = context.input["amount"]?.intValue, amount <= 1_000 else {
            throw StepFailure.permanent("amount over the limit")  // no retry: the saga compensates
        }
        return ["charged": .integer(amount)]
    }

    let loaded = WorkflowLoader.load(
        string: """
            {
              "name": "checkout",
              "version": 1,
              "input": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "integer"}}},
              "steps": [
                {
                  "name": "reserve",
                  "action": {"handler": {"name": "inventory.reserve"}},
                  "compensation": {"handler": {"name": "inventory.release"}}
                },
                {
                  "name": "charge",
                  "kind": "pivot",
                  "action": {"handler": {"name": "payments.charge", "input": {"amount": "${input.amount}"}}}
                }
              ]
            }
            """,
        file: "checkout.json"
    )
    guard let definition = loaded.definition else {
        throw SagaError(.invalidWorkflow, "checkout.json is invalid", diagnostics: loaded.diagnostics)
    }
    // Starts the saga (or finds the one with this id) and drives it until it is done.
    return try await engine.execute(definition, input: ["amount": .integer(amount)], id: id)
}
// example:end

@Suite struct LibraryExampleTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test(.timeLimit(.minutes(1))) func exampleCompletes() async throws {
        let store = MemorySagaStore()
        let record = try await placeOrder(amount: 250, id: "checkout-1", store: store, logger: logger)
        #expect(record.status == .completed)
        let events = try await store.events(sagaID: "checkout-1")
        let charged = events.first { $0.type == .stepSucceeded && $0.step == "charge" }
        #expect(charged?.output == ["charged": 250])
    }

    @Test(.timeLimit(.minutes(1))) func exampleCompensatesWhenTheChargeIsRefused() async throws {
        let store = MemorySagaStore()
        let record = try await placeOrder(amount: 5_000, id: "checkout-2", store: store, logger: logger)
        #expect(record.status == .compensated)
        let events = try await store.events(sagaID: "checkout-2")
        let released = events.first { $0.type == .compensationSucceeded && $0.step == "reserve" }
        #expect(released?.output == ["released": "r-checkout-2"])
        #expect(!events.contains { $0.type == .compensationStarted && $0.step == "charge" })
    }

    /// The example in Docs/library.md is this file's example, word for word, so the docs show code that compiles
    /// and runs.
    @Test func docsShowThisExample() throws {
        let testFile = URL(fileURLWithPath: #filePath)
        let root = testFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let source = try String(contentsOf: testFile, encoding: .utf8)
        let docs = try String(contentsOf: root.appendingPathComponent("Docs/library.md"), encoding: .utf8)
        let begin = "// example:" + "begin\n"
        let end = "// example:" + "end"
        let example = try #require(source.range(of: begin).flatMap { b in
            source.range(of: end, range: b.upperBound..<source.endIndex).map { String(source[b.upperBound..<$0.lowerBound]) }
        })
        #expect(example.count > 500)
        #expect(docs.contains("```swift\n" + example + "```"))
    }
}
