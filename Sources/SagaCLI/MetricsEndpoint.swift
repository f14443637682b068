import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import Sagas
import SagasMetrics
import ServiceLifecycle

/// The process's Prometheus registry and the swift-metrics factory that feeds it, with Sagas' histogram buckets.
enum MetricsExport {
    static let registry = PrometheusCollectorRegistry()

    static let factory: PrometheusMetricsFactory = {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = SagaMetrics.histogramBuckets
        return factory
    }()

    /// The Prometheus text exposition of every metric so far.
    static func render() -> String {
        registry.emitToString()
    }

    /// The process's swift-metrics backend becomes this registry (once), so that libraries' own metrics (the `http`
    /// executor's circuit breakers) reach the scrape too.
    private static let bootstrapped: Void = {
        MetricsSystem.bootstrap(factory)
    }()

    /// Attaches the metrics observer to `engine` and returns the sampler service that sets its gauges.
    static func instrument(_ engine: SagaEngine, logger: Logger) -> SagaMetricsSampler {
        _ = bootstrapped
        engine.add(observer: SagaMetrics(factory: factory))
        return SagaMetricsSampler(engine: engine, logger: logger, factory: factory)
    }
}

/// `--metrics HOST:PORT`: where `GET /metrics` serves the Prometheus text.
struct MetricsAddress {
    var host: String
    var port: Int

    /// Parses `HOST:PORT` (`127.0.0.1:9464`, `[::1]:9464`, `:9464` for 127.0.0.1).
    static func parse(_ text: String) throws -> MetricsAddress {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw CLIError(
                "--metrics \(Output.truncate(text, 80)): expected HOST:PORT, such as 127.0.0.1:9464",
                exitCode: CLI.ExitCodes.invalidInput
            )
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return MetricsAddress(host: host.isEmpty ? "127.0.0.1" : host, port: port)
    }
}

/// A small HTTP listener for a Prometheus scrape: `GET /metrics` (and `GET /healthz`), nothing else.
enum MetricsEndpoint {
    /// `sampler`'s gauges are read from the journal when scraped (at most once a second), not on a timer.
    static func application(address: MetricsAddress, sampler: SagaMetricsSampler, logger: Logger) -> some Service {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            await sampler.sampleIfStale()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok,
                headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: MetricsExport.render()))
            )
        }
        router.get("healthz") { _, _ -> String in "ok\n" }
        var quiet = logger
        quiet.logLevel = .warning
        return Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                FileHandle.standardError.write(Data("metrics on http://\(address.host):\(port)/metrics\n".utf8))
            },
            logger: quiet
        )
    }
}
