import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Sagas
import Synchronization

/// A webhook receiver on 127.0.0.1 for the tests: it checks the Standard Webhooks signature of every request itself
/// (with swift-crypto, not with the code under test), records what arrived, and answers as its script says.
final class WebhookReceiver: Sendable {
    /// One request as it arrived.
    struct Received: Sendable {
        var path: String
        var id: String
        var timestamp: Int64
        var signatures: [String]
        var body: String
        var at: Date
        /// The secrets (of those the receiver knows for the path) whose `v1` signature is in the header.
        var validFor: [String]
        var status: Int

        var json: JSONValue? { try? JSONValue(parsing: body) }
        var type: String? { json?["type"]?.stringValue }
        var sagaID: String? { json?["data"]?["sagaId"]?.stringValue }
        var seq: Int? { json?["data"]?["seq"]?.intValue }
    }

    /// How to answer: a status, headers, and a delay before answering.
    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var delay: Duration = .zero
    }

    /// Decides the reply from the path and how many times this path already received this webhook-id.
    typealias Script = @Sendable (_ path: String, _ previousAttempts: Int) -> Reply

    private struct State {
        var received: [Received] = []
        var channel: (any Channel)?
        var secrets: [String: [String]] = [:]
        var script: Script = { _, _ in Reply(status: 200) }
    }

    private let state = Mutex(State())

    /// The secrets that sign requests to `path`.
    func expect(secrets: [String], for path: String) {
        state.withLock { $0.secrets[path] = secrets }
    }

    func setScript(_ script: @escaping Script) {
        state.withLock { $0.script = script }
    }

    var received: [Received] { state.withLock { $0.received } }

    func received(path: String) -> [Received] { received.filter { $0.path == path } }

    func start() async throws -> Int {
        let receiver = self
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(WebhookReceiverHandler(receiver: receiver))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        state.withLock { $0.channel = channel }
        return channel.localAddress?.port ?? 0
    }

    func stop() async throws {
        let channel = state.withLock { s -> (any Channel)? in
            defer { s.channel = nil }
            return s.channel
        }
        try await channel?.close()
    }

    /// Records a request and returns the reply.
    func handle(path: String, headers: HTTPHeaders, body: String) -> Reply {
        let id = headers.first(name: "webhook-id") ?? ""
        let timestamp = Int64(headers.first(name: "webhook-timestamp") ?? "") ?? 0
        let signatures = (headers.first(name: "webhook-signature") ?? "").split(separator: " ").map(String.init)
        return state.withLock { s in
            let previous = s.received.filter { $0.path == path && $0.id == id }.count
            let reply = s.script(path, previous)
            let valid = (s.secrets[path] ?? []).filter { secret in
                Self.sign(id: id, timestamp: timestamp, body: body, secret: secret).map(signatures.contains) ?? false
            }
            s.received.append(Received(
                path: path, id: id, timestamp: timestamp, signatures: signatures, body: body, at: Date(),
                validFor: valid, status: reply.status
            ))
            return reply
        }
    }

    /// `v1,` + base64(HMAC-SHA256(base64-decoded secret after `whsec_`, "id.timestamp.body")).
    static func sign(id: String, timestamp: Int64, body: String, secret: String) -> String? {
        guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst(6))) else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("\(id).\(timestamp).\(body)".utf8),
            using: SymmetricKey(data: key)
        )
        return "v1," + Data(mac).base64EncodedString()
    }

    /// A new random secret.
    static func makeSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "whsec_" + Data(bytes).base64EncodedString()
    }
}

/// Collects a request, records it, answers after the scripted delay.
final class WebhookReceiverHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let receiver: WebhookReceiver
    var head: HTTPRequestHead?
    var body = ByteBuffer()

    init(receiver: WebhookReceiver) {
        self.receiver = receiver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            self.head = nil
            let text = body.readString(length: body.readableBytes) ?? ""
            let path = String(head.uri.split(separator: "?").first ?? "")
            let reply = receiver.handle(path: path, headers: head.headers, body: text)
            var headers = HTTPHeaders(reply.headers)
            headers.replaceOrAdd(name: "Content-Length", value: "0")
            headers.replaceOrAdd(name: "Connection", value: "close")
            let version = head.version
            let loop = context.eventLoop
            let channel = context.channel
            let respond = {
                let status = HTTPResponseStatus(statusCode: reply.status)
                channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: status, headers: headers)), promise: nil)
                channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
            }
            if reply.delay > .zero {
                let ms = Int64(reply.delay.components.seconds * 1000) + reply.delay.components.attoseconds / 1_000_000_000_000_000
                loop.scheduleTask(in: .milliseconds(ms)) { respond() }
            } else {
                respond()
            }
        }
    }
}
