import Foundation
import Hummingbird
import NIOCore
import Sagas

extension SagaServer {
    func addDashboardRoutes(to router: Router<SagaRequestContext>) {
    }

    /// An error as a dashboard page.
    func errorPage(_ error: SagaServerError, context: SagaRequestContext) -> Response {
        let body: HTML = "<h1>\(String(error.status.code)) \(error.status.reasonPhrase)</h1><p>\(error.message)</p>"
        return Self.htmlResponse(body, status: error.status)
    }

    static func htmlResponse(_ page: HTML, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: page.description))
        )
    }
}
