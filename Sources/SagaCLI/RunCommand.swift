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
            If this process is killed, the saga stays journaled: `saga worker` resumes it.

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

    func execute() async throws {
        let logger = global.makeLogger(defaultLevel: .warning)
        let value = try input.value()  // before the database is opened (and maybe created)
        let store = try global.openStore(.create)
        let engine = EngineFactory.makeEngine(store: store, logger: logger, http: http)
        let started = try await global.startSaga(workflow, input: value, id: id, engine: engine)
        let record = try await CLI.guarded { try await engine.run(sagaID: started.id) }
        await EngineFactory.shutdown()
        let snapshot = try await CLI.guarded { try await engine.snapshot(sagaID: record.id) }
        if json {
            CLI.printJSON(snapshot.json(now: Date()))
        } else {
            print(Output.describe(snapshot, now: Date()))
        }
        if record.status != .completed {
            throw ExitCode(CLI.ExitCodes.notCompleted)
        }
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

    func execute() async throws {
        let logger = global.makeLogger(defaultLevel: .warning)
        let value = try input.value()  // before the database is opened (and maybe created)
        let store = try global.openStore(.create)
        let engine = EngineFactory.makeEngine(store: store, logger: logger)
        let record = try await global.startSaga(workflow, input: value, id: id, engine: engine)
        print(record.id)
    }
}
