import Foundation
import Logging
import OTel
import Sagas
import SagasTracing
import ServiceLifecycle

/// Traces exported over OTLP/HTTP with swift-otel, when the standard `OTEL_*` variables ask for it: off unless
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and not with
/// `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. Only traces: swift-otel's logs and metrics stay off (the
/// metrics are Prometheus', `--metrics`).
enum TracingExport {
    static func isConfigured(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return false }
        if environment["OTEL_TRACES_EXPORTER"]?.lowercased() == "none" { return false }
        let endpoints = [environment["OTEL_EXPORTER_OTLP_ENDPOINT"], environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]]
        return endpoints.contains { !($0 ?? "").isEmpty }
    }

    /// Bootstraps the tracer (once per process) and returns the exporter's service, or `nil` when tracing is off.
    static func bootstrap() throws -> (any Service)? {
        guard isConfigured() else { return nil }
        var configuration = OTel.Configuration.default
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        // swift-otel's own diagnostics: warnings and errors (export failures), not a line per setting read from the
        // environment at every start. `OTEL_LOG_LEVEL` still overrides it.
        configuration.diagnosticLogLevel = .warning
        if (ProcessInfo.processInfo.environment["OTEL_SERVICE_NAME"] ?? "").isEmpty {
            configuration.serviceName = "sagas"
        }
        do {
            return try OTel.bootstrap(configuration: configuration)
        } catch {
            throw CLIError("cannot export traces: \(error)", exitCode: CLI.ExitCodes.invalidInput)
        }
    }

    /// The engine's tracer, with the sampler of `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (every saga when
    /// they are unset); what is wrong with them is logged, and the default used in its place.
    static func tracer(
        logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> SagaDistributedTracer {
        guard !(environment["OTEL_TRACES_SAMPLER"] ?? "").isEmpty else { return SagaDistributedTracer() }
        let (sampler, problem) = SagaTraceSampler.from(environment: environment)
        if let problem { logger.warning("\(problem)") }
        return SagaDistributedTracer(sampler: sampler)
    }

    /// Traces `engine` when the environment asks for it, for the duration of `body`, then flushes the spans.
    static func withTracing<T>(_ engine: SagaEngine, logger: Logger, _ body: () async throws -> T) async throws -> T {
        guard let service = try bootstrap() else { return try await body() }
        engine.use(tracer: tracer(logger: logger))
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result: T
            do {
                result = try await body()
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            // Graceful shutdown flushes the spans not yet exported.
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            return result
        }
    }
}
