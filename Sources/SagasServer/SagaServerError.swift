public import HTTPTypes
public import Hummingbird
public import Sagas

/// The one error type of `SagasServer`: a stable code, a message for people, and the HTTP status it is sent with.
///
/// Engine errors (``SagaError``) keep their own code and are given a status here, at the edge
/// (``init(_:)``); the server's own refusals (no token, wrong role, read-only, body too large) have codes of
/// their own. Every error leaves the server as `{"error": {"code": "...", "message": "..."}}`.
public struct SagaServerError: Error, Sendable, CustomStringConvertible, HTTPResponseError {
    /// A stable, extensible error code: the engine's codes and the server's own.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: String
        public init(_ base: String) { self.base = base }
        public var description: String { base }

        /// No token, or one that matches no known token.
        public static let unauthorized = Code("unauthorized")
        /// The token's role may not do this.
        public static let forbidden = Code("forbidden")
        /// The server runs with `--read-only`: no change is accepted.
        public static let readOnly = Code("read_only")
        /// The request body is larger than the limit.
        public static let bodyTooLarge = Code("body_too_large")
        /// A body or query that is not what the endpoint takes (malformed JSON, unknown or missing fields).
        public static let invalidRequest = Code("invalid_request")
        /// No such route.
        public static let notFound = Code("not_found")
        /// `GET /metrics` on a server that was not given metrics.
        public static let metricsNotEnabled = Code("metrics_not_enabled")
        /// The route exists, but not for this method.
        public static let methodNotAllowed = Code("method_not_allowed")
        /// A state-changing form without a valid CSRF token.
        public static let csrf = Code("csrf_token_invalid")
        /// A tokens file with a bad line, or another startup setting that cannot work.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// The database cannot be read or the worker is not running.
        public static let notReady = Code("not_ready")
        /// Anything unexpected.
        public static let internalError = Code("internal_error")
    }

    public var code: Code
    public var message: String
    public var status: HTTPResponse.Status

    public init(_ code: Code, _ message: String, status: HTTPResponse.Status) {
        self.code = code
        self.message = message
        self.status = status
    }

    /// An engine error with the HTTP status its code maps to.
    public init(_ error: SagaError) {
        self.init(Code(error.code.description), error.message, status: Self.status(for: error.code))
    }

    public var description: String { message }

    /// The HTTP status of an engine error code (the only place where the two meet).
    public static func status(for code: SagaError.Code) -> HTTPResponse.Status {
        switch code {
        case .sagaNotFound, .workflowNotFound, .webhookNotFound: .notFound
        case .sagaConflict, .invalidState, .leaseLost, .corruptJournal, .staleSignal: .conflict
        case .wrongToken: .forbidden
        case .tooLarge: .contentTooLarge
        case .databaseLocked, .databaseReadOnly, .databaseFull, .databaseNotFound, .databaseCorrupt, .schemaTooNew,
            .storageFailure:
            .serviceUnavailable
        default: .badRequest
        }
    }

    /// The error as the JSON object every endpoint sends.
    public var json: JSONValue {
        .object(["error": .object(["code": .string(code.description), "message": .string(message)])])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = SagaServer.jsonResponse(json, status: status)
        if status == .unauthorized {
            response.headers[.wwwAuthenticate] = "Bearer realm=\"saga\""
        }
        return response
    }
}
