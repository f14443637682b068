import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Finds who made a request: an `Authorization: Bearer TOKEN` header, else the dashboard's session cookie.
///
/// Public paths (`/healthz`, `/readyz`, `/v1/openapi.json`, `/login`, `/static/…`) pass without a token. Any
/// other API path (`/v1/…`) without a valid token is refused with 401 and `WWW-Authenticate: Bearer`; a
/// dashboard page without one redirects to `/login`. A header that is present but wrong is a 401 everywhere but
/// on the public paths, even when a valid cookie is present too.
struct SagaAuthMiddleware: RouterMiddleware {
    typealias Context = SagaRequestContext

    let tokens: SagaAccessTokens
    let sessions: SagaSessionKeys

    static func isPublic(_ path: String) -> Bool {
        path == "/healthz" || path == "/readyz" || path == "/v1/openapi.json" || path == "/login"
            || path.hasPrefix("/static/") || isSignal(path)
    }

    /// `/v1/sagas/{id}/steps/{step}/signal`: a service's callback, authorized by the callback token in its body
    /// (an operator's bearer token works too).
    static func isSignal(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 7 && parts[0].isEmpty && parts[1] == "v1" && parts[2] == "sagas" && !parts[3].isEmpty
            && parts[4] == "steps" && !parts[5].isEmpty && parts[6] == "signal"
    }

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let path = request.uri.path
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer",
                let principal = tokens.principal(forToken: String(parts[1]).trimmingCharacters(in: .whitespaces))
            {
                context.principal = principal
            } else if !Self.isPublic(path) {
                throw SagaServerError(.unauthorized, "the bearer token is not valid", status: .unauthorized)
            }
        } else if let cookie = request.cookies[SagaSessionKeys.cookieName],
            let hash = sessions.tokenHash(fromSession: cookie.value),
            let principal = tokens.principal(forHash: hash)
        {
            context.principal = principal
            context.viaCookie = true
        }
        if context.principal == nil && !Self.isPublic(path) {
            if path.hasPrefix("/v1/") || path == "/v1" || path == "/metrics" {
                throw SagaServerError(
                    .unauthorized,
                    "this endpoint needs a token: send Authorization: Bearer TOKEN",
                    status: .unauthorized
                )
            }
            var response = Response(status: .seeOther)
            let next = request.method == .get ? path + (request.uri.query.map { "?" + $0 } ?? "") : "/"
            response.headers[.location] = "/login?next=" + SagaHTML.queryEscape(next)
            return response
        }
        return try await next(request, context)
    }
}

/// The dashboard's session cookie and CSRF tokens: HMAC-SHA256 under a key made at startup (sessions end when
/// the server restarts). The cookie holds the token's SHA-256 and a MAC of it, never the token itself.
struct SagaSessionKeys: Sendable {
    static let cookieName = "saga_session"
    /// The key's bytes (`SymmetricKey` is not `Sendable`).
    let keyBytes: [UInt8]

    init(keyBytes: [UInt8]? = nil) {
        var generator = SystemRandomNumberGenerator()
        self.keyBytes = keyBytes ?? (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    func session(forTokenHash hash: [UInt8]) -> String {
        SagaAccessTokens.hex(hash) + "." + mac("session", hash)
    }

    func tokenHash(fromSession value: String) -> [UInt8]? {
        let parts = value.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let hash = SagaAccessTokens.bytes(hex: parts[0]), hash.count == 32,
            let given = SagaAccessTokens.bytes(hex: parts[1])
        else { return nil }
        guard let expected = SagaAccessTokens.bytes(hex: mac("session", hash)),
            SagaAccessTokens.constantTimeEqual(expected, given)
        else { return nil }
        return hash
    }

    /// The CSRF token of a principal's forms (the same for the whole session).
    func csrfToken(for principal: SagaPrincipal) -> String {
        mac("csrf", principal.tokenHash)
    }

    func checkCSRF(_ value: String?, for principal: SagaPrincipal) -> Bool {
        guard let value, let given = SagaAccessTokens.bytes(hex: value),
            let expected = SagaAccessTokens.bytes(hex: csrfToken(for: principal))
        else { return false }
        return SagaAccessTokens.constantTimeEqual(expected, given)
    }

    private func mac(_ purpose: String, _ hash: [UInt8]) -> String {
        var data = Data(purpose.utf8)
        data.append(0)
        data.append(contentsOf: hash)
        return SagaAccessTokens.hex(Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: keyBytes))))
    }
}
