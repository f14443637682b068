import Foundation
import Hummingbird
import Logging
import Sagas
import SagasWebhooks
import Synchronization

/// `saga bench --observe webhooks`: the benchmark with webhook delivery running beside it, as in `saga worker`
/// (Docs/performance.md, issue 19). One subscription to every event, a receiver on loopback in this process that
/// answers 204, and a ``SagaWebhookService`` on the bench's store and engine with the worker's settings. The lag of
/// a delivery is its receipt time minus the journal event's time (`timestamp` in the body); after the sagas are
/// done the service drains what is left, whose lag counts too.
final class BenchWebhookLag: Sendable {
    private struct Arrival: Sendable {
        var at: Date
        var timestamp: String
    }

    private let arrivals = Mutex<[Arrival]>([])

    /// Runs `body` with the subscription, the receiver and the delivery service, then waits until every committed
    /// event is delivered (at most 5 minutes).
    func run<T: Sendable>(
        _ engine: SagaEngine,
        concurrency: Int,
        logger: Logger,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let store = engine.store as? any SagaStoreWebhooks else {
            throw CLIError("--observe webhooks needs --store sqlite or postgres", exitCode: CLI.ExitCodes.invalidInput)
        }
        let router = Router()
        router.post("hook") { [self] request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let at = Date()
            if let json = try? JSONValue(parsing: String(buffer: bytes)), let timestamp = json["timestamp"]?.stringValue {
                self.arrivals.withLock { $0.append(Arrival(at: at, timestamp: timestamp)) }
            }
            return Response(status: .noContent)
        }
        var quiet = logger
        quiet.logLevel = .critical
        return try await BenchLoopbackServer.serve(router, what: "the loopback webhook receiver", logger: logger) {
            [quiet] port in
            var random = SystemRandomNumberGenerator()
            let key = (0..<24).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try await SagaWebhooks(store: store).add(
                url: "http://127.0.0.1:\(port)/hook",
                secrets: ["whsec_" + Data(key).base64EncodedString()]
            )
            // What `saga worker` runs (WebhookOptions.service): twice the worker's concurrency, 8 to 128.
            let configuration = SagaWebhookService.Configuration(
                owner: engine.configuration.workerID,
                concurrency: min(max(concurrency * 2, 8), 128)
            )
            let service = SagaWebhookService(store: store, configuration: configuration, logger: quiet)
            engine.add(observer: service.observer)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                let result = try await body()
                try await service.drain(timeout: .seconds(300))
                group.cancelAll()
                return result
            }
        }
    }

    /// `{"deliveries", "p50", "p95", "p99", "max"}` in milliseconds, or `nil` before a run.
    var summary: JSONValue? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let lags: [Double] = arrivals.withLock { $0 }.compactMap { arrival -> Double? in
            guard let committed = formatter.date(from: arrival.timestamp) else { return nil }
            return arrival.at.timeIntervalSince(committed) * 1000
        }.sorted()
        guard !lags.isEmpty else { return nil }
        func percentile(_ p: Int) -> JSONValue {
            let value: Double = lags[min(lags.count - 1, lags.count * p / 100)]
            return .number((value * 10).rounded() / 10)
        }
        let maximum: Double = lags[lags.count - 1]
        return [
            "deliveries": .number(Double(lags.count)),
            "p50": percentile(50),
            "p95": percentile(95),
            "p99": percentile(99),
            "max": .number((maximum * 10).rounded() / 10),
        ]
    }
}
