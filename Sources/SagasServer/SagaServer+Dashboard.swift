import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Sagas

// The dashboard: server-rendered pages over the same engine calls as the API. Forms post
// `application/x-www-form-urlencoded` bodies; a browser's session (the login cookie) must send the CSRF token
// with each, while a request with a Bearer header (which a browser never adds by itself) needs none.
extension SagaServer {
    func addDashboardRoutes(to router: Router<SagaRequestContext>) {
        router.get("/static/app.js") { _, _ -> Response in
            Self.asset(SagaDashboardAssets.js, type: "text/javascript; charset=utf-8")
        }
        router.get("/static/app.css") { _, _ -> Response in
            Self.asset(SagaDashboardAssets.css, type: "text/css; charset=utf-8")
        }

        router.get("/login") { request, context -> Response in
            let items = SagaQueryItems(request.uri.query)
            let next = Self.safeNext(items.first("next"))
            // The URL `saga serve` prints with a generated token: log in, then drop the token from the address.
            if let token = items.first("token") {
                guard let principal = self.tokens.principal(forToken: token) else {
                    return Self.htmlResponse(self.pages(context).login(next: next, message: "That token is not valid."), status: .unauthorized)
                }
                return self.loggedIn(principal, next: next)
            }
            return Self.htmlResponse(self.pages(context).login(next: next, message: nil))
        }

        router.post("/login") { request, context -> Response in
            let form = try await self.readForm(request)
            let next = Self.safeNext(form.first("next"))
            guard let token = form.first("token"), let principal = self.tokens.principal(forToken: token) else {
                return Self.htmlResponse(self.pages(context).login(next: next, message: "That token is not valid."), status: .unauthorized)
            }
            return self.loggedIn(principal, next: next)
        }

        router.post("/logout") { request, context -> Response in
            let form = try await self.readForm(request)
            try self.checkCSRF(form, context)
            var response = Self.redirect("/login")
            response.headers[.setCookie] = "\(SagaSessionKeys.cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
            return response
        }

        router.get("/") { _, context -> Response in
            let now = Date()
            let stats = try await self.engine.statistics()
            let failures = try await self.engine.list(
                SagaQuery(statuses: [.failed, .compensated, .needsIntervention], limit: 10)
            )
            let stuck = try await self.engine.list(SagaQuery(stuckAt: now, limit: 10))
            return Self.htmlResponse(self.pages(context, now: now).overview(stats: stats, recent: failures, stuck: stuck))
        }

        router.get("/sagas") { request, context -> Response in
            let items = SagaQueryItems(request.uri.query)
            try items.check(allowed: Self.sagaListParameters)
            let now = Date()
            var records: [SagaRecord] = []
            var next: String?
            if let query = try Self.sagaQuery(items, now: now) {
                records = try await self.engine.list(query)
                next = records.count == query.limit ? records.last?.id : nil
            }
            return Self.htmlResponse(self.pages(context, now: now).sagas(records, filters: items, next: next))
        }

        router.get("/sagas/:id") { request, context -> Response in
            let id = try Self.parameter(context, "id")
            let items = SagaQueryItems(request.uri.query)
            let snapshot = try await self.engine.snapshot(sagaID: id)
            let plan = try? await self.engine.plan(sagaID: id)
            let page = items.first("page").flatMap { Int($0) } ?? 1
            let notice = items.first("done").map { "Done: \($0)." }
            return Self.htmlResponse(self.pages(context).saga(snapshot, plan: plan, page: page, notice: notice))
        }

        router.post("/sagas/:id/cancel") { request, context -> Response in
            let principal = try self.authorize(context, .operator, change: true, action: "cancel")
            let id = try Self.parameter(context, "id")
            let form = try await self.readForm(request)
            try self.checkCSRF(form, context)
            try Self.checkConfirmed(form)
            _ = try await self.cancel(id, reason: form.first("reason"), by: principal)
            return Self.redirect("/sagas/\(SagaHTML.queryEscape(id))?done=cancel+requested")
        }

        router.post("/sagas/:id/terminate") { request, context -> Response in
            let principal = try self.authorize(context, .admin, change: true, action: "terminate")
            let id = try Self.parameter(context, "id")
            let form = try await self.readForm(request)
            try self.checkCSRF(form, context)
            try Self.checkConfirmed(form)
            _ = try await self.terminate(id, reason: form.first("reason"), by: principal)
            return Self.redirect("/sagas/\(SagaHTML.queryEscape(id))?done=terminated")
        }

        router.post("/sagas/:id/rerun") { request, context -> Response in
            let principal = try self.authorize(context, .operator, change: true, action: "rerun")
            let id = try Self.parameter(context, "id")
            let form = try await self.readForm(request)
            try self.checkCSRF(form, context)
            try Self.checkConfirmed(form)
            let input = try Self.formJSON(form, "input")
            let from = form.first("from").flatMap { $0.isEmpty ? nil : $0 }
            let record = try await self.rerun(
                id, from: from, input: input, latest: form.first("latest") == "true", newID: nil, by: principal
            )
            return Self.redirect("/sagas/\(SagaHTML.queryEscape(record.id))?done=rerun+of+\(SagaHTML.queryEscape(id))")
        }

        router.get("/interventions") { _, context -> Response in
            let list = try await self.engine.interventions()
            return Self.htmlResponse(self.pages(context).interventions(list))
        }

        router.post("/interventions/:id/resolve") { request, context -> Response in
            let id = try Self.parameter(context, "id")
            let form = try await self.readForm(request)
            let action = form.first("action") ?? ""
            let principal = try self.authorize(
                context, action == "abandon" ? .admin : .operator, change: true, action: "resolve with \(action)"
            )
            try self.checkCSRF(form, context)
            try Self.checkConfirmed(form)
            let note = form.first("note")
            if (note ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw SagaServerError(.invalidRequest, "a note is required: say what was done and why", status: .badRequest)
            }
            let output = action == "skip" ? try Self.formJSON(form, "output") : nil
            let record = try await self.resolve(id, action: action, note: note, output: output, input: nil, by: principal)
            return Self.redirect("/sagas/\(SagaHTML.queryEscape(record.id))?done=\(SagaHTML.queryEscape(action))")
        }

        router.get("/workers") { _, context -> Response in
            Self.htmlResponse(self.pages(context).workers(try await self.workers()))
        }

        router.get("/workflows") { _, context -> Response in
            let stats = try await self.engine.statistics()
            var counts: [String: [SagaStatus: Int]] = [:]
            for entry in stats.byWorkflow {
                counts["\(entry.workflow)@\(entry.version)", default: [:]][entry.status] = entry.count
            }
            return Self.htmlResponse(self.pages(context).workflows(self.workflowEntries(), counts: counts))
        }
    }

    // MARK: Helpers

    func pages(_ context: SagaRequestContext, now: Date = Date()) -> SagaDashboardPages {
        let csrf = context.principal.map { sessions.csrfToken(for: $0) } ?? ""
        return SagaDashboardPages(principal: context.principal, csrf: csrf, readOnly: configuration.readOnly, now: now)
    }

    /// Sets the session cookie and sends the browser on.
    func loggedIn(_ principal: SagaPrincipal, next: String) -> Response {
        var response = Self.redirect(next)
        var cookie = "\(SagaSessionKeys.cookieName)=\(sessions.session(forTokenHash: principal.tokenHash)); Path=/; HttpOnly; SameSite=Strict"
        if configuration.secureCookies { cookie += "; Secure" }
        response.headers[.setCookie] = cookie
        return response
    }

    /// A path on this server to go to after logging in (never another site).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/" }
        return next
    }

    static func redirect(_ location: String) -> Response {
        var response = Response(status: .seeOther)
        response.headers[.location] = location
        return response
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: type, .cacheControl: "max-age=300"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// A form body (at most `configuration.maxBodyBytes`).
    func readForm(_ request: Request) async throws -> SagaQueryItems {
        let buffer = try await readBody(request)
        var items = SagaQueryItems(nil)
        items.items = SagaQueryItems.parse(String(buffer: buffer))
        return items
    }

    /// A browser session's form must carry its CSRF token; a Bearer request needs none.
    func checkCSRF(_ form: SagaQueryItems, _ context: SagaRequestContext) throws {
        guard context.viaCookie else { return }
        guard let principal = context.principal, sessions.checkCSRF(form.first("csrf"), for: principal) else {
            throw SagaServerError(.csrf, "the form's CSRF token is missing or wrong: reload the page", status: .forbidden)
        }
    }

    static func checkConfirmed(_ form: SagaQueryItems) throws {
        guard form.first("confirm") == "yes" else {
            throw SagaServerError(.invalidRequest, "tick confirm to do this", status: .badRequest)
        }
    }

    /// An optional JSON field of a form (empty: absent).
    static func formJSON(_ form: SagaQueryItems, _ name: String) throws -> JSONValue? {
        guard let text = form.first(name), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        do {
            return try JSONValue(parsing: text)
        } catch {
            throw SagaServerError(.invalidRequest, "\(name) is not valid JSON: \(error.message)", status: .badRequest)
        }
    }

    /// An error as a dashboard page.
    func errorPage(_ error: SagaServerError, context: SagaRequestContext) -> Response {
        let body: HTML = """
            <h1>\(String(error.status.code)) \(error.status.reasonPhrase)</h1><p class="error">\(error.message)</p>
            <p class="muted">code: \(error.code.description)</p><p><a href="/">Overview</a></p>
            """
        return Self.htmlResponse(pages(context).layout("Error", active: "", body), status: error.status)
    }

    static func htmlResponse(_ page: HTML, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: page.description))
        )
    }
}
