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
        let webhooks = try await CLI.guarded { try await WebhookStats.read(store) }
        let keys = try await CLI.guarded { try await KeyStats.read(store) }
        if json {
            var object = stats.json(now: now)
            if case .object(var members) = object, let webhooks {
                members["webhooks"] = webhooks.json
                object = .object(members)
            }
            if case .object(var members) = object, let keys {
                members["exclusiveKeys"] = keys.json
                object = .object(members)
            }
            CLI.printJSON(object)
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
        if let webhooks { lines.append(webhooks.line(now: now)) }
        if let keys { lines.append(contentsOf: [""] + keys.lines) }
        print(lines.joined(separator: "\n"))
    }
}

/// The webhook line of `saga stats`: subscriptions by state (paused ones say why), failing ones, failed deliveries.
struct WebhookStats {
    var subscriptions: [SagaWebhookSubscription]
    var failedDeliveries: Int

    /// `nil` when there are no subscriptions.
    static func read(_ store: any SagaStore) async throws -> WebhookStats? {
        guard let store = store as? any SagaStoreWebhooks else { return nil }
        let subscriptions = try await store.webhookSubscriptions()
        guard !subscriptions.isEmpty else { return nil }
        let failed = try await store.webhookDeliveries(.init(states: [.failed], limit: 1_000_000)).count
        return WebhookStats(subscriptions: subscriptions, failedDeliveries: failed)
    }

    func count(_ state: SagaWebhookSubscription.State) -> Int { subscriptions.filter { $0.state == state }.count }

    var failing: [SagaWebhookSubscription] { subscriptions.filter { $0.state == .active && $0.failingSince != nil } }

    func line(now: Date) -> String {
        var text = "webhooks: \(count(.active)) active, \(count(.paused)) paused, \(count(.disabled)) disabled"
        text += ", \(failing.count) failing, \(failedDeliveries) failed deliveries"
        for s in subscriptions where s.state != .active {
            text += "\n  \(s.id) \(s.state.rawValue)\(s.stateReason.map { ": " + $0 } ?? "") (saga webhooks list)"
        }
        for s in failing {
            text += "\n  \(s.id) failing for \(Output.age(s.failingSince ?? now, now: now))"
        }
        return text
    }

    var json: JSONValue {
        .object([
            "active": .integer(count(.active)),
            "paused": .integer(count(.paused)),
            "disabled": .integer(count(.disabled)),
            "failing": .integer(failing.count),
            "failedDeliveries": .integer(failedDeliveries),
        ])
    }
}
