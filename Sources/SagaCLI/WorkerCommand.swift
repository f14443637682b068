import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasPostgres
import SagasTracing
import SagasWebhooks
import ServiceLifecycle
import UnixSignals

struct WorkerCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run sagas from the database: new ones, and those left by workers that died.",
        discussion: """
            A worker holds a lease on each saga it runs and renews it while it works. A saga whose worker died is \
            taken over when its lease expires, or at once when the worker ran on this machine and in this PID \
            namespace and its process is gone.
            SIGINT or SIGTERM stops it cleanly: no new attempt starts, attempts in flight get --shutdown-grace to \
            finish and are journaled; those still running then (or at a second signal) are stopped with their \
            process groups and journaled as interrupted; leases are released and the rest resumes later.

            Examples:
              saga worker --concurrency 32
              saga worker --until-idle --lease 30s
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var http: HTTPOptions
    @Option(help: "How many sagas to drive at once.")
    var concurrency: Int = 16
    @Option(help: "How long a lease lasts without renewal (e.g. 15s).")
    var lease: String = "15s"
    @Flag(help: "Exit once no saga is pending, running or compensating.")
    var untilIdle = false
    @Option(help: "How often to run a reconciliation pass (see `saga reconcile`); 0s turns it off.")
    var reconcileEvery: String = "1m"
    @Option(help: "Time between automatic retries of one intervention.")
    var retryInterval: String = "5m"
    @Option(help: "Automatic retries per intervention before only a person can settle it.")
    var maxRetries: Int = 3
    @Option(
        help: ArgumentHelp(
            "Delete finished sagas older than this (e.g. 30d), every 10 minutes (see `saga purge`). Off by default.",
            valueName: "duration"
        )
    )
    var retention: String?
    @Option(help: "After SIGINT or SIGTERM, how long attempts in flight may finish before they are stopped (e.g. 10s).")
    var shutdownGrace: String = "10s"
    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464; port 0 picks one). Off by default.",
            valueName: "host:port"
        )
    )
    var metrics: String?
    @Flag(inversion: .prefixedNo, help: "Deliver webhooks to `saga webhooks` subscriptions (see Docs/operations.md).")
    var webhooks = true
    @Option(
        help: ArgumentHelp(
            "Delays between webhook attempts, comma-separated (default 5s,5m,30m,2h,5h,10h,10h, ±20% jitter).",
            valueName: "delays"
        )
    )
    var webhookRetries: String?
    @Option(help: ArgumentHelp("How long one webhook attempt may take.", valueName: "duration"))
    var webhookTimeout: String = "10s"
    @Option(help: ArgumentHelp("Pause a subscription failing for this long without a success.", valueName: "duration"))
    var webhookPauseAfter: String = "3d"
    @Option(help: ArgumentHelp("How often an idle worker looks for new sagas (default 200ms).", valueName: "duration"))
    var pollInterval: String?
    @Flag(help: "On PostgreSQL, poll only: no LISTEN/NOTIFY wake-ups (behind PgBouncer in transaction mode).")
    var postgresPollOnly = false

    func execute() async throws {
        guard concurrency >= 1 && concurrency <= 10_000 else {
            throw CLIError("--concurrency must be between 1 and 10000", exitCode: CLI.ExitCodes.invalidInput)
        }
        guard let leaseDuration = SagaDuration.parse(lease), leaseDuration >= .milliseconds(100) else {
            throw CLIError("--lease must be a duration of at least 100ms, such as 15s", exitCode: CLI.ExitCodes.invalidInput)
        }
        guard let reconcileInterval = SagaDuration.parse(reconcileEvery) else {
            throw CLIError("--reconcile-every must be a duration such as 1m (0s turns it off)", exitCode: CLI.ExitCodes.invalidInput)
        }
        guard let retryEvery = SagaDuration.parse(retryInterval) else {
            throw CLIError("--retry-interval must be a duration such as 5m", exitCode: CLI.ExitCodes.invalidInput)
        }
        let retentionPeriod = try retention.map { text in
            guard let d = SagaDuration.parse(text), d > .zero else {
                throw CLIError("--retention must be a duration such as 30d", exitCode: CLI.ExitCodes.invalidInput)
            }
            return d
        }
        let grace = try ShutdownGraceOption.parse(shutdownGrace)
        let metricsAddress = try metrics.map(MetricsAddress.parse)
        let logger = global.makeLogger(defaultLevel: .info)
        let store = try await global.openStore(.create)
        var configuration = SagaEngine.Configuration()
        configuration.concurrency = concurrency
        configuration.leaseDuration = leaseDuration
        configuration.shutdownGrace = grace
        if let pollInterval {
            guard let poll = SagaDuration.parse(pollInterval), poll >= .milliseconds(10) else {
                throw CLIError("--poll-interval must be a duration of at least 10ms, such as 1s", exitCode: CLI.ExitCodes.invalidInput)
            }
            configuration.pollInterval = poll
        }
        let engine = EngineFactory.makeEngine(store: store, configuration: configuration, logger: logger, http: http)
        let webhookService = try webhooks ? WebhookOptions.service(store: store, engine: engine, worker: self, logger: logger) : nil
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: WorkerService(engine: engine, untilIdle: untilIdle, webhooks: webhookService),
                successTerminationBehavior: .gracefullyShutdownGroup
            )
        ]
        if let webhookService {
            services.append(.init(service: webhookService))
        }
        // PostgreSQL: a saga submitted by another node wakes this one (LISTEN/NOTIFY), polling stays the fallback.
        if let postgres = store as? PostgresSagaStore, !postgresPollOnly {
            services.append(.init(service: PostgresWakeupListener(store: postgres, logger: logger) { engine.wakeWorkers() }))
        }
        if !untilIdle && reconcileInterval > .zero {
            let policy = ReconciliationPolicy(retryInterval: retryEvery, maxAutomaticRetries: maxRetries)
            services.append(.init(service: ReconcilerService(engine: engine, interval: reconcileInterval, policy: policy, logger: logger)))
        }
        if let tracing = try TracingExport.bootstrap() {
            engine.use(tracer: TracingExport.tracer(logger: logger))
            // First in the group, so shut down last: it flushes the spans of the attempts that ended.
            services.insert(.init(service: tracing), at: 0)
        }
        if let metricsAddress {
            let sampler = MetricsExport.instrument(engine, logger: logger)
            services.append(.init(service: MetricsEndpoint.application(address: metricsAddress, sampler: sampler, logger: logger)))
        }
        if let retentionPeriod {
            services.append(.init(service: SagaRetentionService(
                store: store, configuration: .init(retention: retentionPeriod), logger: logger
            )))
        }
        // The signals are trapped here rather than by the group, so that a second one can cut the grace short.
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let signals = await ShutdownSignals(
            onFirst: {
                logger.notice("shutting down: attempts in flight get \(SagaDuration.format(grace)) to finish")
                await group.triggerGracefulShutdown()
            },
            onSecond: {
                logger.notice("shutting down now: attempts in flight are stopped")
                engine.abandonInFlightAttempts()
            }
        )
        defer { signals.stop() }
        try await CLI.guarded { try await group.run() }
        await EngineFactory.shutdown()
    }
}

/// `saga worker` as a service: runs until shutdown, or until idle.
struct WorkerService: Service {
    let engine: SagaEngine
    let untilIdle: Bool
    var webhooks: SagaWebhookService? = nil

    func run() async throws {
        if untilIdle {
            try await SagaWorker(engine).runUntilIdle()
            // --until-idle also waits for the webhook deliveries that are due (their current attempt).
            try await webhooks?.drain()
        } else {
            try await SagaWorker(engine).run()
        }
    }
}

/// The reconciliation job inside `saga worker`: a pass every `interval` until shutdown.
struct ReconcilerService: Service {
    let engine: SagaEngine
    let interval: Duration
    let policy: ReconciliationPolicy
    let logger: Logger

    func run() async throws {
        // Graceful shutdown cancels the loop, whether it sleeps or runs a pass: a pass holds no lease across
        // journal writes that cancellation could tear, and sagas it drives resume in the next worker.
        try? await cancelWhenGracefulShutdown {
            await loop()
        }
    }

    private func loop() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            do {
                let report = try await engine.reconcile(policy: policy)
                for entry in report.entries {
                    logger.notice(
                        "reconcile: \(entry.action) \(entry.sagaID)\(entry.step.map { " " + $0 } ?? ""): \(entry.detail)"
                    )
                }
            } catch {
                logger.error("reconcile pass failed: \(error)")
            }
        }
    }
}

/// The webhook delivery service of `saga worker`, configured from its options.
enum WebhookOptions {
    /// `nil` when the store keeps no webhooks.
    static func service(
        store: any SagaStore,
        engine: SagaEngine,
        worker: WorkerCommand,
        logger: Logger
    ) throws -> SagaWebhookService? {
        guard let store = store as? any SagaStoreWebhooks else { return nil }
        var schedule = SagaWebhookRetrySchedule.standard
        if let text = worker.webhookRetries {
            let delays = text.split(separator: ",").map { SagaDuration.parse(String($0).trimmingCharacters(in: .whitespaces)) }
            guard !delays.isEmpty, delays.allSatisfy({ $0 != nil }) else {
                throw CLIError("--webhook-retries must be durations separated by commas, such as 5s,5m,30m", exitCode: CLI.ExitCodes.invalidInput)
            }
            schedule = SagaWebhookRetrySchedule(delays: delays.compactMap { $0 })
        }
        guard let timeout = SagaDuration.parse(worker.webhookTimeout), timeout > .zero else {
            throw CLIError("--webhook-timeout must be a duration such as 10s", exitCode: CLI.ExitCodes.invalidInput)
        }
        guard let pauseAfter = SagaDuration.parse(worker.webhookPauseAfter), pauseAfter > .zero else {
            throw CLIError("--webhook-pause-after must be a duration such as 3d", exitCode: CLI.ExitCodes.invalidInput)
        }
        let configuration = SagaWebhookService.Configuration(
            owner: engine.configuration.workerID,
            concurrency: min(max(worker.concurrency * 2, 8), 128),
            // A delivery's lease outlasts one attempt; a worker killed mid-attempt leaves it to another then.
            leaseDuration: max(engine.configuration.leaseDuration, timeout + .seconds(1)),
            timeout: timeout,
            schedule: schedule,
            pauseAfter: pauseAfter,
            allowedHosts: worker.http.allowedHostList
        )
        let service = SagaWebhookService(store: store, configuration: configuration, logger: logger)
        engine.add(observer: service.observer)
        return service
    }
}
