import Foundation
import Sagas

extension SagaServer {
    /// The workers that hold leases (`SagaWorkerSummary`, the view `saga workers --json` prints too).
    func workers() async throws -> [SagaWorkerSummary] {
        try await engine.workers()
    }

    /// One workflow file of the folder as the API and the dashboard show it.
    struct WorkflowEntry: Sendable {
        var path: String
        var definition: SagaDefinition?
        var error: String?
    }

    /// The folder's top-level `*.json` files, loaded (a file with errors keeps its first error).
    func workflowEntries() -> [WorkflowEntry] {
        let directory = catalog.directory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { name in
            let path = (directory as NSString).appendingPathComponent(name)
            let result = WorkflowLoader.load(contentsOf: path, kinds: catalog.kinds)
            if let definition = result.definition { return WorkflowEntry(path: path, definition: definition) }
            return WorkflowEntry(path: path, error: result.diagnostics.first.map { "\($0)" } ?? "does not load")
        }
    }

    /// `GET /v1/workflows`: every definition in the folder with its steps, and how many sagas of each version
    /// exist by status (`inUse`: any not finished), plus versions that sagas use but the folder no longer has.
    func workflowsJSON() async throws -> JSONValue {
        let stats = try await engine.statistics()
        var counts: [String: [String: JSONValue]] = [:]
        for entry in stats.byWorkflow {
            counts["\(entry.workflow)@\(entry.version)", default: [:]][entry.status.rawValue] = .integer(entry.count)
        }
        func active(_ reference: String) -> Bool {
            let c = counts[reference] ?? [:]
            let running: [SagaStatus] = [.pending, .running, .compensating, .needsIntervention]
            return running.contains { (c[$0.rawValue]?.intValue ?? 0) > 0 }
        }
        var listed: Set<String> = []
        var workflows: [JSONValue] = []
        var errors: [JSONValue] = []
        for entry in workflowEntries() {
            guard let d = entry.definition else {
                errors.append(["file": .string(entry.path), "message": .string(entry.error ?? "does not load")])
                continue
            }
            listed.insert(d.reference)
            workflows.append(.object([
                "name": .string(d.name),
                "version": .integer(d.version),
                "file": .string(entry.path),
                "description": d.description.map { .string($0) } ?? .null,
                "steps": .array(d.steps.map { step in
                    .object([
                        "name": .string(step.name),
                        "after": .array(step.after.map { .string($0) }),
                        "kind": .string(step.kind.rawValue),
                        "action": .string(step.action.kind.rawValue),
                        "compensation": step.compensation.map { .string($0.kind.rawValue) } ?? .null,
                    ])
                }),
                "sagas": .object(counts[d.reference] ?? [:]),
                "inUse": .bool(active(d.reference)),
            ]))
        }
        for reference in counts.keys.sorted() where !listed.contains(reference) {
            let parts = reference.split(separator: "@")
            workflows.append(.object([
                "name": .string(String(parts[0])),
                "version": .integer(Int(parts[1]) ?? 0),
                "file": .null,
                "description": .null,
                "steps": .array([]),
                "sagas": .object(counts[reference] ?? [:]),
                "inUse": .bool(active(reference)),
            ]))
        }
        return .object(["workflows": .array(workflows), "errors": .array(errors)])
    }
}
