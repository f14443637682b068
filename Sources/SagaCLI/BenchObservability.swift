import Foundation
import Hummingbird
import Logging
import Sagas
import SagasMetrics

/// `saga bench --observe metrics,tracing`: the benchmark with the observability a production worker runs, to
/// measure what it costs (Docs/performance.md). `metrics` attaches the Prometheus observer and samples the gauges
/// once a second, as a scrape would; `tracing` bootstraps swift-otel and exports every span over OTLP/HTTP to a
/// loopback sink in this process, so serializing and sending the spans is part of the measurement.
struct BenchObservability: Sendable {
    var metrics = false
    var tracing = false
    /// Webhook delivery beside the sagas, its lag measured (``BenchWebhookLag``); not part of `all`.
    var webhooks = false
    let webhookLag = BenchWebhookLag()

    var isEmpty: Bool { !metrics && !tracing && !webhooks }

    /// `none`, or a comma-separated list of `metrics`, `tracing`, `all` (both), `webhooks`.
    init(parsing text: String) throws {
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            switch part {
            case "none", "": break
            case "metrics": metrics = true
            case "tracing": tracing = true
            case "all": (metrics, tracing) = (true, true)
            case "webhooks": webhooks = true
            default:
                throw CLIError(
                    "--observe takes none, metrics, tracing or all, or webhooks (comma-separated), not '\(part)'",
                    exitCode: CLI.ExitCodes.invalidInput
                )
            }
        }
    }

    var label: String {
        isEmpty
            ? "none"
            : [metrics ? "metrics" : nil, tracing ? "tracing" : nil, webhooks ? "webhooks" : nil].compactMap { $0 }
                .joined(separator: ",")
    }

    /// Runs `body` on `engine` with the observability asked for.
    func run<T: Sendable>(_ engine: SagaEngine, logger: Logger, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let body: @Sendable () async throws -> T
        if webhooks {
            body = { [webhookLag] in try await webhookLag.run(engine, concurrency: 64, logger: logger, work) }
        } else {
            body = work
        }
        guard metrics else { return try await traced(engine, logger: logger, body) }
        let sampler = MetricsExport.instrument(engine, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            // What a Prometheus scrape every second costs: the gauges are read from the journal.
            group.addTask {
                while !Task.isCancelled {
                    await sampler.sampleIfStale()
                    try await Task.sleep(for: .seconds(1))
                }
            }
            let result = try await traced(engine, logger: logger, body)
            group.cancelAll()
            return result
        }
    }

    private func traced<T: Sendable>(_ engine: SagaEngine, logger: Logger, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard tracing else { return try await body() }
        return try await Self.withSink(logger: logger) { port in
            setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:\(port)", 1)
            setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1)
            // The default queue (2,048 spans, exported every 5 s) drops spans above a few hundred sagas a second;
            // a measurement of the cost must export them all (Docs/operations.md 6.2 says the same to operators).
            setenv("OTEL_BSP_MAX_QUEUE_SIZE", "65536", 0)
            setenv("OTEL_BSP_SCHEDULE_DELAY", "500", 0)
            setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096", 0)
            return try await TracingExport.withTracing(engine, logger: logger, body)
        }
    }

    /// A loopback OTLP/HTTP endpoint that accepts every export and keeps nothing, for `body`.
    private static func withSink<T: Sendable>(
        logger: Logger, _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let router = Router()
        router.post("v1/traces") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 64 << 20)
            // An empty ExportTraceServiceResponse: zero bytes of protobuf.
            var headers = HTTPFields()
            headers[.contentType] = "application/x-protobuf"
            return Response(status: .ok, headers: headers)
        }
        return try await BenchLoopbackServer.serve(router, what: "the loopback trace sink", logger: logger, body)
    }
}
