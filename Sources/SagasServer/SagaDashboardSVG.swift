import Foundation
import Sagas

/// The dashboard's drawings, as inline SVG built from escaped text: a saga's timeline and a workflow's graph.
enum SagaDashboardSVG {
    // MARK: Timeline

    /// One bar of the timeline: an attempt from its start to its outcome (or to now, when it is in flight).
    struct Bar {
        var lane: Int
        var start: Date
        var end: Date
        var phase: String
        var outcome: String
        var label: String
    }

    /// Attempts of each step on a time axis (forward in blue, compensations in purple, probes in teal; the end
    /// marker green for success, orange for a failure that is retried, red otherwise), waits between retries as
    /// thin lines, and saga events (cancel, intervention, finish) as ticks on the first lane.
    static func timeline(_ events: [SagaEvent], now: Date) -> HTML {
        guard let first = events.first else { return "<p class=\"muted\">No events.</p>" }
        var lanes: [String] = ["saga"]
        func lane(_ step: String) -> Int {
            if let i = lanes.firstIndex(of: step) { return i }
            lanes.append(step)
            return lanes.count - 1
        }
        var open: [String: (Date, String)] = [:]
        var bars: [Bar] = []
        var ticks: [(Date, String, String)] = []
        for event in events {
            let type = event.type.rawValue
            let parts = type.split(separator: ".", maxSplits: 1).map(String.init)
            let family = parts.first ?? ""
            let what = parts.count > 1 ? parts[1] : ""
            if let step = event.step, ["step", "compensation", "probe"].contains(family) {
                let key = step + "/" + family
                if what == "started" {
                    open[key] = (event.at, family)
                    continue
                }
                let started = open.removeValue(forKey: key)?.0 ?? event.at
                let outcome: String
                switch what {
                case "succeeded", "happened", "not_happened", "reused": outcome = "ok"
                case "failed": outcome = event.retryable == true ? "retry" : "fail"
                default: outcome = "fail"
                }
                bars.append(Bar(lane: lane(step), start: started, end: event.at, phase: family, outcome: outcome, label: type))
            } else {
                let kind = type.contains("intervention") ? "int" : "saga"
                let by: String? = event.data?["by"]?.stringValue
                ticks.append((event.at, kind, by.map { "\(type) by \($0)" } ?? type))
                if let step = event.step { _ = lane(step) }
            }
        }
        for (key, value) in open {
            let step = String(key.split(separator: "/").first ?? "")
            bars.append(Bar(lane: lane(step), start: value.0, end: now, phase: value.1, outcome: "open", label: value.1 + " in flight"))
        }
        let last = max(events.last?.at ?? first.at, bars.map(\.end).max() ?? first.at)
        let span = max(last.timeIntervalSince(first.at), 0.001)
        let labelWidth = 150.0
        let width = 1000.0
        let laneHeight = 22.0
        let height = Double(lanes.count) * laneHeight + 30
        func x(_ date: Date) -> Double { labelWidth + (date.timeIntervalSince(first.at) / span) * (width - labelWidth - 10) }
        func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
        var parts: [HTML] = []
        for (i, name) in lanes.enumerated() {
            let y = Double(i) * laneHeight + 15
            parts.append("<text x=\"4\" y=\"\(fmt(y + 4))\">\(String(name.prefix(24)))</text>")
            parts.append("<line class=\"t-axis\" x1=\"\(fmt(labelWidth))\" y1=\"\(fmt(y))\" x2=\"\(fmt(width - 10))\" y2=\"\(fmt(y))\"/>")
        }
        // Waits: from a retried failure to the next attempt of the same step and phase.
        let sorted = bars.sorted { $0.start < $1.start }
        for (i, bar) in sorted.enumerated() where bar.outcome == "retry" {
            if let next = sorted[(i + 1)...].first(where: { $0.lane == bar.lane && $0.phase == bar.phase }) {
                let y = Double(bar.lane) * laneHeight + 15
                parts.append("<line class=\"t-edge\" x1=\"\(fmt(x(bar.end)))\" y1=\"\(fmt(y))\" x2=\"\(fmt(x(next.start)))\" y2=\"\(fmt(y))\"><title>wait before retry</title></line>")
            }
        }
        for bar in bars {
            let y = Double(bar.lane) * laneHeight + 15
            let x0 = x(bar.start)
            let w = max(x(bar.end) - x0, 3)
            let phaseClass = bar.phase == "compensation" ? "t-comp" : bar.phase == "probe" ? "t-probe" : "t-fwd"
            let duration = Int(bar.end.timeIntervalSince(bar.start) * 1000)
            parts.append("<rect class=\"\(phaseClass)\" x=\"\(fmt(x0))\" y=\"\(fmt(y - 6))\" width=\"\(fmt(w))\" height=\"12\"><title>\(bar.label) (\(duration) ms)</title></rect>")
            if bar.outcome != "open" {
                parts.append("<rect class=\"t-\(bar.outcome)\" x=\"\(fmt(x0 + w - 3))\" y=\"\(fmt(y - 8))\" width=\"4\" height=\"16\"/>")
            }
        }
        for (at, kind, label) in ticks {
            parts.append("<circle class=\"t-\(kind)\" cx=\"\(fmt(x(at)))\" cy=\"15\" r=\"5\"><title>\(label) \(SagaTime.format(at))</title></circle>")
        }
        let total = Int(span * 1000)
        parts.append("<text x=\"\(fmt(labelWidth))\" y=\"\(fmt(height - 6))\">\(SagaTime.format(first.at))</text>")
        parts.append("<text x=\"\(fmt(width - 160))\" y=\"\(fmt(height - 6))\">+\(total) ms</text>")
        return """
            <svg class="timeline" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="timeline">\(parts)</svg>
            <p class="legend muted"><span><i class="l-fwd"></i>attempt</span><span><i class="l-comp"></i>compensation</span>\
            <span><i class="l-probe"></i>probe</span><span><i class="l-ok"></i>succeeded</span><span><i class="l-retry"></i>failed, retried</span>\
            <span><i class="l-fail"></i>failed</span><span><i class="l-int"></i>intervention</span></p>
            """
    }

    // MARK: Workflow graph

    /// A workflow's steps in columns by depth (a step sits right of every step it runs after), with an edge for
    /// each dependency. The pivot is drawn in yellow, read-only steps in grey.
    static func graph(_ definition: SagaDefinition) -> HTML {
        var depth: [String: Int] = [:]
        func depthOf(_ name: String, _ seen: Set<String> = []) -> Int {
            if let d = depth[name] { return d }
            guard let step = definition.step(named: name), !seen.contains(name) else { return 0 }
            let d = step.after.map { depthOf($0, seen.union([name])) + 1 }.max() ?? 0
            depth[name] = d
            return d
        }
        var columns: [[String]] = []
        for step in definition.steps {
            let d = depthOf(step.name)
            while columns.count <= d { columns.append([]) }
            columns[d].append(step.name)
        }
        let boxWidth = 150.0
        let boxHeight = 28.0
        let gapX = 50.0
        let gapY = 14.0
        var position: [String: (Double, Double)] = [:]
        for (c, names) in columns.enumerated() {
            for (r, name) in names.enumerated() {
                position[name] = (10 + Double(c) * (boxWidth + gapX), 10 + Double(r) * (boxHeight + gapY))
            }
        }
        let rows = columns.map(\.count).max() ?? 1
        let width = 20 + Double(columns.count) * (boxWidth + gapX) - gapX
        let height = 20 + Double(rows) * (boxHeight + gapY) - gapY
        func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
        var parts: [HTML] = []
        for step in definition.steps {
            guard let to = position[step.name] else { continue }
            for dependency in step.after {
                guard let from = position[dependency] else { continue }
                parts.append("<line class=\"t-edge\" x1=\"\(fmt(from.0 + boxWidth))\" y1=\"\(fmt(from.1 + boxHeight / 2))\" x2=\"\(fmt(to.0))\" y2=\"\(fmt(to.1 + boxHeight / 2))\"/>")
            }
        }
        for step in definition.steps {
            guard let at = position[step.name] else { continue }
            let kind: String = step.kind.rawValue
            parts.append("""
                <g class="node \(kind)"><rect x="\(fmt(at.0))" y="\(fmt(at.1))" width="\(fmt(boxWidth))" height="\(fmt(boxHeight))" rx="4"/>\
                <text x="\(fmt(at.0 + 6))" y="\(fmt(at.1 + 18))">\(String(step.name.prefix(22)))</text><title>\(step.name): \(kind)</title></g>
                """)
        }
        return "<svg class=\"graph\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"step graph\">\(parts)</svg>"
    }
}
