import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Sagas

// The JSON API, `/v1/…`. Every endpoint calls the engine's client API as the CLI does and returns the CLI's
// `--json` shapes; refusals (auth, read-only, bad bodies) happen before the engine is called, so nothing is
// journaled for them.
extension SagaServer {
    func addAPIRoutes(to router: Router<SagaRequestContext>) {
        let v1 = router.group("/v1")

        v1.get("/openapi.json") { _, _ -> Response in
            var response = Self.jsonResponse(.null)
            response.body = ResponseBody(byteBuffer: ByteBuffer(string: SagaOpenAPIDocument.text))
            return response
        }

        // Sagas.
        v1.post("/sagas") { request, context -> Response in
            let principal = try self.authorize(context, .operator, change: true, action: "starting a saga")
            let body = try await self.readObject(request, allowed: ["workflow", "input", "id"])
            guard let workflow = try Self.string(body, "workflow"), !workflow.isEmpty else {
                throw SagaServerError(.invalidRequest, "'workflow' is required: NAME or NAME@VERSION", status: .badRequest)
            }
            // A name in the server's folder, never a path: an API client must not make the server load a file.
            if workflow.contains("/") || workflow.contains("\\") || workflow.hasSuffix(".json") {
                throw SagaError(
                    .workflowNotFound,
                    "no workflow named '\(String(workflow.prefix(100)))': the API takes NAME or NAME@VERSION, not a file"
                )
            }
            let input = body["input"] ?? .object([:])
            let id = try Self.string(body, "id")
            var existed = false
            if let id { existed = try await self.engine.snapshotRecord(id) != nil }
            let traceparent = request.headers[HTTPField.Name("traceparent")!]
            let record = try await self.engine.start(
                workflow: workflow, in: self.catalog, input: input, id: id, traceparent: traceparent
            )
            if !existed {
                self.logger.info("saga started", metadata: ["saga.id": "\(record.id)", "by": "\(principal.name)"])
            }
            return Self.jsonResponse(record.summaryJSON(now: Date()), status: existed ? .ok : .created)
        }

        v1.get("/sagas") { request, _ -> Response in
            let items = SagaQueryItems(request.uri.query)
            try items.check(allowed: Self.sagaListParameters)
            let now = Date()
            guard let query = try Self.sagaQuery(items, now: now) else {
                return Self.jsonResponse(["sagas": [], "next": .null])
            }
            let records = try await self.engine.list(query)
            let next: JSONValue = records.count == query.limit ? (records.last.map { .string($0.id) } ?? .null) : .null
            return Self.jsonResponse(["sagas": .array(records.map { $0.summaryJSON(now: now) }), "next": next])
        }

        v1.get("/sagas/:id") { _, context -> Response in
            let id = try Self.parameter(context, "id")
            let snapshot = try await self.engine.snapshot(sagaID: id)
            return Self.jsonResponse(snapshot.json(now: Date()))
        }

        v1.get("/sagas/:id/plan") { _, context -> Response in
            let id = try Self.parameter(context, "id")
            return Self.jsonResponse(try await self.engine.plan(sagaID: id).json)
        }

        v1.post("/sagas/:id/cancel") { request, context -> Response in
            let principal = try self.authorize(context, .operator, change: true, action: "cancel")
            let id = try Self.parameter(context, "id")
            let body = try await self.readObject(request, allowed: ["reason"])
            let record = try await self.cancel(id, reason: try Self.string(body, "reason"), by: principal)
            return Self.jsonResponse(record.summaryJSON(now: Date()))
        }

        addSignalRoute(to: v1)

        v1.post("/sagas/:id/terminate") { request, context -> Response in
            let principal = try self.authorize(context, .admin, change: true, action: "terminate")
            let id = try Self.parameter(context, "id")
            let body = try await self.readObject(request, allowed: ["reason"])
            let record = try await self.terminate(id, reason: try Self.string(body, "reason"), by: principal)
            return Self.jsonResponse(record.summaryJSON(now: Date()))
        }

        v1.post("/sagas/:id/rerun") { request, context -> Response in
            let principal = try self.authorize(context, .operator, change: true, action: "rerun")
            let id = try Self.parameter(context, "id")
            let body = try await self.readObject(request, allowed: ["from", "input", "latest", "id"])
            let latest = body["latest"]
            if let latest, latest != .null, latest.boolValue == nil {
                throw SagaServerError(.invalidRequest, "'latest' must be true or false", status: .badRequest)
            }
            let record = try await self.rerun(
                id,
                from: try Self.string(body, "from").flatMap { $0.isEmpty ? nil : $0 },
                input: body["input"].flatMap { $0 == .null ? nil : $0 },
                latest: latest?.boolValue ?? false,
                newID: try Self.string(body, "id"),
                by: principal
            )
            return Self.jsonResponse(record.summaryJSON(now: Date()), status: .created)
        }

        // Interventions.
        v1.get("/interventions") { request, _ -> Response in
            let items = SagaQueryItems(request.uri.query)
            try items.check(allowed: ["workflow", "olderThan"])
            var olderThan: Duration?
            if let text = items.first("olderThan"), !text.isEmpty {
                guard let duration = SagaDuration.parse(text) else {
                    throw SagaServerError(.invalidRequest, "olderThan must be a duration such as 30m", status: .badRequest)
                }
                olderThan = duration
            }
            let workflow = items.first("workflow").flatMap { $0.isEmpty ? nil : $0 }
            let list = try await self.engine.interventions(workflow: workflow, olderThan: olderThan)
            let now = Date()
            return Self.jsonResponse(["interventions": .array(list.map { $0.json(now: now) })])
        }

        v1.post("/interventions/:id/resolve") { request, context -> Response in
            guard context.principal != nil else {
                throw SagaServerError(.unauthorized, "this endpoint needs a token", status: .unauthorized)
            }
            let id = try Self.parameter(context, "id")
            let body = try await self.readObject(request, allowed: ["action", "note", "output", "input"])
            let action = try Self.string(body, "action") ?? ""
            let role: SagaRole = action == "abandon" ? .admin : .operator
            let principal = try self.authorize(context, role, change: true, action: "resolve with \(action)")
            let record = try await self.resolve(
                id,
                action: action,
                note: try Self.string(body, "note"),
                output: body["output"],
                input: body["input"],
                by: principal
            )
            return Self.jsonResponse(record.summaryJSON(now: Date()))
        }

        // Overview.
        v1.get("/stats") { _, _ -> Response in
            Self.jsonResponse(try await self.engine.statistics().json(now: Date()))
        }

        v1.get("/workflows") { _, _ -> Response in
            Self.jsonResponse(try await self.workflowsJSON())
        }

        v1.get("/workers") { _, _ -> Response in
            let now = Date()
            return Self.jsonResponse(["workers": .array(try await self.workers().map { $0.json(now: now) })])
        }
    }

    // MARK: Actions (shared by the API and the dashboard's forms)

    /// Asks a saga to compensate. The engine journals the reason, and the token's name as who (`data.by`).
    func cancel(_ id: String, reason: String?, by principal: SagaPrincipal) async throws -> SagaRecord {
        let why = (reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let text = why.isEmpty ? "cancelled" : why
        let record = try await engine.cancel(sagaID: id, reason: text, by: principal.name)
        logger.notice("cancel requested", metadata: ["saga.id": "\(id)", "by": "\(principal.name)"])
        return record
    }

    func terminate(_ id: String, reason: String?, by principal: SagaPrincipal) async throws -> SagaRecord {
        let why = (reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !why.isEmpty else {
            throw SagaServerError(.invalidRequest, "'reason' is required: say why the saga is stopped", status: .badRequest)
        }
        return try await engine.terminate(sagaID: id, reason: why, by: principal.name)
    }

    func rerun(
        _ id: String,
        from: String?,
        input: JSONValue?,
        latest: Bool,
        newID: String?,
        by principal: SagaPrincipal
    ) async throws -> SagaRecord {
        var definition: SagaDefinition?
        if latest {
            guard let original = try await engine.snapshotRecord(id) else { throw SagaError.notFound(id) }
            definition = try catalog.resolve(original.workflow).definition
        }
        let record = try await engine.rerun(
            sagaID: id, from: from, input: input, definition: definition, id: newID, by: principal.name
        )
        logger.notice("rerun started", metadata: ["saga.id": "\(record.id)", "rerun.of": "\(id)", "by": "\(principal.name)"])
        return record
    }

    func resolve(
        _ id: String,
        action: String,
        note: String?,
        output: JSONValue?,
        input: JSONValue?,
        by principal: SagaPrincipal
    ) async throws -> SagaRecord {
        func bad(_ message: String) -> SagaServerError { SagaServerError(.invalidRequest, message, status: .badRequest) }
        let note = note.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        let resolution: InterventionResolution
        switch action {
        case "retry":
            if output != nil { throw bad("'output' goes with action skip") }
            resolution = .retry(input: input == .null ? nil : input, attempts: nil)
        case "skip":
            if input != nil { throw bad("'input' goes with action retry") }
            resolution = .skip(output: output == .null ? nil : output)
        case "abandon":
            if input != nil || output != nil { throw bad("abandon takes neither 'input' nor 'output'") }
            resolution = .abandon
        default:
            throw bad("'action' must be retry, skip or abandon")
        }
        if action != "retry" && note == nil {
            throw bad("'note' is required for skip and abandon: say what was done and why")
        }
        return try await engine.resolve(id, resolution, by: principal.name, note: note)
    }
}

extension SagaEngine {
    /// The saga's record, or `nil` when there is none.
    func snapshotRecord(_ id: String) async throws -> SagaRecord? {
        try await store.saga(id: id)
    }
}
