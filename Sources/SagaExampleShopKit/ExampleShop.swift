import Foundation
import Synchronization

/// A small shop service for the order saga over HTTP (`Workflows/shop-order.json`), for demos and tests.
///
/// Binds 127.0.0.1 only. Every POST honours `Idempotency-Key`: the same key on the same route returns the first
/// response again without a second effect. Endpoints:
///
/// | route | effect |
/// | --- | --- |
/// | `POST /orders` | creates an order: 201 `{"id": "ord-1", …}` |
/// | `DELETE /orders/{id}` | cancels it (`{id}` may be the idempotency key that created it): 200 |
/// | `POST /inventory/reservations` | reserves stock: 201 `{"id": "res-1"}` |
/// | `DELETE /inventory/reservations/{id}` | releases it (`{id}` may be the key that made it): 200 |
/// | `POST /payments` | charges `{"amount": N}` (N > 0, else 400): 201 `{"id": "pay-1", …}` |
/// | `POST /payments/{id}/refund` | refunds it: 200 |
/// | `GET /payments?key=KEY` | 200 with the payment made with that idempotency key, 404 when there is none |
/// | `POST /shipments` | ships: 201 `{"id": "shp-1"}` |
/// | `GET /_effects` | `{"effects": [{"method", "path", "key"}]}`, in order |
/// | `POST /_control` | `{"fail": {"POST /payments": 503}, "hang": ["POST /shipments"], "times": {"POST /payments": 1}, "retryAfter": 1}` |
/// | `ANY /_echo` | `{"method", "path", "headers", "body"}`: the request as received |
/// | `GET /_redirect?to=URL&status=302` | a redirect to URL (default: to itself) |
/// | `GET /_big?bytes=N` | 200 with N bytes of body |
///
/// Anti-hanging (the rule of Docs/http.md): once the shop has seen a compensation's key (`SAGA/STEP/compensation`),
/// it refuses the action of that saga and step (`SAGA/STEP/action`) with 409 and no effect, so that an action that
/// arrives late (sent by a worker that was killed, or frozen past its lease) cannot take effect after its undo.
///
/// Routes in `fail` and `hang` are `METHOD /path` with `{id}` for an id (`DELETE /orders/{id}`) or a literal path.
/// A failing route answers its status (with `Retry-After` when `retryAfter` is set) and has no effect; a hanging
/// route never answers (and has no effect). `times` limits how many requests a rule applies to.
public final class ExampleShop: Sendable {
    /// One effect the shop performed.
    public struct Effect: Sendable, Hashable {
        public var method: String
        public var path: String
        public var key: String?
    }

    /// A request as the shop received it.
    public struct Request: Sendable {
        public var method: String
        /// Path and query.
        public var uri: String
        /// Lowercased names; repeated headers joined with ", ".
        public var headers: [String: String]
        public var body: String
    }

    /// How the shop misbehaves.
    public struct Control: Sendable {
        /// Route → status to answer instead of doing the work.
        public var fail: [String: Int]
        /// Routes that never answer.
        public var hang: Set<String>
        /// Route → how many more requests its `fail` or `hang` rule applies to; absent: all.
        public var times: [String: Int]
        /// Seconds for `Retry-After` on failures.
        public var retryAfter: Int?

        public init(fail: [String: Int] = [:], hang: Set<String> = [], times: [String: Int] = [:], retryAfter: Int? = nil) {
            self.fail = fail
            self.hang = hang
            self.times = times
            self.retryAfter = retryAfter
        }
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: String
    }

    private struct State {
        var control: Control
        var effects: [Effect] = []
        var requests: [Request] = []
        var replies: [String: Reply] = [:]
        var paymentsByKey: [String: String] = [:]
        /// Action keys (`SAGA/STEP/action`) whose compensation the shop has seen.
        var compensatedActions: Set<String> = []
        /// Orders and reservations by the idempotency key that created them: a compensation whose step's outcome
        /// was unknown names them by key.
        var idsByKey: [String: String] = [:]
        var counter = 0
        /// The running server (`start`), stopped by `stop`.
        var server: ExampleShopServer?
    }

    private let state: Mutex<State>

    public init(control: Control = Control()) {
        state = Mutex(State(control: control))
    }

    /// The effects performed so far, in order.
    public var effects: [Effect] { state.withLock { $0.effects } }

    /// Every request received so far, in order (control and inspection requests included).
    public var requests: [Request] { state.withLock { $0.requests } }

    /// Replaces how the shop misbehaves.
    public func setControl(_ control: Control) {
        state.withLock { $0.control = control }
    }

    /// Starts listening on 127.0.0.1 (a Hummingbird server: `ExampleShopServer`).
    ///
    /// - Parameter port: 0 picks a free port.
    /// - Returns: the port.
    public func start(port: Int = 0) async throws -> Int {
        let server = ExampleShopServer(shop: self)
        let bound = try await server.start(port: port)
        let previous = state.withLock { s -> ExampleShopServer? in
            defer { s.server = server }
            return s.server
        }
        await previous?.stop()
        return bound
    }

    /// Stops listening; requests that hang end too.
    public func stop() async throws {
        let server = state.withLock { s -> ExampleShopServer? in
            defer { s.server = nil }
            return s.server
        }
        await server?.stop()
    }

    // MARK: Handling

    /// `nil`: hang.
    func handle(method: String, uri: String, headers: [(String, String)], body: String) -> Reply? {
        var flat: [String: String] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            flat[key] = flat[key].map { "\($0), \(value)" } ?? value
        }
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        let query = parts.count > 1 ? ExampleShop.parseQuery(String(parts[1])) : [:]
        let segments = path.split(separator: "/").map(String.init)
        let key = flat["idempotency-key"]
        return state.withLock { s -> Reply? in
            s.requests.append(Request(method: method, uri: uri, headers: flat, body: body))
            if path.hasPrefix("/_") {
                return ExampleShop.inspect(&s, method: method, path: path, query: query, headers: flat, body: body)
            }
            if method != "GET", let key {
                if let action = ExampleShop.actionKey(compensatedBy: key) {
                    s.compensatedActions.insert(action)
                } else if s.compensatedActions.contains(key) {
                    return ExampleShop.reply(
                        409, ["error": "the compensation of \(key) has already been seen: the action is refused"]
                    )
                }
            }
            let template = ExampleShop.template(of: segments)
            let routes = ["\(method) \(template)", "\(method) \(path)"]
            for route in routes where s.control.hang.contains(route) && ExampleShop.consume(&s, route) {
                return nil
            }
            for route in routes {
                if let status = s.control.fail[route], ExampleShop.consume(&s, route) {
                    var reply = Reply(status: status, body: #"{"error":"failing on purpose"}"#)
                    if let after = s.control.retryAfter { reply.headers.append(("Retry-After", String(after))) }
                    return reply
                }
            }
            let replayKey = key.map { "\(method) \(path) \($0)" }
            if method != "GET", let replayKey, let stored = s.replies[replayKey] {
                return stored
            }
            let reply = ExampleShop.route(&s, method: method, path: path, segments: segments, query: query, body: body, key: key)
            if reply.status < 300 && method != "GET" {
                s.effects.append(Effect(method: method, path: path, key: key))
                if let replayKey { s.replies[replayKey] = reply }
            }
            return reply
        }
    }

    /// `SAGA/STEP/action` for a compensation's key `SAGA/STEP/compensation`; `nil` for any other key.
    static func actionKey(compensatedBy key: String) -> String? {
        let suffix = "/compensation"
        guard key.hasSuffix(suffix), key.count > suffix.count else { return nil }
        return String(key.dropLast(suffix.count)) + "/action"
    }

    static let templates = [["orders", "{id}"], ["inventory", "reservations", "{id}"], ["payments", "{id}", "refund"]]

    /// The route's template: `/orders/{id}` for `/orders/ord-1`; the path itself when no template matches.
    static func template(of segments: [String]) -> String {
        for t in templates where t.count == segments.count {
            if zip(t, segments).allSatisfy({ $0 == "{id}" || $0 == $1 }) { return "/" + t.joined(separator: "/") }
        }
        return "/" + segments.joined(separator: "/")
    }

    private static func consume(_ s: inout State, _ route: String) -> Bool {
        guard let left = s.control.times[route] else { return true }
        guard left > 0 else { return false }
        s.control.times[route] = left - 1
        return true
    }

    private static func nextID(_ s: inout State, _ prefix: String) -> String {
        s.counter += 1
        return "\(prefix)-\(s.counter)"
    }

    private static func route(
        _ s: inout State,
        method: String,
        path: String,
        segments: [String],
        query: [String: String],
        body: String,
        key: String?
    ) -> Reply {
        let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])) as? [String: Any]
        let route = "\(method) \(template(of: segments))"
        let id = segments.count > 1 ? segments[segments.count == 3 && segments[0] == "payments" ? 1 : segments.count - 1] : ""
        switch route {
        case "POST /orders":
            let created = nextID(&s, "ord")
            if let key { s.idsByKey[key] = created }
            var out: [String: Any] = ["id": created, "status": "created"]
            if let json { out["order"] = json }
            return reply(201, out)
        case "DELETE /orders/{id}":
            return reply(200, ["id": s.idsByKey[id.removingPercentEncoding ?? id] ?? id, "status": "cancelled"])
        case "POST /inventory/reservations":
            let created = nextID(&s, "res")
            if let key { s.idsByKey[key] = created }
            return reply(201, ["id": created, "status": "reserved"])
        case "DELETE /inventory/reservations/{id}":
            return reply(200, ["id": s.idsByKey[id.removingPercentEncoding ?? id] ?? id, "status": "released"])
        case "POST /payments":
            guard let amount = json?["amount"] as? NSNumber, amount.doubleValue > 0 else {
                return reply(400, ["error": "amount must be a positive number"])
            }
            let id = nextID(&s, "pay")
            let payment: [String: Any] = ["id": id, "amount": amount, "status": "captured", "key": key ?? NSNull()]
            if let key { s.paymentsByKey[key] = id }
            return reply(201, payment)
        case "POST /payments/{id}/refund":
            return reply(200, ["id": id, "status": "refunded"])
        case "GET /payments":
            guard let key = query["key"], let id = s.paymentsByKey[key] else {
                return reply(404, ["error": "no payment with that key"])
            }
            return reply(200, ["id": id, "status": "captured", "key": key])
        case "POST /shipments":
            return reply(201, ["id": nextID(&s, "shp"), "status": "shipped"])
        default:
            return reply(404, ["error": "no route \(method) \(path)"])
        }
    }

    private static func inspect(
        _ s: inout State,
        method: String,
        path: String,
        query: [String: String],
        headers: [String: String],
        body: String
    ) -> Reply {
        switch (method, path) {
        case ("GET", "/_effects"):
            let list: [[String: Any]] = s.effects.map { ["method": $0.method, "path": $0.path, "key": $0.key ?? NSNull()] }
            return reply(200, ["effects": list])
        case ("POST", "/_control"):
            guard let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] else {
                return reply(400, ["error": "expected a JSON object"])
            }
            var control = Control()
            control.fail = (json["fail"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
            control.hang = Set(json["hang"] as? [String] ?? [])
            control.times = (json["times"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
            control.retryAfter = (json["retryAfter"] as? NSNumber)?.intValue
            s.control = control
            return reply(200, ["ok": true])
        case (_, "/_echo"):
            let parsed = try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])
            return reply(200, ["method": method, "path": path, "headers": headers, "body": parsed ?? body])
        case ("GET", "/_redirect"):
            let status = query["status"].flatMap(Int.init) ?? 302
            return Reply(status: status, headers: [("Location", query["to"] ?? "/_redirect")], body: "")
        case ("GET", "/_big"):
            let n = query["bytes"].flatMap(Int.init) ?? 0
            return Reply(status: 200, headers: [("Content-Type", "text/plain")], body: String(repeating: "x", count: n))
        default:
            return reply(404, ["error": "no route \(method) \(path)"])
        }
    }

    static func reply(_ status: Int, _ object: [String: Any]) -> Reply {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Reply(status: status, headers: [("Content-Type", "application/json")], body: String(decoding: data, as: UTF8.self))
    }

    static func parseQuery(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(kv[0]).removingPercentEncoding ?? String(kv[0])
            let value = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
            out[name] = value
        }
        return out
    }
}
