import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasSQLite

struct ListCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List sagas, newest first.",
        discussion: """
            Sagas that are not finished but that no worker holds and that made no progress for 15s are marked stuck: \
            start `saga worker` to resume them.

            Examples:
              saga list
              saga list --status needs_intervention --status compensating
              saga list --workflow order --limit 10 --json
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Only sagas with this status (repeatable): \(SagaStatus.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "status"))
    var status: [String] = []
    @Option(help: "Only sagas of this workflow (its name).")
    var workflow: String?
    @Option(help: "At most this many.")
    var limit: Int = 50
    @Flag(help: "Print a JSON array.")
    var json = false

    func execute() async throws {
        var statuses: [SagaStatus] = []
        for s in status {
            guard let parsed = SagaStatus(rawValue: s) else {
                throw CLIError(
                    "unknown status '\(s)'; expected one of \(SagaStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                    exitCode: CLI.ExitCodes.invalidInput
                )
            }
            statuses.append(parsed)
        }
        guard limit >= 1 else { throw CLIError("--limit must be at least 1", exitCode: CLI.ExitCodes.invalidInput) }
        let store = try global.openStore(.read)
        let records = try await CLI.guarded {
            try await store.list(SagaQuery(statuses: statuses, workflow: workflow, limit: limit))
        }
        let now = Date()
        if json {
            CLI.printJSON(.array(records.map { $0.summaryJSON(now: now) }))
            return
        }
        if records.isEmpty {
            print("no sagas")
            return
        }
        let rows = records.map { r in
            [
                r.id, "\(r.workflow)@\(r.version)", r.isStuck(now: now) ? "\(r.status.rawValue) (stuck)" : r.status.rawValue,
                r.currentStep ?? "", Output.age(r.createdAt, now: now), Output.truncate(r.lastError ?? "", 60),
            ]
        }
        print(Output.table(["ID", "WORKFLOW", "STATUS", "STEP", "AGE", "LAST ERROR"], rows, colorColumn: 2))
    }
}

struct ShowCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a saga: status, input, steps, and the full timeline of its journal.",
        discussion: """
            --json prints one object whose format Docs/cli.md documents; scripts may depend on it.

            Examples:
              saga show s-123
              saga show s-123 --json | jq '.steps[] | select(.status != "succeeded")'
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The saga's id.")
    var id: String
    @Flag(help: "Print one JSON object.")
    var json = false

    func execute() async throws {
        let store = try global.openStore(.read)
        let engine = EngineFactory.makeEngine(store: store, logger: global.makeLogger(defaultLevel: .warning))
        let snapshot = try await CLI.guarded { try await engine.snapshot(sagaID: id) }
        if json {
            CLI.printJSON(snapshot.json(now: Date()))
        } else {
            print(Output.describe(snapshot, now: Date()))
        }
    }
}
