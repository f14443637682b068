import Foundation
import Sagas

/// The span of one `http` request, a child of the attempt's span when the engine traces, with the OpenTelemetry HTTP
/// client attributes: named by the method, of client kind; its `traceparent` is the header the target receives.
/// A redirect followed is a request of its own, with a span of its own. `url.full` is redacted like the journal.
struct HTTPClientSpan {
    let span: (any SagaSpan)?

    init(method: String, target: HTTPTarget, address: HTTPAddress, context: StepContext) {
        guard let span = context.span?.startChild(method, kind: .client) else {
            self.span = nil
            return
        }
        self.span = span
        span.setAttribute("http.request.method", .string(method))
        span.setAttribute("server.address", .string(target.host))
        span.setAttribute("server.port", .int(target.port))
        span.setAttribute("url.scheme", .string(target.scheme))
        span.setAttribute("url.full", .string(context.redactor.redact("\(target.scheme)://\(target.authority)\(target.pathAndQuery)")))
        span.setAttribute("network.peer.address", .string(address.description))
    }

    /// The header to send: this request's span, or the attempt's when nothing traces.
    func traceparent(_ context: StepContext) -> String {
        span?.traceparent ?? HTTPTraceContext.traceparent(for: context)
    }

    func received(status: Int) {
        span?.setAttribute("http.response.status_code", .int(status))
        if status >= 400 { span?.setAttribute("error.type", .string(String(status))) }
    }

    func failed(_ error: any Error) {
        span?.setAttribute("error.type", .string(String(reflecting: type(of: error))))
    }

    /// Ends the span: an error status for a failure or an unknown outcome, as the attempt is judged.
    func end(_ attempt: HTTPExecutor.Attempt) {
        guard let span else { return }
        switch attempt {
        case .outcome(.failure(let failure)): span.end(error: failure.message)
        case .outcome(.unknown(let message)): span.end(error: message)
        case .outcome(.success), .outcome(.notHappened), .redirect: span.end(error: nil)
        }
    }
}
