public import Foundation
public import Hummingbird
import HTTPTypes
public import Logging
import NIOCore
public import Sagas
public import ServiceLifecycle

/// `saga serve`: the HTTP API (`/v1/…`) and the dashboard over one ``SagaEngine``.
///
/// The server knows no store: it is handed an engine (and through it the store), the folder of workflows, and
/// the tokens it accepts. ``makeRouter()`` builds the routes, so that tests can drive them in-process with
/// HummingbirdTesting; ``makeApplication(host:port:services:onServerRunning:)`` puts them behind a listening
/// socket, with the worker and other services in the same ServiceLifecycle group.
public struct SagaServer: Sendable {
    /// Settings of a server (defaults suit `saga serve`).
    public struct Configuration: Sendable {
        /// The default largest request body, 1 MiB.
        public static let defaultMaxBodyBytes = 1 << 20

        /// Refuse every change (403 `read_only`), whatever the token's role.
        public var readOnly: Bool
        /// Request bodies larger than this are refused with 413 `body_too_large`, before anything is journaled.
        public var maxBodyBytes: Int
        /// How often `GET /v1/events` looks for new journal events.
        public var eventPollInterval: Duration
        /// Whether the session cookie is marked `Secure` (set it behind an HTTPS reverse proxy).
        public var secureCookies: Bool
        /// Whether the worker runs in this process, as `GET /readyz` reports it; `nil`: no worker is expected
        /// (`--no-worker`).
        public var workerRunning: (@Sendable () -> Bool)?
        /// The Prometheus text `GET /metrics` serves (to any authenticated role); `nil`: 404.
        public var metrics: (@Sendable () async -> String)?
        /// Checks a webhook address before `POST /v1/webhooks` stores it (`saga serve` passes the guard of `http`
        /// steps); it throws to refuse. `nil`: only the delivery checks it.
        public var webhookAddressCheck: (@Sendable (String) async throws -> Void)?

        public init(
            readOnly: Bool = false,
            maxBodyBytes: Int = Configuration.defaultMaxBodyBytes,
            eventPollInterval: Duration = .milliseconds(250),
            secureCookies: Bool = false,
            workerRunning: (@Sendable () -> Bool)? = nil,
            metrics: (@Sendable () async -> String)? = nil,
            webhookAddressCheck: (@Sendable (String) async throws -> Void)? = nil
        ) {
            self.metrics = metrics
            self.webhookAddressCheck = webhookAddressCheck
            self.readOnly = readOnly
            self.maxBodyBytes = maxBodyBytes
            self.eventPollInterval = eventPollInterval
            self.secureCookies = secureCookies
            self.workerRunning = workerRunning
        }
    }

    public let engine: SagaEngine
    public let catalog: WorkflowCatalog
    public let tokens: SagaAccessTokens
    public let configuration: Configuration
    let logger: Logger
    let sessions: SagaSessionKeys

    /// - Parameters:
    ///   - engine: the engine whose client API every endpoint calls; its store is the one served.
    ///   - catalog: the folder of workflow files that `POST /v1/sagas` and `GET /v1/workflows` read.
    ///   - tokens: the tokens accepted, with their names and roles.
    ///   - configuration: read-only mode, limits, readiness.
    ///   - logger: where request failures are logged (never a token).
    public init(
        engine: SagaEngine,
        catalog: WorkflowCatalog,
        tokens: SagaAccessTokens,
        configuration: Configuration = .init(),
        logger: Logger
    ) {
        self.engine = engine
        self.catalog = catalog
        self.tokens = tokens
        self.configuration = configuration
        self.logger = logger
        self.sessions = SagaSessionKeys()
    }

    /// The router with every route: health checks, the API, the OpenAPI document and the dashboard.
    public func makeRouter() -> Router<SagaRequestContext> {
        let router = Router(context: SagaRequestContext.self)
        let table = SagaRouteTable()
        // Middlewares first: Hummingbird applies a router's middlewares to the routes added after them.
        router.add(
            middleware: SagaErrorMiddleware(
                page: { error, context in self.errorPage(error, context: context) },
                routes: table
            )
        )
        router.add(middleware: SagaAuthMiddleware(tokens: tokens, sessions: sessions))
        addHealthRoutes(to: router)
        addAPIRoutes(to: router)
        addWebhookRoutes(to: router)
        addEventRoutes(to: router)
        addDashboardRoutes(to: router)
        table.fill(from: router)
        return router
    }

    /// An application listening on `host:port` (port 0: any free port; `onServerRunning` is told which), that
    /// also runs `services` (the worker, the reconciliation job) in its ServiceLifecycle group.
    public func makeApplication(
        host: String,
        port: Int,
        services: [any Service] = [],
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    // MARK: Health

    func addHealthRoutes(to router: Router<SagaRequestContext>) {
        router.get("/metrics") { _, _ -> Response in
            guard let metrics = self.configuration.metrics else {
                throw SagaServerError(.metricsNotEnabled, "metrics are not enabled in this server", status: .notFound)
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: await metrics())))
        }
        router.get("/healthz") { _, _ -> Response in
            Self.jsonResponse(["status": "ok"])
        }
        router.get("/readyz") { _, _ -> Response in
            var body: [String: JSONValue] = [:]
            var ready = true
            do {
                _ = try await self.engine.list(SagaQuery(limit: 1))
                body["database"] = "ok"
            } catch {
                ready = false
                body["database"] = .string("\(error)")
            }
            if let running = self.configuration.workerRunning {
                let isRunning = running()
                body["worker"] = isRunning ? "running" : "stopped"
                if !isRunning { ready = false }
            } else {
                body["worker"] = "disabled"
            }
            body["status"] = ready ? "ready" : "not_ready"
            return Self.jsonResponse(.object(body), status: ready ? .ok : .serviceUnavailable)
        }
    }

    // MARK: Helpers

    /// A JSON response.
    static func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: value.jsonString))
        )
    }

    /// The principal of an authenticated request that may act as `role` (and, for a change, is not refused by
    /// read-only mode).
    ///
    /// - Throws: 401 without a principal, 403 `read_only` for a change in read-only mode, 403 `forbidden` for a
    ///   role below `role`.
    func authorize(_ context: SagaRequestContext, _ role: SagaRole, change: Bool, action: String) throws
        -> SagaPrincipal
    {
        guard let principal = context.principal else {
            throw SagaServerError(.unauthorized, "this endpoint needs a token", status: .unauthorized)
        }
        if change && configuration.readOnly {
            throw SagaServerError(.readOnly, "the server is read-only: \(action) is refused", status: .forbidden)
        }
        guard principal.role >= role else {
            throw SagaServerError(
                .forbidden,
                "\(principal.name) has role \(principal.role.rawValue); \(action) needs \(role.rawValue)",
                status: .forbidden
            )
        }
        return principal
    }

    /// The request body, at most `configuration.maxBodyBytes`.
    func readBody(_ request: Request) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > configuration.maxBodyBytes {
            throw tooLarge()
        }
        do {
            return try await request.body.collect(upTo: configuration.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge()
        }
    }

    private func tooLarge() -> SagaServerError {
        SagaServerError(
            .bodyTooLarge,
            "the request body is larger than \(configuration.maxBodyBytes) bytes; nothing was done",
            status: .contentTooLarge
        )
    }

    /// A JSON object body with only `allowed` fields (an empty body is `{}`).
    ///
    /// - Throws: 413 for a body over the limit; 400 `invalid_request` for malformed JSON, a body that is not an
    ///   object, or an unknown field.
    func readObject(_ request: Request, allowed: [String]) async throws -> [String: JSONValue] {
        let buffer = try await readBody(request)
        let text = String(buffer: buffer)
        if text.allSatisfy({ $0.isWhitespace }) { return [:] }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: text)
        } catch {
            throw SagaServerError(.invalidRequest, "the body is not valid JSON: \(error.message)", status: .badRequest)
        }
        guard case .object(let object) = value else {
            throw SagaServerError(.invalidRequest, "the body must be a JSON object", status: .badRequest)
        }
        for key in object.keys.sorted() where !allowed.contains(key) {
            throw SagaServerError(
                .invalidRequest,
                "unknown field '\(String(key.prefix(64)))'; this endpoint takes "
                    + (allowed.isEmpty ? "no fields" : allowed.joined(separator: ", ")),
                status: .badRequest
            )
        }
        return object
    }

    /// A string field of a body, if present.
    static func string(_ object: [String: JSONValue], _ key: String) throws -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let text = value.stringValue else {
            throw SagaServerError(.invalidRequest, "'\(key)' must be a string", status: .badRequest)
        }
        return text
    }

    /// A path parameter, percent-decoded (an intervention id's `#` travels as `%23`).
    static func parameter(_ context: SagaRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }
}
