import ArgumentParser
import Foundation
import Sagas
import SagasSQLite

struct StatsCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Count sagas: by status and workflow, stuck, waiting for a person, finished recently.",
        discussion: """
            Read-only. "waiting for a person" counts sagas in needs_intervention (open interventions, and parked \\
            sagas whose journal does not replay); the oldest is the one that has waited longest.

            Examples:
              saga stats
              saga stats --json | jq .interventions
            """
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON object.")
    var json = false

    func execute() async throws {
        let store = try await global.openStore(.read)
        let now = Date()
        let stats = try await CLI.guarded { try await store.statistics(now: now) }
        if json {
            CLI.printJSON(stats.json(now: now))
            return
        }
        var lines: [String] = []
        lines.append("sagas: \(stats.total)")
        var statusRows: [[String]] = []
        for status in SagaStatus.allCases {
            let count: Int = stats.byStatus[status] ?? 0
            statusRows.append([status.rawValue, String(count)])
        }
        lines.append(Output.table(["STATUS", "COUNT"], statusRows, colorColumn: 0))
        if !stats.byWorkflow.isEmpty {
            lines.append("")
            var rows: [[String]] = []
            for entry in stats.byWorkflow {
                rows.append(["\(entry.workflow)@\(entry.version)", entry.status.rawValue, String(entry.count)])
            }
            lines.append(Output.table(["WORKFLOW", "STATUS", "COUNT"], rows, colorColumn: 1))
        }
        lines.append("")
        lines.append("stuck (no live worker, no progress for 15s): \(stats.stuck)")
        var waiting = "waiting for a person: \(stats.needsIntervention)"
        if let oldest = stats.oldestInterventionAt {
            waiting += " (oldest for \(Output.age(oldest, now: now)), since \(SagaTime.format(oldest)))"
        }
        lines.append(waiting)
        lines.append("finished in the last minute: \(stats.finishedLastMinute), in the last hour: \(stats.finishedLastHour)")
        print(lines.joined(separator: "\n"))
    }
}
