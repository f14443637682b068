import Foundation
import Sagas

extension SagaDashboardPages {
    /// How many events one page of a saga's timeline and event table shows.
    static let eventsPerPage = 500

    /// A saga: status, input, steps with attempts and errors, interventions, the timeline (one page of events),
    /// the compensation plan, and the actions the viewer's role allows.
    func saga(_ snapshot: SagaSnapshot, plan: SagaPlan?, page: Int, notice: String?) -> HTML {
        let record = snapshot.record
        let json = snapshot.json(now: now)
        let stuck: HTML = record.isStuck(now: now) ? " <span class=\"status\">stuck</span>" : ""
        let noticeHTML: HTML = notice.map { "<p class=\"notice\">\($0)</p>" } ?? ""
        var facts: [HTML] = [
            "<tr><th>Workflow</th><td><a href=\"/workflows\">\(record.workflow)@\(record.version)</a></td></tr>",
            "<tr><th>Created</th><td>\(SagaTime.format(record.createdAt)) (\(Self.age(record.createdAt, now: now)) ago)</td></tr>",
            "<tr><th>Updated</th><td>\(SagaTime.format(record.updatedAt))</td></tr>",
        ]
        if let key = record.key { facts.append("<tr><th>Key</th><td>\(key)</td></tr>") }
        if let step = record.currentStep { facts.append("<tr><th>Current step</th><td>\(step)</td></tr>") }
        if let owner = record.owner { facts.append("<tr><th>Worker</th><td><code>\(owner)</code></td></tr>") }
        if let error = record.lastError { facts.append("<tr><th>Last error</th><td>\(error)</td></tr>") }
        if let reason = record.cancelReason {
            let by: String = record.cancelBy.map { " (by \($0))" } ?? ""
            facts.append("<tr><th>Cancel</th><td>\(reason)\(by)</td></tr>")
        }
        if let original = record.rerunOf { facts.append("<tr><th>Rerun of</th><td>\(Self.sagaLink(original))</td></tr>") }
        if !snapshot.reruns.isEmpty {
            facts.append("<tr><th>Reruns</th><td>\(HTML.join(snapshot.reruns.map(Self.sagaLink), separator: ", "))</td></tr>")
        }
        if snapshot.state == nil {
            facts.append("<tr><th>Parked</th><td>its journal does not replay: repair it from a backup (Docs/operations.md)</td></tr>")
        }

        let steps = (json["steps"]?.arrayValue ?? []).map { s -> HTML in
            let name: String = s["name"]?.stringValue ?? ""
            let status: String = s["status"]?.stringValue ?? ""
            let attempts: Int = s["attempts"]?.intValue ?? 0
            let compensations: Int = s["compensationAttempts"]?.intValue ?? 0
            let probes: Int = s["probeAttempts"]?.intValue ?? 0
            let error: String = s["error"]?.stringValue ?? ""
            let output: String = s["output"].map { $0 == .null ? "" : $0.jsonString } ?? ""
            return """
                <tr><td>\(name)</td><td>\(status)</td><td class="num">\(attempts)</td><td class="num">\(compensations)</td>\
                <td class="num">\(probes)</td><td>\(error)</td><td><code>\(String(output.prefix(300)))</code></td></tr>
                """
        }
        let stepsTable: HTML = """
            <table><tr><th>Step</th><th>Status</th><th>Attempts</th><th>Compensations</th><th>Probes</th><th>Error</th><th>Output</th></tr>\(steps)</table>
            """

        let interventions = (json["interventions"]?.arrayValue ?? []).map { i -> HTML in
            let id: String = i["id"]?.stringValue ?? ""
            let step: String = i["step"]?.stringValue ?? ""
            let phase: String = i["phase"]?.stringValue ?? ""
            let reason: String = i["reason"]?.stringValue ?? ""
            let resolution = i["resolution"]
            var settled: HTML = "open"
            if let resolution, resolution != .null {
                let action: String = resolution["action"]?.stringValue ?? ""
                let by: String = resolution["by"]?.stringValue ?? ""
                let note: String = resolution["note"]?.stringValue ?? ""
                settled = "\(action) by \(by): \(note)"
            }
            let form: HTML = (resolution == nil || resolution == .null) ? "<tr><td colspan=\"5\">\(resolveForm(id))</td></tr>" : ""
            return "<tr><td>\(id)</td><td>\(step)</td><td>\(phase)</td><td>\(reason)</td><td>\(settled)</td></tr>\(form)"
        }
        let interventionsHTML: HTML = interventions.isEmpty ? "" : """
            <h2>Interventions</h2><table><tr><th>ID</th><th>Step</th><th>Phase</th><th>Reason</th><th>Resolution</th></tr>\(interventions)</table>
            """

        // One page of events: a saga with thousands of events does not freeze the page.
        let pages = max(1, (snapshot.events.count + Self.eventsPerPage - 1) / Self.eventsPerPage)
        let current = min(max(page, 1), pages)
        let slice = Array(snapshot.events.dropFirst((current - 1) * Self.eventsPerPage).prefix(Self.eventsPerPage))
        var pager: HTML = ""
        if pages > 1 {
            let path = "/sagas/" + SagaHTML.queryEscape(record.id)
            let previous: HTML = current > 1 ? "<a href=\"\(path)?page=\(current - 1)\">← earlier</a>" : ""
            let next: HTML = current < pages ? "<a href=\"\(path)?page=\(current + 1)\">later →</a>" : ""
            pager = "<p class=\"pager\">\(previous)<span>events \((current - 1) * Self.eventsPerPage + 1)–\((current - 1) * Self.eventsPerPage + slice.count) of \(snapshot.events.count)</span>\(next)</p>"
        }
        let eventRows = slice.map { e -> HTML in
            let step: String = e.step ?? ""
            var error: String = e.error ?? ""
            // Who: the operator of a cancel, terminate or resolution, the sender of a signal.
            if let by = e.data?["by"]?.stringValue { error += (error.isEmpty ? "" : " ") + "(by \(by))" }
            return "<tr><td class=\"num\">\(e.seq)</td><td>\(SagaTime.format(e.at))</td><td>\(e.type.rawValue)</td><td>\(step)</td><td>\(String(error.prefix(300)))</td></tr>"
        }

        return layout("Saga \(record.id)", active: "/sagas", """
            <h1>Saga \(record.id)</h1>\(noticeHTML)
            <div id="saga-live" data-live>
            <p>\(Self.status(record.status))\(stuck)</p>
            <table>\(facts)</table>
            <h2>Steps</h2>\(stepsTable)\(waitsHTML(json))\(keysHTML(snapshot))
            \(interventionsHTML)
            <h2>Timeline</h2>\(pager)\(SagaDashboardSVG.timeline(slice, now: now))
            </div>
            <h2>Input</h2><pre>\(record.input.prettyJSONString)</pre>
            <h2>If it were cancelled now</h2>\(planHTML(plan))
            <h2>Actions</h2>\(actions(snapshot))
            <h2>Events</h2>\(pager)
            <table><tr><th>#</th><th>At</th><th>Type</th><th>Step</th><th>Error</th></tr>\(eventRows)</table>
            """)
    }

    func planHTML(_ plan: SagaPlan?) -> HTML {
        guard let plan else { return "<p class=\"muted\">No plan: the journal does not replay.</p>" }
        let items = plan.compensations.map { c -> HTML in
            let problem: String = c.problem ?? ""
            return "<li>\(c.step) (\(c.kind))\(problem.isEmpty ? HTML("") : " — \(problem)")</li>"
        }
        let skipped = plan.notCompensated.map { s -> HTML in "<li>\(s.step): \(s.reason)</li>" }
        return """
            <p>\(plan.summary)</p>\(items.isEmpty ? HTML("") : "<ol>\(items)</ol>")\
            \(skipped.isEmpty ? HTML("") : "<p class=\"muted\">Not compensated:</p><ul>\(skipped)</ul>")
            """
    }

    func actions(_ snapshot: SagaSnapshot) -> HTML {
        let record = snapshot.record
        guard may(.operator) else {
            return "<p class=\"muted\">Actions need the operator role\(readOnly ? HTML(" (the server is read-only)") : "").</p>"
        }
        let path = "/sagas/" + SagaHTML.queryEscape(record.id)
        var forms: [HTML] = []
        let confirm: HTML = "<label><span><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> confirm</span></label>"
        if !record.status.isTerminal {
            forms.append("""
                <form class="action" method="post" action="\(path)/cancel">\(csrfField)<div class="row">
                <label>Reason <input name="reason" required size="50"></label>\(confirm)
                <button class="danger" type="submit">Cancel (compensate)</button></div></form>
                """)
            if may(.admin) {
                forms.append("""
                    <form class="action" method="post" action="\(path)/terminate">\(csrfField)<div class="row">
                    <label>Reason <input name="reason" required size="50"></label>\(confirm)
                    <button class="danger" type="submit">Terminate (no compensation)</button></div></form>
                    """)
            }
        }
        let rerunnable = record.status.isTerminal || (record.status == .needsIntervention && snapshot.state == nil)
        if rerunnable {
            let options = (snapshot.state?.steps ?? []).map { s -> HTML in "<option value=\"\(s.name)\">\(s.name)</option>" }
            forms.append("""
                <form class="action" method="post" action="\(path)/rerun">\(csrfField)<div class="row">
                <label>From step <select name="from"><option value="">(every step)</option>\(options)</select></label>
                <label><span><input type="checkbox" name="latest" value="true"> the workflow's latest version</span></label>
                \(confirm)<button class="primary" type="submit">Rerun</button></div>
                <label>Corrected input (JSON, optional)<textarea name="input"></textarea></label></form>
                """)
        }
        return forms.isEmpty ? "<p class=\"muted\">Nothing to do.</p>" : HTML.join(forms)
    }
}
