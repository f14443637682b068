import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasSQLite

struct RunCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start a saga and drive it in this process until it is done, then print its timeline.",
        discussion: """
            Exits 0 only when the saga completed; 1 when it was compensated or needs intervention.
            SIGINT (Ctrl-C) or SIGTERM stops it like a worker: no new attempt starts, the attempt in flight gets \
            --shutdown-grace to finish (a second signal cuts it short), is journaled (stopped ones as interrupted), \
            the lease is released, and it exits 1; `saga worker` resumes the saga. If this process is killed, the \
            saga stays journaled too.

            Examples:
              saga run order --input '{"orderId": "o-1"}'
              saga run Workflows/order.json --input @order.json --id order-o-1
              echo '{"orderId": "o-2"}' | saga run order@1 --input -
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var http: HTTPOptions
    @Argument(help: "A workflow file, or the name of one in the workflows folder (NAME or NAME@VERSION).")
    var workflow: String
    @OptionGroup var input: InputOption
    @Option(help: "The saga's id (default: a new one). The same id again returns the same saga.")
    var id: String?
    @Flag(help: "Print the saga as JSON (the format of `saga show --json`).")
    var json = false
    @Option(help: "After SIGINT or SIGTERM, how long the attempt in flight may finish before it is stopped (e.g. 10s).")
    var shutdownGrace: String = "10s"
    @OptionGroup var trace: TraceOption

    func execute() async throws {
        let logger = global.makeLogger(defaultLevel: .warning)
        let grace = try ShutdownGraceOption.parse(shutdownGrace)
        let value = try input.value()  // before the database is opened (and maybe created)
        let store = try await global.openStore(.create)
        var configuration = SagaEngine.Configuration()
        configuration.shutdownGrace = grace
        let engine = EngineFactory.makeEngine(store: store, configuration: configuration, logger: logger, http: http)
        // Trapped before the saga starts: from here a signal stops the saga cleanly instead of killing this process
        // and leaving its step's process group running.
        let signals = await ShutdownSignals(
            onFirst: { engine.beginShutdown() },
            onSecond: { engine.abandonInFlightAttempts() }
        )
        defer { signals.stop() }
        let catalog = WorkflowCatalog(directory: global.workflowsDirectory, kinds: EngineFactory.kinds)
        let traceparent = trace.value
        let record = try await TracingExport.withTracing(engine, logger: logger) {
            // One write starts the saga, leases it to this process and journals its first attempts.
            try await CLI.guarded {
                try await engine.execute(workflow: workflow, in: catalog, input: value, id: id, traceparent: traceparent)
            }
        }
        await EngineFactory.shutdown()
        let snapshot = try await CLI.guarded { try await engine.client.snapshot(sagaID: record.id) }
        if json {
            CLI.printJSON(snapshot.json(now: Date()))
        } else {
            print(Output.describe(snapshot, now: Date()))
        }
        if let signal = signals.caught, record.status.isRunnable {
            FileHandle.standardError.write(
                Data("saga \(record.id) stopped by \(signal) before it ended; `saga worker` resumes it\n".utf8)
            )
        }
        if record.status != .completed {
            throw ExitCode(CLI.ExitCodes.notCompleted)
        }
    }
}

/// `--shutdown-grace`.
enum ShutdownGraceOption {
    static func parse(_ text: String) throws -> Duration {
        guard let grace = SagaDuration.parse(text), grace <= .seconds(3600) else {
            throw CLIError(
                "--shutdown-grace must be a duration from 0s to 1h, such as 10s",
                exitCode: CLI.ExitCodes.invalidInput
            )
        }
        return grace
    }
}

struct SubmitCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Journal a new saga for a worker to run, and print its id.",
        discussion: """
            The input is checked against the workflow's input schema before anything is journaled. Submitting the \
            same --id again prints the same id (an error if the input or workflow differs).

            Examples:
              saga submit order --input '{"orderId": "o-1"}'
              id=$(saga submit order --input @order.json) && saga worker --until-idle && saga show "$id"
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A workflow file, or the name of one in the workflows folder (NAME or NAME@VERSION).")
    var workflow: String
    @OptionGroup var input: InputOption
    @Option(help: "The saga's id (default: a new one).")
    var id: String?
    @OptionGroup var trace: TraceOption

    func execute() async throws {
        let logger = global.makeLogger(defaultLevel: .warning)
        let value = try input.value()  // before the database is opened (and maybe created)
        let store = try await global.openStore(.create)
        let engine = EngineFactory.makeEngine(store: store, logger: logger)
        let record = try await global.startSaga(workflow, input: value, id: id, traceparent: trace.value, engine: engine)
        print(record.id)
    }
}
