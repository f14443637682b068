import Foundation
import Hummingbird
import Sagas
import Synchronization

/// A loopback OTLP/HTTP receiver (JSON encoding) that records the spans it is sent; it also plays an `http` step's
/// target: `/step` answers 200 `{}` and `/fail` 503, both recording the `traceparent` header they got.
final class OTLPReceiver: Sendable {
    struct ReceivedSpan: Sendable, CustomStringConvertible {
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var name: String
        var attributes: [String: String]
        /// OTLP's span kind, as the exporter wrote it (`1`/`SPAN_KIND_INTERNAL`, `3`/`SPAN_KIND_CLIENT`, ...).
        var kind: String
        var isClient: Bool { kind == "3" || kind == "SPAN_KIND_CLIENT" }
        var description: String { "\(name) trace=\(traceID) span=\(spanID) parent=\(parentSpanID) \(attributes)" }
    }

    private let received = Mutex<[ReceivedSpan]>([])
    private let targetCalls = Mutex<[(path: String, traceparent: String)]>([])
    /// The requests `/step` and `/fail` got: their path and `traceparent` header.
    var calls: [(path: String, traceparent: String)] { targetCalls.withLock { $0 } }
    private let boundPort = Mutex<Int?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)

    var spans: [ReceivedSpan] { received.withLock { $0 } }
    var port: Int? { boundPort.withLock { $0 } }

    /// Starts listening on 127.0.0.1 (a free port); returns once it listens.
    func start() async throws {
        let router = Router()
        router.post("v1/traces") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            let text = String(buffer: body)
            if let value = try? JSONValue(parsing: text) { self.record(value) }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
        }
        for path in ["step", "fail"] {
            router.on(RouterPath(path), method: path == "step" ? .post : .get) { [self] request, _ -> Response in
                let traceparent = request.headers.first { $0.name.canonicalName == "traceparent" }?.value ?? ""
                self.targetCalls.withLock { $0.append((path: path, traceparent: traceparent)) }
                var headers = HTTPFields()
                headers[.contentType] = "application/json"
                return Response(
                    status: path == "step" ? .ok : .serviceUnavailable, headers: headers,
                    body: ResponseBody(byteBuffer: ByteBuffer(string: "{}"))
                )
            }
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { [self] channel in self.boundPort.withLock { $0 = channel.localAddress?.port } }
        )
        task.withLock { $0 = Task { try await app.runService() } }
        for _ in 0..<500 where port == nil { try await Task.sleep(for: .milliseconds(10)) }
        guard port != nil else { throw CLITestError("the OTLP receiver did not start") }
    }

    func stop() {
        task.withLock { $0?.cancel() }
    }

    /// Waits until `condition` holds for the spans received (or `timeout` passes).
    func wait(timeout: TimeInterval, _ condition: ([ReceivedSpan]) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(spans) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition(spans)
    }

    private func record(_ export: JSONValue) {
        var found: [ReceivedSpan] = []
        for resource in export["resourceSpans"]?.arrayValue ?? [] {
            for scope in resource["scopeSpans"]?.arrayValue ?? [] {
                for span in scope["spans"]?.arrayValue ?? [] {
                    var attributes: [String: String] = [:]
                    for attribute in span["attributes"]?.arrayValue ?? [] {
                        guard let key = attribute["key"]?.stringValue, let value = attribute["value"] else { continue }
                        attributes[key] =
                            value["stringValue"]?.stringValue ?? value["intValue"]?.stringValue
                            ?? value["intValue"]?.intValue.map(String.init) ?? value.jsonString
                    }
                    found.append(
                        ReceivedSpan(
                            traceID: Self.hex(span["traceId"]?.stringValue ?? ""),
                            spanID: Self.hex(span["spanId"]?.stringValue ?? ""),
                            parentSpanID: Self.hex(span["parentSpanId"]?.stringValue ?? ""),
                            name: span["name"]?.stringValue ?? "",
                            attributes: attributes,
                            kind: span["kind"]?.stringValue ?? span["kind"]?.intValue.map(String.init) ?? ""
                        )
                    )
                }
            }
        }
        received.withLock { $0.append(contentsOf: found) }
    }

    /// Ids as lowercase hex, whether the exporter wrote hex (as OTLP/JSON asks) or base64 (protobuf's JSON).
    static func hex(_ text: String) -> String {
        if text.isEmpty { return "" }
        if (text.count == 32 || text.count == 16), text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let data = Data(base64Encoded: text) else { return text }
        return data.map { String(format: "%02x", $0) }.joined()
    }
}
