import Foundation
import Sagas

/// A worker as `GET /v1/workers` shows it, derived from the leases it holds (the store keeps no worker table):
/// a worker that holds no saga right now is not listed.
struct SagaWorkerSummary: Sendable, Hashable {
    var id: String
    var host: String?
    var pid: Int?
    var sagas: Int
    var leaseExpiresAt: Date

    var json: JSONValue {
        .object([
            "id": .string(id),
            "host": host.map { .string($0) } ?? .null,
            "pid": pid.map { .integer($0) } ?? .null,
            "sagas": .integer(sagas),
            "leaseExpiresAt": .string(SagaTime.format(leaseExpiresAt)),
        ])
    }
}

extension SagaServer {
    /// How many leased sagas are read to find the workers.
    static let workerScanLimit = 10_000

    /// The workers that hold a live lease: id, host and pid (from the worker id), how many sagas each holds, and
    /// when its latest lease ends.
    func workers() async throws -> [SagaWorkerSummary] {
        let now = Date()
        let records = try await engine.list(
            SagaQuery(statuses: [.running, .compensating, .pending], limit: Self.workerScanLimit)
        )
        var byOwner: [String: SagaWorkerSummary] = [:]
        for record in records {
            guard let owner = record.owner, let until = record.leaseExpiresAt, until > now else { continue }
            if var known = byOwner[owner] {
                known.sagas += 1
                known.leaseExpiresAt = max(known.leaseExpiresAt, until)
                byOwner[owner] = known
            } else {
                let identity = WorkerIdentity(workerID: owner)
                byOwner[owner] = SagaWorkerSummary(
                    id: owner,
                    host: identity?.host,
                    pid: identity.map { Int($0.pid) },
                    sagas: 1,
                    leaseExpiresAt: until
                )
            }
        }
        return byOwner.values.sorted { $0.id < $1.id }
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
            let result = WorkflowLoader.load(contentsOf: path)
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
