import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The example shop's HTTP server: a Hummingbird application whose one responder hands every request to
/// ``ExampleShop``'s routing (the shop's routes include `ANY /_echo` and paths with ids, so a catch-all responder is
/// simpler than a router). A hanging route is a handler that sleeps until the server stops.
final class ExampleShopServer: Sendable {
    /// Requests larger than this are refused by Hummingbird with 413.
    static let maxRequestBytes = 4 << 20

    private let shop: ExampleShop
    private let running = Mutex<(group: ServiceGroup, task: Task<Void, Never>)?>(nil)

    init(shop: ExampleShop) {
        self.shop = shop
    }

    /// Binds 127.0.0.1 and serves until ``stop()``.
    ///
    /// - Returns: the bound port (a free one for `port` 0).
    func start(port: Int) async throws -> Int {
        let shop = self.shop
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            try await ExampleShopServer.respond(to: request, shop: shop)
        }
        var logger = Logger(label: "saga-example-shop")
        logger.logLevel = .critical
        let (events, sink) = AsyncStream<Result<Int, any Error>>.makeStream()
        let application = Application(
            responder: responder,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
            onServerRunning: { channel in
                sink.yield(.success(channel.localAddress?.port ?? port))
            },
            logger: logger
        )
        let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: logger)
        // The server's lifetime is the shop's (start … stop), not a caller's scope: a task of its own.
        let task = Task {
            do {
                try await group.run()
            } catch {
                sink.yield(.failure(error))
            }
            sink.finish()
        }
        running.withLock { $0 = (group, task) }
        for await event in events {
            switch event {
            case .success(let bound): return bound
            case .failure(let error): throw error
            }
        }
        throw CancellationError()
    }

    /// Shuts the server down and waits for it: gracefully (hanging requests end at once, requests in progress
    /// finish), then, after 5 seconds, by cancellation.
    func stop() async {
        guard let (group, task) = running.withLock({ r in defer { r = nil }; return r }) else { return }
        await group.triggerGracefulShutdown()
        await withTaskGroup(of: Void.self) { waiting in
            waiting.addTask { await task.value }
            waiting.addTask {
                try? await Task.sleep(for: .seconds(5))
                task.cancel()
            }
            await waiting.next()
            waiting.cancelAll()
        }
        await task.value
    }

    private static func respond(to request: Request, shop: ExampleShop) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: maxRequestBytes)
        // HTTP/1's `Host` arrives as the request's authority, not among its header fields.
        var headers = request.head.authority.map { [("Host", $0)] } ?? []
        headers += request.headers.map { ($0.name.rawName, $0.value) }
        let reply = shop.handle(
            method: request.method.rawValue,
            uri: request.uri.string,
            headers: headers,
            body: String(buffer: body)
        )
        guard let reply else {
            // A hanging route: no answer until the server stops (then the connection closes).
            try await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .seconds(86_400))
            }
            throw CancellationError()
        }
        var fields = HTTPFields()
        for (name, value) in reply.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return Response(
            status: HTTPResponse.Status(code: reply.status),
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(string: reply.body))
        )
    }
}
