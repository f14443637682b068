import HTTPTypes
import Hummingbird
import Logging
import Sagas

/// The outermost middleware: every error becomes `{"error": {"code", "message"}}` with its status (a dashboard
/// page gets the same as HTML), and every response gets the security headers.
struct SagaErrorMiddleware: RouterMiddleware {
    typealias Context = SagaRequestContext

    /// Renders an error as a dashboard page (for paths outside `/v1` and the health checks).
    let page: @Sendable (SagaServerError, Context) -> Response
    /// The routes, for telling a wrong method (405) from a missing route (404).
    let routes: SagaRouteTable

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            var mapped = Self.map(error, request: request)
            var allow: [String] = []
            if mapped.code == .notFound {
                allow = routes.methods(for: request.uri.path)
                if !allow.isEmpty {
                    mapped = SagaServerError(
                        .methodNotAllowed,
                        "\(request.method) is not allowed on \(request.uri.path); allowed: \(allow.joined(separator: ", "))",
                        status: .methodNotAllowed
                    )
                }
            }
            if mapped.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": "\(String(describing: error))"])
            }
            let path = request.uri.path
            if path.hasPrefix("/v1") || path == "/healthz" || path == "/readyz" || path == "/metrics" {
                response = try mapped.response(from: request, context: context)
            } else {
                response = page(mapped, context)
            }
            if !allow.isEmpty { response.headers[.allow] = allow.joined(separator: ", ") }
        }
        response.headers[.contentSecurityPolicy] = "default-src 'self'; script-src 'self'; frame-ancestors 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        // The first dashboard URL carries the token in its query: it must not leak to other sites.
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return response
    }

    static func map(_ error: any Error, request: Request) -> SagaServerError {
        switch error {
        case let error as SagaServerError:
            return error
        case let error as SagaError:
            return SagaServerError(error)
        case let error as HTTPError:
            switch error.status {
            case .notFound:
                return SagaServerError(.notFound, "no route \(request.method) \(request.uri.path)", status: .notFound)
            case .contentTooLarge:
                return SagaServerError(
                    .bodyTooLarge, "the request body is larger than the limit", status: .contentTooLarge
                )
            case .methodNotAllowed:
                return SagaServerError(
                    .methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)", status: .methodNotAllowed
                )
            default:
                return SagaServerError(
                    .invalidRequest, error.body ?? "the request cannot be served", status: error.status
                )
            }
        default:
            return SagaServerError(.internalError, "internal error", status: .internalServerError)
        }
    }
}
