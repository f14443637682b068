import ArgumentParser
import Foundation
import Logging
import Sagas

struct CancelCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Ask a saga (or every saga a filter selects) to stop going forward and compensate.",
        discussion: """
            The worker running the saga journals the request, starts no new step, and undoes the steps that may \
            have taken effect. A saga whose pivot step has succeeded only goes forward: the request is journaled \
            but the saga completes. Cancelling a finished saga is an error (exit 4).

            Batch: --all with the filters of `saga list` (default: sagas pending or running) prints how many sagas \
            it selects and changes nothing; add --yes to cancel each of them, as if one by one. One failure does not \
            stop the rest; the summary names those that failed (exit 1).

            The request is journaled (`saga.cancel_requested`) with the reason and who asked (`data.by`: --by, \
            by default as for `saga resolve --by`).

            Examples:
              saga cancel s-123 --reason "customer withdrew the order"
              saga cancel s-123 --reason "duplicate order" --by alice
              saga cancel --all --workflow order --since 1h --reason "bad price list"
              saga cancel --all --workflow order --since 1h --reason "bad price list" --yes
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The saga's id (or use --all with filters).")
    var id: String?
    @Option(help: "Why (journaled with the request).")
    var reason: String = "cancelled by an operator"
    @Option(help: "Who (journaled). Default: as for `saga resolve --by`: $USER, else $LOGNAME, else the login name.")
    var by: String?
    @OptionGroup var batch: BatchOptions
    @Flag(help: "Print the saga's summary (with --all: the batch's outcome) as JSON.")
    var json = false

    func execute() async throws {
        try batch.validate(id: id, command: "cancel")
        if let by, by.trimmingCharacters(in: .whitespaces).isEmpty {
            throw CLIError("--by must name who cancels", exitCode: CLI.ExitCodes.invalidInput)
        }
        let logger = global.makeLogger(defaultLevel: .warning)
        let store = try await global.openStore(.write)
        let engine = EngineFactory.makeEngine(store: store, logger: logger)
        let reason = reason
        let who = by ?? ResolveCommand.currentUser()
        guard let id else {
            try await batch.run(verb: "cancel", json: json, engine: engine, defaultStatuses: [.pending, .running]) {
                _ = try await engine.client.cancel(sagaID: $0, reason: reason, by: who)
            }
            return
        }
        let record = try await CLI.guarded { try await engine.client.cancel(sagaID: id, reason: reason, by: who) }
        if json {
            CLI.printJSON(record.summaryJSON(now: Date()))
        } else {
            print("cancel requested for saga \(record.id) (\(record.status.rawValue))")
        }
    }
}
