import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasSQLite

struct ListCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List sagas, newest first, with filters.",
        discussion: """
            Sagas that are not finished but that no worker holds and that made no progress for 15s are marked stuck: \
            start `saga worker` to resume them. --since and --until filter on the creation time. Every filter is \
            served by an index.

            Paging: --json prints an array; pass the last row's id as --after to get the next page.

            Examples:
              saga list
              saga list --status needs_intervention --status compensating
              saga list --workflow order@1 --since 2h
              saga list --key o-1
              saga list --stuck
              saga list --workflow order --limit 10 --json
              saga list --limit 100 --after s-…
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var filters: FilterOptions
    @Option(help: "At most this many (1 to 10000).")
    var limit: Int = 50
    @Option(help: ArgumentHelp("Only sagas listed after this one (the last id of the previous page).", valueName: "id"))
    var after: String?
    @Flag(help: "Print a JSON array.")
    var json = false

    func execute() async throws {
        guard (1...10_000).contains(limit) else {
            throw CLIError("--limit must be 1 to 10000", exitCode: CLI.ExitCodes.invalidInput)
        }
        let now = Date()
        let query = try filters.query(limit: limit, after: after, now: now)
        let store = try await global.openStore(.read)
        let records = try await CLI.guarded { try await store.list(query) }
        if json {
            CLI.printJSON(.array(records.map { $0.summaryJSON(now: now) }))
            return
        }
        if records.isEmpty {
            print("no sagas")
            return
        }
        let rows: [[String]] = records.map { (r: SagaRecord) -> [String] in
            var status: String = r.status.rawValue
            if r.damage != nil {
                status += " (damaged)"
            } else if r.isStuck(now: now) {
                status += " (stuck)"
            }
            let key: String = r.key ?? ""
            let step: String = r.currentStep ?? ""
            let problem: String = Output.withoutContext(r.damage ?? r.lastError ?? "", saga: r.id, step: r.currentStep)
            let error: String = Output.truncate(problem, 60)
            return [r.id, "\(r.workflow)@\(r.version)", status, key, step, Output.age(r.createdAt, now: now), error]
        }
        print(Output.table(["ID", "WORKFLOW", "STATUS", "KEY", "STEP", "AGE", "LAST ERROR"], rows, colorColumn: 2))
        if query.stuckAt != nil {
            for line in try await CLI.guarded({ try await Self.keyWaits(records, store: store) }) { print(line) }
        }
        if records.count == limit, let last = records.last {
            FileHandle.standardError.write(Data("(first \(limit); next page: --after \(last.id))\n".utf8))
        }
    }
}

struct ShowCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a saga: status, input, steps, and the full timeline of its journal.",
        discussion: """
            --json prints one object whose format Docs/cli.md documents; scripts may depend on it.
            --follow prints the saga, then each new event as it is journaled (by any worker), until the saga is \
            finished (completed, compensated or failed), or Ctrl-C. With --json, --follow prints every event as one \
            JSON object per line instead.

            Examples:
              saga show s-123
              saga show s-123 --follow
              saga show s-123 --json | jq '.steps[] | select(.status != "succeeded")'
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The saga's id.")
    var id: String
    @Flag(help: "Print one JSON object (with --follow: one JSON object per event and line).")
    var json = false
    @Flag(help: "Then print each new event as it is journaled, until the saga is finished.")
    var follow = false

    func execute() async throws {
        let store = try await global.openStore(.read)
        let engine = EngineFactory.makeEngine(store: store, logger: global.makeLogger(defaultLevel: .warning))
        if follow && json {
            for try await event in engine.follow(sagaID: id) {
                Output.printNow(event.json.jsonString)
            }
            return
        }
        let snapshot = try await CLI.guarded { try await engine.client.snapshot(sagaID: id) }
        if json {
            CLI.printJSON(snapshot.json(now: Date()))
        } else {
            Output.printNow(Output.describe(snapshot, now: Date()))
        }
        guard follow else { return }
        let first = snapshot.events.first?.at ?? Date()
        try await CLI.guarded {
            for try await event in engine.follow(sagaID: id, after: snapshot.record.lastSeq) {
                Output.printNow(Output.eventRow(event, since: first, sagaID: id).filter { !$0.isEmpty }.joined(separator: "  "))
            }
        }
        let final = try await CLI.guarded { try await store.saga(id: id) }
        if let final { print("saga \(final.id) is \(final.status.rawValue)") }
    }
}
