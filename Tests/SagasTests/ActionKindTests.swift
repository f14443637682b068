import Foundation
import Logging
import Sagas
import SagasCommand
import SagasHTTP
import SagasTesting
import Synchronization
import Testing

/// A kind an embedder adds through the public API: `{"queue": {"topic": T, "message": M}}` publishes M on T.
struct QueueActionKind: SagaActionKind {
    /// What the executor published, for the test to read.
    let published: PublishedMessages

    var name: StepAction.Kind { "queue" }

    func validate(_ spec: JSONNode, in checker: inout SagaActionSpecChecker) {
        guard let m = checker.members(of: spec, allowed: ["topic", "message"]) else { return }
        if let topic = m["topic"] {
            if let text = checker.string(topic.value, field: "topic"), !text.hasPrefix("orders.") {
                checker.error("'topic' must start with 'orders.', got \"\(text)\"", at: topic.value.location)
            }
        } else {
            checker.error("missing required field 'topic' in \(checker.subject)", at: spec.location)
        }
    }

    func makeExecutor(configuration: SagaEngine.Configuration, logger: Logger) -> (any StepExecutor)? {
        QueueExecutor(published: published)
    }
}

struct QueueExecutor: StepExecutor {
    let published: PublishedMessages

    func execute(spec: JSONValue, context: StepContext) async -> StepOutcome {
        guard let topic = spec["topic"]?.stringValue else { return .failure(.permanent("no topic")) }
        published.append(topic: topic, message: spec["message"] ?? .null)
        return .success(["topic": .string(topic)])
    }
}

final class PublishedMessages: Sendable {
    private let messages = Mutex<[(topic: String, message: JSONValue)]>([])

    func append(topic: String, message: JSONValue) { messages.withLock { $0.append((topic, message)) } }
    var all: [(topic: String, message: JSONValue)] { messages.withLock { $0 } }
}

/// Each action kind owns its spec (issue 13): the decoder takes the registry of kinds and knows none of their fields.
@Suite(.timeLimit(.minutes(1)))
struct ActionKindTests {
    typealias S = TestSupport

    static func workflow(_ action: String) -> String {
        """
        {
          "name": "ship",
          "version": 1,
          "steps": [
            {"name": "announce", "kind": "readonly",
             "action": \(action)}
          ]
        }
        """
    }

    @Test func aCustomKindValidatesItsSpecWithPositions() {
        let kinds = SagaActionKinds([QueueActionKind(published: PublishedMessages())])
        let bad = WorkflowLoader.load(
            string: Self.workflow(#"{"queue": {"topic": "billing.paid", "mesage": 1}}"#), file: "ship.json",
            kinds: kinds)
        #expect(bad.definition == nil)
        #expect(bad.diagnostics.map(\.description) == [
            "ship.json:6:36: error: 'topic' must start with 'orders.', got \"billing.paid\"",
            "ship.json:6:52: error: unknown field 'mesage' in 'action.queue' of step 'announce'; did you mean 'message'?",
        ])
        let missing = WorkflowLoader.load(string: Self.workflow(#"{"queue": {}}"#), file: "ship.json", kinds: kinds)
        #expect(missing.diagnostics.map(\.description) == [
            "ship.json:6:26: error: missing required field 'topic' in 'action.queue' of step 'announce'",
        ])
        // The decoder checks the templates of any kind's spec.
        let template = WorkflowLoader.load(
            string: Self.workflow(#"{"queue": {"topic": "orders.${input.id"}}"#), file: "ship.json", kinds: kinds)
        #expect(template.diagnostics.count == 1)
        #expect(template.diagnostics.first?.message.hasPrefix("invalid template in 'action'") == true)
    }

    @Test func aKindThatIsNotRegisteredIsRefusedAtItsKey() {
        let result = WorkflowLoader.load(
            string: Self.workflow(#"{"queue": {"topic": "orders.new"}}"#), file: "ship.json")
        #expect(result.definition == nil)
        #expect(result.diagnostics.map(\.description) == [
            "ship.json:6:17: error: unknown action kind 'queue' in 'action' of step 'announce' (expected 'handler', "
                + "'sleep' or 'sleepUntil')",
        ])
        #expect(SagaActionKinds.core.names == ["handler", "sleep", "sleepUntil"])
        #expect(SagaActionKinds([QueueActionKind(published: PublishedMessages())]).names
            == ["queue", "handler", "sleep", "sleepUntil"])
    }

    @Test func aSagaRunsWithACustomKind() async throws {
        let published = PublishedMessages()
        let engine = SagaEngine(store: MemorySagaStore(), logger: S.logger)
        engine.register(kind: QueueActionKind(published: published))
        #expect(engine.actionKinds.names.first == "queue")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kinds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("ship.json")
        try Self.workflow(#"{"queue": {"topic": "orders.shipped", "message": {"id": "${input.id}"}}}"#)
            .write(to: file, atomically: true, encoding: .utf8)

        // The engine loads with its kinds; a catalog with the same kinds resolves the workflow too.
        let started = try await engine.start(workflowFile: file.path, input: ["id": "o-7"], id: "ship-1")
        let record = try await engine.run(sagaID: started.id)
        #expect(record.status == .completed)
        #expect(published.all.map(\.topic) == ["orders.shipped"])
        #expect(published.all.first?.message == ["id": "o-7"])
        let catalog = WorkflowCatalog(directory: folder.path, kinds: engine.actionKinds)
        #expect(try catalog.resolve("ship").definition.steps[0].action.kind == "queue")

        // A bare engine does not know the kind: the same file is refused at load, at the kind's key.
        let bare = SagaEngine(store: MemorySagaStore(), logger: S.logger)
        do {
            _ = try await bare.start(workflowFile: file.path, input: ["id": "o-8"])
            Issue.record("a workflow of an unregistered kind started")
        } catch let error as SagaError {
            #expect(error.diagnostics.first?.line == 6)
            #expect(error.diagnostics.first?.message.contains("unknown action kind 'queue'") == true)
        }
    }
}

/// The JSON Schema describes the CLI's kinds with the rules the kinds themselves check.
@Suite struct ActionKindSchemaTests {
    @Test func theSchemaListsEachKindsFields() throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("Docs/workflow.schema.json"), encoding: .utf8)
        let action = try #require(try JSONValue(parsing: text)["$defs"]?["action"]?["properties"]?.objectValue)
        #expect(Set(action.keys) == Set(SagaActionKinds.standard.names))
        func keys(_ kind: String) -> Set<String> { Set(action[kind]?["properties"]?.objectValue?.keys ?? [:].keys) }
        #expect(keys("http") == Set(HTTPActionKind.keys))
        #expect(keys("command") == Set(CommandActionKind.keys))
        #expect(keys("handler") == Set(HandlerActionKind.keys))
        let methods = action["http"]?["properties"]?["method"]?["enum"]?.arrayValue?.compactMap(\.stringValue)
        #expect(methods == HTTPActionKind.methods)
    }
}
