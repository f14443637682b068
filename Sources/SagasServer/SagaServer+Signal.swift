import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Sagas

// `POST /v1/sagas/{id}/steps/{step}/signal`: a service tells a waiting step how the work its action started ended.
// The callback token in the body authorizes it (the path is public to the auth middleware); an operator's bearer
// token may signal too, and may leave the token out to settle the attempt that waits now.
extension SagaServer {
    func addSignalRoute(to v1: RouterGroup<SagaRequestContext>) {
        v1.post("/sagas/:id/steps/:step/signal") { request, context -> Response in
            if self.configuration.readOnly {
                throw SagaServerError(.readOnly, "the server is read-only: signals are refused", status: .forbidden)
            }
            let id = try Self.parameter(context, "id")
            let step = try Self.parameter(context, "step")
            let body = try await self.readObject(request, allowed: ["token", "output", "error", "permanent"])
            let token = try Self.string(body, "token")
            var by = "callback"
            if let principal = context.principal, principal.role >= .operator {
                by = principal.name
            } else if token == nil {
                throw SagaServerError(
                    .unauthorized, "a signal needs its callback token ('token'), or an operator's bearer token",
                    status: .unauthorized)
            }
            let output = body["output"]
            let error = try Self.string(body, "error")
            let permanent = body["permanent"]
            if let permanent, permanent != .null, permanent.boolValue == nil {
                throw SagaServerError(.invalidRequest, "'permanent' must be true or false", status: .badRequest)
            }
            let outcome: SagaSignalOutcome
            switch (output, error) {
            case (.some(let value), nil):
                if permanent?.boolValue == true {
                    throw SagaServerError(.invalidRequest, "'permanent' goes with 'error'", status: .badRequest)
                }
                outcome = .output(value)
            case (nil, .some(let message)):
                outcome = .error(message, permanent: permanent?.boolValue ?? false)
            default:
                throw SagaServerError(
                    .invalidRequest, "give exactly one of 'output' (any JSON) and 'error' (a string)", status: .badRequest)
            }
            let result = try await self.engine.signal(sagaID: id, step: step, token: token, outcome: outcome, by: by)
            self.logger.info(
                "step signalled",
                metadata: ["saga.id": "\(id)", "saga.step": "\(step)", "by": "\(by)", "disposition": "\(result.disposition)"]
            )
            return Self.jsonResponse([
                "saga": .string(result.record.id),
                "step": .string(step),
                "attempt": .integer(result.attempt),
                "disposition": .string(result.disposition),
                "seq": .integer(result.seq),
                "status": .string(result.record.status.rawValue),
            ])
        }
    }
}
