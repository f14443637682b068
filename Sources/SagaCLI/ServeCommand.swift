import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasPostgres
import SagasTracing
import SagasWebhooks
import SagasMetrics
import SagasServer
import ServiceLifecycle
import Synchronization

struct ServeCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API and the dashboard, and run the worker and reconciliation job.",
        discussion: """
            The first line on standard output is `listening on http://HOST:PORT` (with --port 0, the port the \
            system chose). Requests need `Authorization: Bearer TOKEN` (the dashboard also takes a login cookie).

            Tokens: $SAGA_API_TOKEN is one admin token, named `admin`; --tokens FILE holds lines \
            `ROLE NAME SHA256-HEX-OF-TOKEN` (roles viewer, operator, admin; `#` comments). With neither, a random \
            admin token is made and the second line of output is the dashboard URL that logs in with it; the \
            server then listens on loopback only. Every action is journaled with the token's NAME.

            SIGINT or SIGTERM stops it cleanly: the server stops accepting requests and finishes those in \
            flight, event streams end, the worker's attempts in flight get --shutdown-grace (a second signal cuts \
            it short). See Docs/server.md.

            Examples:
              saga serve
              SAGA_API_TOKEN=s3cret saga serve --host 0.0.0.0 --port 8080
              saga serve --tokens /etc/saga/tokens --read-only --no-worker
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var http: HTTPOptions
    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 7070
    @Flag(help: "Serve only: run no worker and no reconciliation job in this process.")
    var noWorker = false
    @Flag(help: "Refuse every change through the API and the dashboard (403), whatever the token's role.")
    var readOnly = false
    @Option(help: ArgumentHelp("A file of tokens: lines ROLE NAME SHA256-HEX-OF-TOKEN.", valueName: "file"))
    var tokens: String?
    @Option(help: "How many sagas the worker drives at once.")
    var concurrency: Int = 16
    @Option(help: "How often to run a reconciliation pass; 0s turns it off.")
    var reconcileEvery: String = "1m"
    @Option(help: "After SIGINT or SIGTERM, how long attempts in flight may finish before they are stopped.")
    var shutdownGrace: String = "10s"
    @Flag(help: "Mark the login cookie Secure (when an HTTPS reverse proxy is in front).")
    var secureCookies = false

    func execute() async throws {
        guard (0...65535).contains(port) else {
            throw CLIError("--port must be 0 to 65535", exitCode: CLI.ExitCodes.invalidInput)
        }
        guard concurrency >= 1 && concurrency <= 10_000 else {
            throw CLIError("--concurrency must be between 1 and 10000", exitCode: CLI.ExitCodes.invalidInput)
        }
        guard let reconcileInterval = SagaDuration.parse(reconcileEvery) else {
            throw CLIError("--reconcile-every must be a duration such as 1m (0s turns it off)", exitCode: CLI.ExitCodes.invalidInput)
        }
        let grace = try ShutdownGraceOption.parse(shutdownGrace)
        var accepted = SagaAccessTokens()
        if let token = ProcessInfo.processInfo.environment["SAGA_API_TOKEN"], !token.isEmpty {
            accepted.add(token: token, name: "admin", role: .admin)
        }
        if let tokens {
            do {
                let file = try SagaAccessTokens.load(contentsOf: tokens)
                for principal in file.principals {
                    accepted.add(hash: principal.tokenHash, name: principal.name, role: principal.role)
                }
            } catch {
                throw CLIError(error.message, exitCode: CLI.ExitCodes.invalidInput)
            }
        }
        var generated: String?
        if accepted.count == 0 {
            guard Self.isLoopback(host) else {
                throw CLIError(
                    "no token is configured, so saga serve listens on loopback only: --host \(host) is refused; "
                        + "set SAGA_API_TOKEN or pass --tokens FILE",
                    exitCode: CLI.ExitCodes.invalidInput
                )
            }
            let token = SagaAccessTokens.randomToken()
            accepted.add(token: token, name: "admin", role: .admin)
            generated = token
        }

        let logger = global.makeLogger(defaultLevel: .info)
        let store = try await global.openStore(.create)
        var engineConfiguration = SagaEngine.Configuration()
        engineConfiguration.concurrency = concurrency
        engineConfiguration.shutdownGrace = grace
        let engine = EngineFactory.makeEngine(store: store, configuration: engineConfiguration, logger: logger, http: http)
        let workerState = WorkerRunningFlag()
        var services: [any Service] = []
        if !noWorker {
            services.append(ServeWorkerService(engine: engine, running: workerState))
            if reconcileInterval > .zero {
                services.append(
                    ReconcilerService(engine: engine, interval: reconcileInterval, policy: .init(), logger: logger)
                )
            }
        }
        // Webhook delivery (`saga webhooks`), with saga worker's defaults, alongside the worker.
        if !noWorker, let webhookStore = store as? any SagaStoreWebhooks {
            let delivery = SagaWebhookService(
                store: webhookStore,
                configuration: .init(
                    owner: engine.configuration.workerID,
                    concurrency: min(max(concurrency * 2, 8), 128),
                    leaseDuration: max(engine.configuration.leaseDuration, .seconds(11)),
                    allowedHosts: http.allowedHostList
                ),
                logger: logger
            )
            engine.add(observer: delivery.observer)
            services.append(delivery)
        }
        // PostgreSQL: sagas submitted by other nodes wake this worker (LISTEN/NOTIFY), polling stays the fallback.
        if !noWorker, let postgres = store as? PostgresSagaStore {
            services.append(PostgresWakeupListener(store: postgres, logger: logger) { engine.wakeWorkers() })
        }
        // Metrics for GET /metrics, and traces when the OTEL_* variables ask for them.
        // The gauges are read from the journal when /metrics is scraped (at most once a second), not on a timer.
        let sampler = MetricsExport.instrument(engine, logger: logger)
        if let tracing = try TracingExport.bootstrap() {
            engine.use(tracer: TracingExport.tracer(logger: logger))
            services.insert(tracing, at: 0)
        }
        var workerRunning: (@Sendable () -> Bool)?
        if !noWorker {
            workerRunning = { @Sendable in workerState.isRunning }
        }
        let server = SagaServer(
            engine: engine,
            catalog: WorkflowCatalog(directory: global.workflowsDirectory, kinds: EngineFactory.kinds),
            tokens: accepted,
            configuration: .init(
                readOnly: readOnly,
                secureCookies: secureCookies,
                workerRunning: workerRunning,
                metrics: {
                    await sampler.sampleIfStale()
                    return MetricsExport.render()
                },
                webhookAddressCheck: WebhookOptions.addressCheck(allowedHosts: http.allowedHostList)
            ),
            logger: logger
        )
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let loginToken = generated
        let app = server.makeApplication(host: host, port: port, services: services) { bound in
            Output.printNow("listening on http://\(shownHost):\(bound)")
            if let loginToken {
                Output.printNow("dashboard: http://\(shownHost):\(bound)/login?token=\(loginToken)")
            }
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let signals = await ShutdownSignals(
            onFirst: {
                logger.notice("shutting down: requests in flight finish, worker attempts get \(SagaDuration.format(grace))")
                await group.triggerGracefulShutdown()
            },
            onSecond: {
                logger.notice("shutting down now: attempts in flight are stopped")
                engine.abandonInFlightAttempts()
            }
        )
        defer { signals.stop() }
        do {
            try await group.run()
        } catch let error as SagaError {
            throw CLIError(error.message, exitCode: CLI.exitCode(for: error.code))
        }
        await EngineFactory.shutdown()
    }

    /// Whether a host only listens on this machine.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// Whether the worker of `saga serve` is running, for `GET /readyz`.
final class WorkerRunningFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isRunning: Bool { value.load(ordering: .acquiring) }
    func set(_ running: Bool) { value.store(running, ordering: .releasing) }
}

/// The worker inside `saga serve`: runs sagas until shutdown, and says whether it runs.
struct ServeWorkerService: Service {
    let engine: SagaEngine
    let running: WorkerRunningFlag

    func run() async throws {
        running.set(true)
        defer { running.set(false) }
        try await SagaWorker(engine).run()
    }
}
