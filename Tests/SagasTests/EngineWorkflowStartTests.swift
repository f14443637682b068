import Foundation
import Logging
import Sagas
import Testing

/// Starting sagas from a workflow file or a name in a folder, as embedders and the CLI do.
@Suite struct EngineWorkflowStartTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sagas-start-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for version in [1, 2] {
            let text = """
                {"name": "greet", "version": \(version), "steps": [
                  {"name": "hello", "kind": "readonly", "action": {"handler": {"name": "hello", "input": {"v": \(version)}}}}
                ]}
                """
            try text.write(to: dir.appendingPathComponent("greet-v\(version).json"), atomically: true, encoding: .utf8)
        }
        return dir
    }

    func engine() -> SagaEngine {
        let engine = SagaEngine(store: MemorySagaStore(), logger: logger)
        engine.register(handler: "hello") { context in context.input }
        return engine
    }

    @Test func aNameStartsItsHighestVersionWithTheFolderAsBase() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let engine = engine()
        let record = try await engine.start(workflow: "greet", in: WorkflowCatalog(directory: dir.path, kinds: .standard), input: [:], id: "g1")
        #expect(record.version == 2)
        #expect(record.baseDirectory == dir.standardizedFileURL.path)
        let finished = try await engine.run(sagaID: "g1")
        #expect(finished.status == .completed)
        let output = try await engine.store.events(sagaID: "g1").first { $0.type == .stepSucceeded }?.output
        #expect(output == ["v": 2])
    }

    @Test func aVersionAndAFileCanBeNamed() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let engine = engine()
        let pinned = try await engine.start(workflow: "greet@1", in: WorkflowCatalog(directory: dir.path, kinds: .standard), input: [:])
        #expect(pinned.version == 1)
        let file = dir.appendingPathComponent("greet-v2.json").path
        let fromFile = try await engine.start(workflowFile: file, input: [:], id: "g2")
        #expect(fromFile.version == 2)
        #expect(fromFile.baseDirectory == dir.standardizedFileURL.path)
    }

    @Test func unknownNamesAndFilesAreClearErrors() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let engine = engine()
        let error = await #expect(throws: SagaError.self) {
            try await engine.start(workflow: "nope", in: WorkflowCatalog(directory: dir.path, kinds: .standard), input: [:])
        }
        #expect(error?.code == .workflowNotFound)
        #expect(error?.message.contains("greet@1") == true)
        let missing = await #expect(throws: SagaError.self) {
            try await engine.start(workflowFile: dir.appendingPathComponent("missing.json").path, input: [:])
        }
        #expect(missing?.code == .workflowNotFound)
    }
}
