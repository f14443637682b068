import Sagas

// The saga page's "Waiting" table: the steps that wait for a signal or a timer, and until when (never the token).
extension SagaDashboardPages {
    /// `json` is the saga's `show --json` object; empty when no step waits.
    func waitsHTML(_ json: JSONValue) -> HTML {
        let waits = json["waits"]?.arrayValue ?? []
        guard !waits.isEmpty else { return "" }
        let rows = waits.map { w -> HTML in
            let step: String = w["step"]?.stringValue ?? ""
            let kind: String = w["for"]?.stringValue ?? ""
            let attempt: String = w["attempt"]?.intValue.map(String.init) ?? ""
            let until: String = w["until"]?.stringValue ?? ""
            return "<tr><td>\(step)</td><td>\(kind)</td><td class=\"num\">\(attempt)</td><td>\(until)</td></tr>"
        }
        var body: HTML = ""
        for row in rows { body = "\(body)\(row)" }
        return """
            <h2>Waiting</h2>
            <table><tr><th>Step</th><th>For</th><th>Attempt</th><th>Until</th></tr>\(body)</table>
            """
    }
}
