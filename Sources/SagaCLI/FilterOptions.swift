import ArgumentParser
import Foundation
import Sagas

/// The filters of `saga list`, shared by the batch forms of `cancel`, `terminate` and `resolve` (`--all`).
struct FilterOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Only sagas with this status (repeatable): \(SagaStatus.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "status"
        )
    )
    var status: [String] = []
    @Option(help: ArgumentHelp("Only sagas of this workflow: NAME or NAME@VERSION.", valueName: "name[@version]"))
    var workflow: String?
    @Option(help: ArgumentHelp("Only sagas with this business key (the workflow's \"key\").", valueName: "key"))
    var key: String?
    @Option(
        help: ArgumentHelp(
            "Only sagas created since then: a duration ago (30m, 2h, 7d) or an ISO 8601 time (2026-12-01T08:00:00Z).",
            valueName: "time"
        )
    )
    var since: String?
    @Option(help: ArgumentHelp("Only sagas created before then (a duration ago or an ISO 8601 time).", valueName: "time"))
    var until: String?
    @Flag(help: "Only stuck sagas: not finished, held by no live worker, no progress for 15s.")
    var stuck = false
    @Flag(help: "Only sagas waiting for a person (status needs_intervention).")
    var hasIntervention = false

    /// The query these filters make, at most `limit` sagas after the saga `after`.
    func query(limit: Int, after: String?, now: Date) throws -> SagaQuery {
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
        if hasIntervention {
            if !statuses.isEmpty && !statuses.contains(.needsIntervention) {
                throw CLIError(
                    "--has-intervention selects status needs_intervention, which the --status filters leave out",
                    exitCode: CLI.ExitCodes.invalidInput
                )
            }
            statuses = [.needsIntervention]
        }
        var query = SagaQuery(statuses: statuses, limit: limit)
        if let workflow {
            let (name, version) = try Self.workflowReference(workflow)
            query.workflow = name
            query.version = version
        }
        query.key = key
        query.createdSince = try since.map { try Self.time($0, option: "--since", now: now) }
        query.createdUntil = try until.map { try Self.time($0, option: "--until", now: now) }
        if stuck { query.stuckAt = now }
        query.after = after
        return query
    }

    /// Whether any filter is set (a batch command refuses to select every saga by accident).
    var isEmpty: Bool {
        let options: [String?] = [workflow, key, since, until]
        if !status.isEmpty || stuck || hasIntervention { return false }
        return options.allSatisfy { $0 == nil }
    }

    /// `NAME` or `NAME@VERSION`.
    static func workflowReference(_ text: String) throws -> (String, Int?) {
        guard let at = text.lastIndex(of: "@") else { return (text, nil) }
        let name = String(text[..<at])
        guard let version = Int(text[text.index(after: at)...]), version >= 1, !name.isEmpty else {
            throw CLIError(
                "--workflow \(Output.truncate(text, 80)): expected NAME or NAME@VERSION with a positive version",
                exitCode: CLI.ExitCodes.invalidInput
            )
        }
        return (name, version)
    }

    /// A duration ago (`2h`) or an ISO 8601 time.
    static func time(_ text: String, option: String, now: Date) throws -> Date {
        if let duration = SagaDuration.parse(text) {
            let seconds = Double(SagaDuration.milliseconds(duration)) / 1000
            return now.addingTimeInterval(-min(seconds, 1e11))
        }
        if let date = Self.iso8601(text) { return date }
        throw CLIError(
            "\(option) \(Output.truncate(text, 80)): expected a duration ago (30m, 2h, 7d) or an ISO 8601 time "
                + "(2026-12-01T08:00:00Z)",
            exitCode: CLI.ExitCodes.invalidInput
        )
    }

    static func iso8601(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return date }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        return day.date(from: text)
    }
}
