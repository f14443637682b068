import Foundation
import Sagas

/// Text output for people: aligned tables, timelines, status in colour on a terminal.
enum Output {
    static func colored(_ status: String) -> String {
        guard CLI.useColor else { return status }
        let code: String
        switch status {
        case "completed", "succeeded", "compensated", "step.succeeded", "compensation.succeeded", "saga.completed",
            "saga.compensated", "probe.happened":
            code = "32"
        case "needs_intervention", "failed", "compensation_failed", "step.failed", "compensation.failed",
            "saga.needs_intervention", "saga.failed", "stuck", "damaged", "journal does not replay":
            code = "31"
        case "compensating", "running", "retrying", "unknown", "step.unknown", "compensation.unknown", "saga.compensating",
            "saga.cancel_requested", "probing":
            code = "33"
        default:
            return status
        }
        return "\u{1B}[\(code)m\(status)\u{1B}[0m"
    }

    /// Pads each column to its widest cell; `colorColumn` is coloured after padding.
    static func table(_ header: [String], _ rows: [[String]], colorColumn: Int? = nil) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String], color: Bool) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let padded = i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                if color, i == colorColumn {
                    parts.append(colored(cell) + String(padded.dropFirst(cell.count)))
                } else {
                    parts.append(padded)
                }
            }
            return parts.joined(separator: "  ").trimmingTrailingSpaces()
        }
        return ([line(header, color: false)] + rows.map { line($0, color: true) }).joined(separator: "\n")
    }

    static func age(_ date: Date, now: Date) -> String {
        let seconds = max(0, now.timeIntervalSince(date))
        return SagaDuration.format(.milliseconds(Int64(seconds * 1000))).replacingOccurrences(of: ".", with: ".")
    }

    /// A time relative to `now`: `in 12s`, or `5s ago`.
    static func relative(_ date: Date, now: Date) -> String {
        date >= now ? "in " + age(now, now: date) : age(date, now: now) + " ago"
    }

    /// An error as a table cell shows it, beside columns that already name its saga and step: without the
    /// `saga ID, step NAME: ` (or `saga ID: `) it starts with, so that a cut cell still shows what went wrong.
    /// A prefix naming another step keeps `step OTHER: `.
    static func withoutContext(_ text: String, saga: String, step: String?) -> String {
        var text = text
        if let step { text = text.replacingOccurrences(of: "saga \(saga), step \(step): ", with: "") }
        text = text.replacingOccurrences(of: "saga \(saga), step ", with: "step ")
        return text.replacingOccurrences(of: "saga \(saga): ", with: "")
    }

    static func truncate(_ s: String, _ n: Int) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= n ? flat : String(flat.prefix(n - 1)) + "…"
    }

    /// A saga's status, steps and timeline.
    static func describe(_ snapshot: SagaSnapshot, now: Date) -> String {
        let r = snapshot.record
        var out: [String] = []
        out.append("saga \(r.id)  \(r.workflow)@\(r.version)  \(colored(r.status.rawValue))")
        if let damage = r.damage, damage != snapshot.journalError {
            out.append("  " + colored("damaged") + ": \(damage)")
        }
        if snapshot.state == nil {
            // Said before anything else: the status above is the row's summary, which nothing here confirms.
            out.append("  " + colored("journal does not replay") + ": " + (snapshot.journalError ?? "the state machine refused it"))
            out.append("  the status above is the database row's summary; the steps cannot be known. A worker parks such a")
            out.append("  saga: repair it from a backup (Docs/operations.md, \"Parked sagas\")")
        }
        out.append("  created \(SagaTime.format(r.createdAt))   updated \(SagaTime.format(r.updatedAt))")
        out.append("  input   \(truncate(r.input.jsonString, 200))")
        if let key = r.key { out.append("  key     \(truncate(key, 200))") }
        if let of = r.rerunOf { out.append("  rerun of \(of)") }
        if !snapshot.reruns.isEmpty { out.append("  rerun as \(snapshot.reruns.joined(separator: ", "))") }
        if let reason = snapshot.state?.reason { out.append("  reason  \(withoutContext(reason, saga: r.id, step: nil))") }
        if r.isStuck(now: now) { out.append("  " + colored("stuck") + ": no worker holds this saga; start `saga worker` to resume it") }
        if let cancel = r.cancelReason { out.append("  cancel requested: \(cancel)" + (r.cancelBy.map { " (by \($0))" } ?? "")) }
        out.append(contentsOf: snapshot.keyLines.map { "  " + $0 })
        if let state = snapshot.state {
            out.append("")
            out.append("steps:")
            let rows = state.steps.map { s in
                [
                    s.name, s.status, "\(s.attempts)", "\(s.compensationAttempts)",
                    truncate(s.output?.jsonString ?? "", 50),
                    truncate(withoutContext(s.lastError ?? "", saga: r.id, step: s.name), 60),
                ]
            }
            out.append(indent(table(["STEP", "STATUS", "ATTEMPTS", "COMP", "OUTPUT", "LAST ERROR"], rows, colorColumn: 1)))
            for wait in state.waits {
                let kind = state.definition.step(named: wait.step)?.action.kind.isTimer == true ? "its timer" : "a signal"
                out.append("  \(wait.step) waits for \(kind) (attempt \(wait.attempt)) until \(SagaTime.format(wait.until))")
            }
        } else {
            out.append("")
            out.append("steps: not known (the journal does not replay)")
        }
        if let state = snapshot.state, !state.interventions.isEmpty {
            out.append("")
            out.append("interventions:")
            let rows = state.interventions.map { i in
                [
                    i.id, i.step, i.phase.rawValue, i.resolution == nil ? "open" : "resolved",
                    i.resolution.map { "\($0.action) by \($0.by)" + ($0.note.map { ": \($0)" } ?? "") } ?? truncate(withoutContext(i.reason, saga: r.id, step: i.step), 60),
                ]
            }
            out.append(indent(table(["ID", "STEP", "PHASE", "STATE", "RESOLUTION OR REASON"], rows, colorColumn: nil)))
        }
        out.append("")
        out.append("timeline:")
        out.append(indent(timeline(snapshot.events, sagaID: r.id)))
        return out.joined(separator: "\n")
    }

    static func timeline(_ events: [SagaEvent], sagaID: String? = nil) -> String {
        guard let first = events.first?.at else { return "(no events)" }
        return table(["SEQ", "AT", "EVENT", "STEP", "DETAIL"], events.map { eventRow($0, since: first, sagaID: sagaID) }, colorColumn: 2)
    }

    /// One timeline row: number, time since `since`, type, step, and the details that matter.
    static func eventRow(_ e: SagaEvent, since first: Date, sagaID: String? = nil) -> [String] {
        let seconds: Double = Swift.min(Swift.max(0, e.at.timeIntervalSince(first)), 1e12)
        let millis: Int64 = Int64(seconds * 1000)
        let offset: String = "+" + SagaDuration.format(.milliseconds(millis))
        var detail: [String] = []
        if let attempt = e.attempt { detail.append("attempt \(attempt)") }
        if let d = e.durationMs { detail.append("\(d)ms") }
        if let error = e.error {
            detail.append(truncate(sagaID.map { withoutContext(error, saga: $0, step: e.step) } ?? error, 80))
        }
        if let output = e.output, output != .null { detail.append("→ " + truncate(output.jsonString, 60)) }
        if e.type == .interventionResolved, let data = e.data {
            var words = "\(data["action"]?.stringValue ?? "?") by \(data["by"]?.stringValue ?? "?")"
            if let note = data["note"]?.stringValue { words += ": " + truncate(note, 60) }
            detail.append(words)
        }
        if e.type == .cancelRequested, let by = e.data?["by"]?.stringValue { detail.append("by " + truncate(by, 60)) }
        if let data = e.data, e.type == .sagaStarted, let input = data["input"] {
            detail.append("input " + truncate(input.jsonString, 60))
        }
        return [String(e.seq), offset, e.type.rawValue, e.step ?? "", detail.joined(separator: "  ")]
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

extension Output {
    /// Prints a line and flushes standard output at once (for `--follow`, whose reader waits for each line).
    static func printNow(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
