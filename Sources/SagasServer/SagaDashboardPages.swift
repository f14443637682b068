import Foundation
import Sagas

/// The dashboard's pages, rendered on the server from `HTML` fragments: every `String` is escaped as it is
/// interpolated (``SagaHTML/escape(_:)``), so user data (ids, inputs, outputs, errors, notes) cannot become
/// markup.
struct SagaDashboardPages: Sendable {
    /// Who is looking, the CSRF token their forms carry, and whether changes are refused.
    var principal: SagaPrincipal?
    var csrf: String
    var readOnly: Bool
    var now: Date

    func may(_ role: SagaRole) -> Bool {
        guard let principal, !readOnly else { return false }
        return principal.role >= role
    }

    // MARK: Layout

    func layout(_ title: String, active: String, _ body: HTML) -> HTML {
        let nav: [(String, String)] = [
            ("/", "Overview"), ("/sagas", "Sagas"), ("/interventions", "Interventions"), ("/workers", "Workers"),
            ("/workflows", "Workflows"),
        ]
        let links = nav.map { path, name -> HTML in
            "<a href=\"\(path)\"\(path == active ? HTML(" class=\"active\"") : "")>\(name)</a>"
        }
        var who: HTML = ""
        if let principal {
            who = """
                <span class="who">\(principal.name) (\(principal.role.rawValue))\(readOnly ? HTML(" · read-only") : "")</span>\
                <form method="post" action="/logout"><input type="hidden" name="csrf" value="\(csrf)">\
                <button type="submit">Log out</button></form>
                """
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · Sagas</title>
            <link rel="stylesheet" href="/static/app.css">
            <script src="/static/app.js" defer></script>
            </head><body>
            <header><strong>Sagas</strong>\(links)\(who)</header>
            <main>\(body)</main>
            </body></html>
            """
    }

    static func status(_ status: SagaStatus) -> HTML {
        "<span class=\"status s-\(status.rawValue)\">\(status.rawValue)</span>"
    }

    static func age(_ date: Date, now: Date) -> String {
        let seconds = Int(max(0, now.timeIntervalSince(date)))
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7200 { return "\(seconds / 60)m" }
        if seconds < 172_800 { return "\(seconds / 3600)h" }
        return "\(seconds / 86400)d"
    }

    static func sagaLink(_ id: String) -> HTML {
        "<a href=\"/sagas/\(query: id)\">\(id)</a>"
    }

    var csrfField: HTML { "<input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\">" }

    // MARK: Pages

    func login(next: String, message: String?) -> HTML {
        let note: HTML = message.map { "<p class=\"error\">\($0)</p>" } ?? ""
        return layout("Log in", active: "", """
            <h1>Log in</h1>\(note)
            <form method="post" action="/login" class="action">
            <input type="hidden" name="next" value="\(next)">
            <div class="row"><label>Token <input type="password" name="token" autocomplete="current-password" required size="70"></label>
            <button class="primary" type="submit">Log in</button></div>
            </form>
            <p class="muted">The token is the one given to <code>saga serve</code> (SAGA_API_TOKEN or a line of its tokens file).</p>
            """)
    }

    func overview(stats: SagaStatistics, recent: [SagaRecord], stuck: [SagaRecord]) -> HTML {
        let cards = SagaStatus.allCases.map { s -> HTML in
            let count: Int = stats.byStatus[s] ?? 0
            return "<a class=\"card\" href=\"/sagas?status=\(s.rawValue)\"><span class=\"n\">\(count)</span>\(s.rawValue)</a>"
        }
        var oldest: HTML = "none open"
        if let at = stats.oldestInterventionAt {
            oldest = "oldest open for \(Self.age(at, now: now)) (since \(SagaTime.format(at)))"
        }
        return layout("Overview", active: "/", """
            <h1>Overview</h1>
            <div id="overview" data-live>
            <div class="cards">\(cards)
            <a class="card" href="/sagas?stuck=true"><span class="n">\(stats.stuck)</span>stuck</a>
            <a class="card" href="/interventions"><span class="n">\(stats.needsIntervention)</span>waiting for a person</a>
            </div>
            <p>Interventions: \(oldest). Finished in the last minute: \(stats.finishedLastMinute), in the last hour: \(stats.finishedLastHour). Total: \(stats.total).</p>
            <h2>Stuck sagas</h2>\(stuck.isEmpty ? HTML("<p class=\"muted\">None.</p>") : sagaTable(stuck))
            <h2>Recent failures</h2>\(recent.isEmpty ? HTML("<p class=\"muted\">None.</p>") : sagaTable(recent))
            </div>
            """)
    }

    func sagaTable(_ records: [SagaRecord]) -> HTML {
        let rows = records.map { r -> HTML in
            let stuck: HTML = r.isStuck(now: now) ? " <span class=\"status\">stuck</span>" : ""
            let key: String = r.key ?? ""
            let step: String = r.currentStep ?? ""
            let error: String = String((r.lastError ?? "").prefix(160))
            return """
                <tr><td>\(Self.sagaLink(r.id))</td><td>\(r.workflow)@\(r.version)</td><td>\(Self.status(r.status))\(stuck)</td>\
                <td>\(key)</td><td>\(step)</td><td>\(Self.age(r.createdAt, now: now))</td><td>\(error)</td></tr>
                """
        }
        return "<table><tr><th>ID</th><th>Workflow</th><th>Status</th><th>Key</th><th>Step</th><th>Age</th><th>Last error</th></tr>\(rows)</table>"
    }

    func sagas(_ records: [SagaRecord], filters: SagaQueryItems, next: String?) -> HTML {
        let chosen = Set(filters.all("status").flatMap { $0.split(separator: ",").map(String.init) })
        let options = SagaStatus.allCases.map { s -> HTML in
            "<option value=\"\(s.rawValue)\"\(chosen.contains(s.rawValue) ? HTML(" selected") : "")>\(s.rawValue)</option>"
        }
        func value(_ name: String) -> String { filters.first(name) ?? "" }
        func checked(_ name: String) -> HTML { (try? filters.flag(name)) == true ? " checked" : "" }
        var pager: HTML = ""
        if let next {
            var items = filters.items.filter { $0.name != "after" }
            items.append(("after", next))
            let query = items.map { SagaHTML.queryEscape($0.name) + "=" + SagaHTML.queryEscape($0.value) }.joined(separator: "&")
            pager = "<p class=\"pager\"><a href=\"/sagas?\(query)\">Next page →</a></p>"
        }
        return layout("Sagas", active: "/sagas", """
            <h1>Sagas</h1>
            <form class="filters" method="get" action="/sagas">
            <label>Status <select name="status" multiple size="3">\(options)</select></label>
            <label>Workflow <input name="workflow" value="\(value("workflow"))" placeholder="name or name@1"></label>
            <label>Key <input name="key" value="\(value("key"))"></label>
            <label>Since <input name="since" value="\(value("since"))" placeholder="2h or 2026-12-01T08:00:00Z"></label>
            <label>Until <input name="until" value="\(value("until"))"></label>
            <label><span><input type="checkbox" name="stuck" value="true"\(checked("stuck"))> stuck</span></label>
            <label><span><input type="checkbox" name="hasIntervention" value="true"\(checked("hasIntervention"))> needs a person</span></label>
            <label>Limit <input name="limit" value="\(value("limit"))" size="4" placeholder="50"></label>
            <button class="primary" type="submit">Filter</button> <a href="/sagas">Clear</a>
            </form>
            <div id="sagas" data-live>\(records.isEmpty ? HTML("<p class=\"muted\">No sagas match.</p>") : sagaTable(records))</div>
            \(pager)
            """)
    }

    func interventions(_ list: [InterventionSummary]) -> HTML {
        let rows = list.map { s -> HTML in
            let i = s.intervention
            let error: String = String((s.lastError ?? i.reason).prefix(200))
            return """
                <tr><td>\(i.id)</td><td>\(Self.sagaLink(i.sagaID))</td><td>\(s.workflow)@\(s.version)</td><td>\(i.step)</td>\
                <td>\(i.phase.rawValue)</td><td class="num">\(s.attempts)</td><td>\(Self.age(i.openedAt, now: now))</td>\
                <td>\(error)</td><td>\(s.suggestion)</td></tr>
                <tr><td colspan="9">\(resolveForm(i.id))</td></tr>
                """
        }
        let table: HTML = list.isEmpty
            ? "<p class=\"muted\">No open interventions.</p>"
            : "<table><tr><th>ID</th><th>Saga</th><th>Workflow</th><th>Step</th><th>Phase</th><th>Attempts</th><th>Age</th><th>Last error</th><th>Suggested</th></tr>\(rows)</table>"
        return layout("Interventions", active: "/interventions", """
            <h1>Open interventions</h1><div id="interventions" data-live>\(table)</div>
            """)
    }

    func resolveForm(_ id: String) -> HTML {
        guard may(.operator) else { return "<span class=\"muted\">Resolving needs the operator role\(readOnly ? HTML(" (the server is read-only)") : "").</span>" }
        let abandon: HTML = may(.admin) ? "<option value=\"abandon\">abandon (the saga ends failed; admin)</option>" : ""
        return """
            <form class="action" method="post" action="/interventions/\(query: id)/resolve">\(csrfField)
            <div class="row"><label>Action <select name="action"><option value="retry">retry</option>\
            <option value="skip">skip (done by hand)</option>\(abandon)</select></label>
            <label>Note (required) <input name="note" required size="50"></label>
            <label>Output for skip (JSON, optional) <input name="output" size="30"></label>
            <label><span><input type="checkbox" name="confirm" value="yes" required> confirm</span></label>
            <button class="primary" type="submit">Resolve</button></div></form>
            """
    }

    func workers(_ workers: [SagaWorkerSummary]) -> HTML {
        let rows = workers.map { w -> HTML in
            let host: String = w.host ?? ""
            let pid: String = w.pid.map { String($0) } ?? ""
            let until: String = w.leaseExpiresAt.map { SagaTime.format($0) } ?? ""
            return "<tr><td><code>\(w.id)</code></td><td>\(host)</td><td class=\"num\">\(pid)</td><td class=\"num\">\(w.sagas.count)</td><td>\(until)</td><td>\(w.state.rawValue)</td></tr>"
        }
        let table: HTML = workers.isEmpty
            ? "<p class=\"muted\">No worker holds a saga right now.</p>"
            : "<table><tr><th>Worker</th><th>Host</th><th>PID</th><th>Sagas held</th><th>Lease until</th><th>State</th></tr>\(rows)</table>"
        return layout("Workers", active: "/workers", """
            <h1>Workers</h1><p class="muted">Workers are seen through the leases they hold: one that holds no saga is not listed.</p>
            <div id="workers" data-live>\(table)</div>
            """)
    }

    func workflows(_ entries: [SagaServer.WorkflowEntry], counts: [String: [SagaStatus: Int]]) -> HTML {
        let sections = entries.map { entry -> HTML in
            guard let d = entry.definition else {
                let error: String = entry.error ?? "does not load"
                return "<h2>\(entry.path)</h2><p class=\"error\">\(error)</p>"
            }
            let c = counts[d.reference] ?? [:]
            let usage = SagaStatus.allCases.compactMap { s -> HTML? in
                guard let n = c[s], n > 0 else { return nil }
                return "<a href=\"/sagas?workflow=\(query: d.reference)&amp;status=\(s.rawValue)\">\(n) \(s.rawValue)</a>"
            }
            let description: String = d.description ?? ""
            let steps = d.steps.map { step -> HTML in
                let compensation: String = step.compensation?.kind.rawValue ?? "—"
                return "<tr><td>\(step.name)</td><td>\(step.after.joined(separator: ", "))</td><td>\(step.kind.rawValue)</td><td>\(step.action.kind.rawValue)</td><td>\(compensation)</td></tr>"
            }
            return """
                <h2>\(d.reference)</h2><p>\(description)</p><p class="muted">\(entry.path) · sagas: \
                \(usage.isEmpty ? HTML("none") : HTML.join(usage, separator: ", "))</p>
                \(SagaDashboardSVG.graph(d))
                <table><tr><th>Step</th><th>After</th><th>Kind</th><th>Action</th><th>Compensation</th></tr>\(steps)</table>
                """
        }
        return layout("Workflows", active: "/workflows", "<h1>Workflows</h1>\(sections)")
    }
}
