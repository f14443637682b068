import Foundation
import Logging
import Sagas
import ServiceLifecycle
import Testing

// example:begin
/// A service that runs a worker and starts sagas through a client, on one engine.
func runOrderService(store: any SagaStore, logger: Logger) async throws -> SagaRecord {
    let engine = SagaEngine(store: store, logger: logger)
    let worker = SagaWorker(engine)  // a Service: runs the steps
    let client = SagaClient(engine)  // starts, reads and acts on sagas

    worker.register(handler: "greet") { context in
        ["greeting": .string("hello \(context.input["name"]?.stringValue ?? "?")")]
    }
    let definition = SagaDefinition(
        name: "greeting", version: 1, steps: [SagaStep(name: "greet", action: .handler("greet"))]
    )

    let group = ServiceGroup(configuration: .init(services: [.init(service: worker)], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let started = try await client.start(definition, input: ["name": "Ada"], id: "greeting-1")
        var record = started
        while !record.status.isTerminal {
            try await Task.sleep(for: .milliseconds(10))
            record = try await client.snapshot(sagaID: started.id).record
        }
        // Graceful shutdown: `run()` returns once every attempt, timer and lease renewal it owns has ended.
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return record
    }
}
// example:end

@Suite(.timeLimit(.minutes(1)))
struct ClientWorkerExampleTests {
    @Test func theExampleRunsASagaThroughTheWorker() async throws {
        let store = MemorySagaStore()
        let record = try await runOrderService(store: store, logger: TestSupport.logger)
        #expect(record.status == .completed)
        let events = try await store.events(sagaID: "greeting-1")
        let done = try #require(events.first { $0.type == .stepSucceeded })
        #expect(done.output?["greeting"] == "hello Ada")
    }

    /// Docs/library.md shows this file's example word for word.
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
