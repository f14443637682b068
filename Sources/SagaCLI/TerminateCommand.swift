import ArgumentParser
import Foundation
import Logging
import Sagas

struct TerminateCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "terminate",
        abstract: "Stop a saga now without compensating: it ends failed. Journaled with who and why.",
        discussion: """
            For a saga whose undo was done by hand, or must not happen: nothing is compensated, nothing that took \
            effect is undone. The saga ends `failed`, with `saga.terminated` in its journal (by, reason); an open \
            intervention is closed as terminated. It acts on sagas that no live worker holds (waiting for a \
            person, stuck, pending with no worker, parked); a saga that a worker is running is refused (exit 4): \
            cancel it, or stop that worker first. A finished saga is refused too (exit 4).

            Batch: --all with the filters of `saga list` (default: sagas in needs_intervention) prints how many \
            sagas it selects; add --yes to terminate each of them. The summary names those that failed (exit 1).

            Examples:
              saga terminate s-123 --reason "refunded by hand, ticket 4411"
              saga terminate --all --workflow order@1 --has-intervention --reason "migrated to v2" --yes
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The saga's id (or use --all with filters).")
    var id: String?
    @Option(help: "Why (journaled; required).")
    var reason: String
    @Option(help: "Who (journaled). Default: as for `saga resolve --by`: $USER, else $LOGNAME, else the login name.")
    var by: String?
    @OptionGroup var batch: BatchOptions
    @Flag(help: "Print the saga's summary (with --all: the batch's outcome) as JSON.")
    var json = false

    func execute() async throws {
        try batch.validate(id: id, command: "terminate")
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else {
            throw CLIError("--reason must say why the saga is stopped", exitCode: CLI.ExitCodes.invalidInput)
        }
        let who = by ?? ResolveCommand.currentUser()
        let store = try await global.openStore(.write)
        let engine = EngineFactory.makeEngine(store: store, logger: global.makeLogger(defaultLevel: .warning))
        guard let id else {
            try await batch.run(verb: "terminate", json: json, engine: engine, defaultStatuses: [.needsIntervention]) {
                _ = try await engine.client.terminate(sagaID: $0, reason: reason, by: who)
            }
            return
        }
        let record = try await CLI.guarded { try await engine.client.terminate(sagaID: id, reason: reason, by: who) }
        if json {
            CLI.printJSON(record.summaryJSON(now: Date()))
        } else {
            print("saga \(record.id) terminated (\(record.status.rawValue)); nothing was compensated")
        }
    }
}
