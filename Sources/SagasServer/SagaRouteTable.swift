import HTTPTypes
import Hummingbird
import Synchronization

/// The methods each route path takes, filled in once the router is built, so that a request for a path that
/// exists with another method gets 405 with `Allow` instead of Hummingbird's 404.
final class SagaRouteTable: Sendable {
    private let routes = Mutex<[(method: String, components: [String])]>([])

    func fill(from router: Router<SagaRequestContext>) {
        let table = router.routes.map { route in
            (method: route.method.rawValue, components: route.path.components.map { "\($0)" })
        }
        routes.withLock { $0 = table }
    }

    /// A path parameter, as `RouterPath` describes one: `{name}` (or `:name`).
    static func isCapture(_ component: String) -> Bool {
        component.hasPrefix(":") || (component.hasPrefix("{") && component.hasSuffix("}"))
    }

    /// The methods routed for `path` (a parameter matches any one segment), sorted. As the router does, a
    /// constant segment wins over a parameter: `/v1/webhooks/deliveries` is not `/v1/webhooks/{id}`.
    func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let matching = routes.withLock { table in
            table.filter { route in
                route.components.count == segments.count
                    && zip(route.components, segments).allSatisfy { Self.isCapture($0) || $0 == $1 }
            }
        }
        // The most specific shape: constants as early as possible.
        func shape(_ components: [String]) -> String {
            components.map { Self.isCapture($0) ? "0" : "1" }.joined()
        }
        guard let best = matching.map({ shape($0.components) }).max() else { return [] }
        return matching.filter { shape($0.components) == best }.map(\.method).sorted()
    }
}
