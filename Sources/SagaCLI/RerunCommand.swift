import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasSQLite

struct RerunCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Start a new saga that reruns a finished or parked one, optionally from a step.",
        discussion: """
            For a saga that is completed, compensated, failed, or parked. The new saga is linked to the original \\
            (its `rerunOf`; the original's `saga show` lists its reruns), pins the same definition (or, with \\
            --latest, the workflow's highest version in --workflows), and takes the original input or --input.

            --from STEP: the steps STEP depends on (transitively) keep the outputs the original journaled and do not \\
            run again (journaled as step.reused); STEP and every other step run anew. Those steps must have \\
            succeeded in the original and not been compensated.

            Idempotency keys: every attempt of the new saga carries NEW-ID/STEP/PHASE. The original is finished, so \\
            none of its attempts is in flight; a step that runs again does so on purpose (its effect was undone, \\
            never happened, or is wanted again), and a target that dedupes by key sees a new operation.

            Prints the new saga's id; a worker runs it (or pass --run).

            Examples:
              saga rerun s-123
              saga rerun s-123 --from charge-payment --input '{"orderId": "o-1", "card": "4242"}'
              saga rerun s-123 --latest --run
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var http: HTTPOptions
    @Argument(help: "The saga to rerun.")
    var id: String
    @Option(help: ArgumentHelp("Rerun from this step: the steps it depends on keep their outputs.", valueName: "step"))
    var from: String?
    @OptionGroup var input: InputOption
    @Flag(help: "Pin the workflow's latest version (from --workflows) instead of the original's definition.")
    var latest = false
    @Option(name: .customLong("id"), help: ArgumentHelp("The new saga's id (default: a new one).", valueName: "id"))
    var newID: String?
    @Flag(help: "Drive the new saga in this process until it is done or needs a person.")
    var run = false
    @Flag(help: "Print the new saga's summary as JSON.")
    var json = false

    func execute() async throws {
        let logger = global.makeLogger(defaultLevel: .warning)
        let store = try await global.openStore(.write)
        let engine = EngineFactory.makeEngine(store: store, logger: logger, http: http)
        var definition: SagaDefinition?
        if latest {
            guard let original = try await CLI.guarded({ try await store.saga(id: id) }) else {
                throw CLIError("no saga \(Output.truncate(id, 100))", exitCode: CLI.ExitCodes.notFound)
            }
            let catalog = WorkflowCatalog(directory: global.workflowsDirectory, kinds: EngineFactory.kinds)
            definition = try CLI.guarded { try catalog.resolve(original.workflow).definition }
        }
        let corrected: JSONValue? = input.input == nil ? JSONValue?.none : try input.value()
        var record = try await CLI.guarded {
            try await engine.client.rerun(
                sagaID: id, from: from, input: corrected, definition: definition, id: newID, by: ResolveCommand.currentUser()
            )
        }
        if run {
            let newID = record.id
            record = try await CLI.guarded { try await engine.run(sagaID: newID) }
            await EngineFactory.shutdown()
        }
        if json {
            CLI.printJSON(record.summaryJSON(now: Date()))
        } else {
            print(record.id)
            var line = "rerun of \(id)"
            if let from { line += " from step \(from)" }
            line += ": saga \(record.id) is \(record.status.rawValue)\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
        if run && record.status != .completed { throw ExitCode(CLI.ExitCodes.notCompleted) }
    }
}
