import Sagas

// The saga page's "Exclusive keys" table (issue 21): each key of the saga, and for a key another saga holds, that
// saga (a link) and how many sagas queue for it ahead of this one.
extension SagaDashboardPages {
    /// Empty when the saga has no key (or is terminal: its keys are free).
    func keysHTML(_ snapshot: SagaSnapshot) -> HTML {
        guard !snapshot.keys.isEmpty else { return "" }
        var body: HTML = ""
        for hold in snapshot.keys {
            let holder: HTML = hold.isHeld ? "this saga" : Self.sagaLink(hold.holder)
            let state: HTML = hold.isHeld ? "held" : "waits"
            body = "\(body)<tr><td>\(hold.key)</td><td>\(state)</td><td>\(holder)</td><td class=\"num\">\(hold.ahead)</td></tr>"
        }
        return """
            <h2>Exclusive keys</h2>
            <table><tr><th>Key</th><th>State</th><th>Held by</th><th>Ahead</th></tr>\(body)</table>
            """
    }
}
