import Foundation
import Sagas
import Testing

/// A temporary folder of workflow files, removed when the test ends.
final class WorkflowFolder {
    let path: String

    init(_ files: [String: String]) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("sagas-catalog-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files {
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(path)/\(name)"))
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    static func workflow(_ name: String, _ version: Int, step: String = "a") -> String {
        """
        {"name": "\(name)", "version": \(version), "steps": [
        {"name": "\(step)", "kind": "readonly", "action": {"handler": {"name": "h"}}}
        ]}
        """
    }
}

@Suite struct WorkflowCatalogTests {
    static func folder() throws -> WorkflowFolder {
        try WorkflowFolder([
            "order-v1.json": WorkflowFolder.workflow("order", 1, step: "one"),
            "order-v2.json": WorkflowFolder.workflow("order", 2, step: "two"),
            "broken.json": #"{"name": "broken", "version": 1, "steps": [{"name": "a"}]}"#,
            "notes.txt": "not a workflow",
        ])
    }

    @Test(arguments: [
        ("order", 2, "order-v2.json"),
        ("order@1", 1, "order-v1.json"),
        ("order@2", 2, "order-v2.json"),
        ("order-v1.json", 1, "order-v1.json"),
    ])
    func resolvesReferences(_ reference: String, _ version: Int, _ file: String) throws {
        let folder = try Self.folder()
        let found = try WorkflowCatalog(directory: folder.path, kinds: .standard).resolve(reference)
        #expect(found.definition.name == "order")
        #expect(found.definition.version == version)
        #expect(found.path == "\(folder.path)/\(file)")
    }

    @Test func resolvesAPath() throws {
        let folder = try Self.folder()
        let found = try WorkflowCatalog(directory: "/nonexistent", kinds: .standard).resolve("\(folder.path)/order-v2.json")
        #expect(found.definition.steps.map(\.name) == ["two"])
    }

    @Test(arguments: [
        ("payment", "workflow_not_found", "no workflow named 'payment' in", "available: broken@1, order@1, order@2"),
        ("order@3", "workflow_not_found", "workflow 'order' has no version 3", "available: broken@1, order@1, order@2"),
        ("order@x", "invalid_argument", "the version after '@' must be a positive integer", "order@x"),
        ("missing.json", "workflow_not_found", "no workflow file at missing.json", "missing"),
        ("./nope/order.json", "workflow_not_found", "no workflow file at ./nope/order.json", "nope"),
        ("broken", "invalid_workflow", "invalid workflow", "missing required field 'action' in step 'a'"),
    ])
    func refusesWhatItCannotResolve(_ reference: String, _ code: String, _ fragment: String, _ detail: String) throws {
        let folder = try Self.folder()
        do {
            _ = try WorkflowCatalog(directory: folder.path, kinds: .standard).resolve(reference)
            Issue.record("resolved \(reference)")
        } catch {
            #expect(error.code.description == code)
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(error.message.contains(detail), "\(error.message)")
            if code == "invalid_workflow" {
                #expect(error.diagnostics.map { "\($0.line):\($0.column) \($0.severity)" } == ["1:44 error", "1:44 warning"])
            }
        }
    }

    @Test func missingFolder() {
        #expect(throws: SagaError.self) { try WorkflowCatalog(directory: "/nonexistent/sagas", kinds: .standard).resolve("order") }
    }

    @Test func duplicateNameAndVersionInAFolder() throws {
        let folder = try WorkflowFolder([
            "a.json": WorkflowFolder.workflow("pay", 1),
            "b.json": WorkflowFolder.workflow("pay", 1, step: "b"),
            "c.json": WorkflowFolder.workflow("pay", 2),
        ])
        let report = WorkflowCatalog.validate(paths: [folder.path], strict: false, kinds: .standard)
        #expect(report.files == ["a.json", "b.json", "c.json"].map { "\(folder.path)/\($0)" })
        #expect(report.diagnostics.map(\.description) == [
            "\(folder.path)/b.json:1:10: error: workflow 'pay' version 1 is also defined in \(folder.path)/a.json "
                + "(line 1); give this file another 'name' or 'version'"
        ])
        do {
            _ = try WorkflowCatalog(directory: folder.path, kinds: .standard).resolve("pay@1")
            Issue.record("resolved an ambiguous reference")
        } catch {
            #expect(error.code == .invalidWorkflow)
            #expect(error.message.contains("defined by more than one file"))
        }
        #expect(try WorkflowCatalog(directory: folder.path, kinds: .standard).resolve("pay").definition.version == 2)
    }

    @Test func validateReportsMissingPathsAndStrictTurnsWarningsIntoErrors() throws {
        let folder = try WorkflowFolder([
            "warn.json": #"{"name": "w", "version": 1, "steps": [{"name": "a", "action": {"handler": {"name": "h"}}}]}"#
        ])
        let relaxed = WorkflowCatalog.validate(paths: [folder.path, "/nonexistent/x.json"], strict: false, kinds: .standard)
        #expect(relaxed.files == ["\(folder.path)/warn.json"])
        #expect(relaxed.errorCount == 1)
        #expect(relaxed.warningCount == 1)
        #expect(relaxed.diagnostics.first?.description == "/nonexistent/x.json:1:1: error: no such file or folder: /nonexistent/x.json")
        #expect(relaxed.diagnostics.last.map { "\($0.line):\($0.column) \($0.severity)" } == "1:39 warning")

        let strict = WorkflowCatalog.validate(paths: ["\(folder.path)/warn.json"], strict: true, kinds: .standard)
        #expect(strict.errorCount == 1)
        #expect(strict.warningCount == 0)
        #expect(strict.hasErrors)
    }

    @Test func theShippedFolderValidates() {
        let report = WorkflowCatalog.validate(paths: [packageRoot.appendingPathComponent("Workflows").path], strict: true, kinds: .standard)
        #expect(report.files.count == shippedWorkflows.count)
        #expect(report.diagnostics == [])
    }
}
