import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dashboard in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`, which `.ci/run`
/// installs) driven over WebDriver against a real `saga serve` with sagas in every state. Logs in, reads the
/// overview, filters to `needs_intervention`, opens a saga, resolves its intervention by clicking, and sees another
/// saga's status change without a reload. A screenshot of each page goes to `.build/screenshots/` (not committed).
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ServeBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let available = chromium != nil && driver != nil && ServeCommandTests.curl != nil

    /// A minimal WebDriver client over curl.
    struct WebDriver {
        static let elementKey = "element-6066-11e4-a52e-4f735466cecf"
        let endpoint: String
        var session = ""

        @discardableResult
        func call(_ method: String, _ path: String, _ body: JSONValue? = nil) throws -> JSONValue {
            var arguments = ["-X", method, endpoint + path]
            if let body { arguments += ["-H", "Content-Type: application/json", "-d", body.jsonString] }
            let (_, text) = try ServeCommandTests.curl(arguments)
            let value = try JSONValue(parsing: text)["value"] ?? .null
            if let error = value["error"]?.stringValue {
                throw CLITestError("WebDriver \(method) \(path): \(error): \(value["message"]?.stringValue ?? "")")
            }
            return value
        }

        func go(_ url: String) throws { try call("POST", "/session/\(session)/url", ["url": .string(url)]) }

        func find(_ css: String) throws -> String {
            let value = try call("POST", "/session/\(session)/element", ["using": "css selector", "value": .string(css)])
            guard let id = value[Self.elementKey]?.stringValue else { throw CLITestError("no element \(css)") }
            return id
        }

        func click(_ css: String) throws { try call("POST", "/session/\(session)/element/\(try find(css))/click", [:]) }

        func type(_ css: String, _ text: String) throws {
            try call("POST", "/session/\(session)/element/\(try find(css))/value", ["text": .string(text)])
        }

        func text(_ css: String) throws -> String {
            try call("GET", "/session/\(session)/element/\(try find(css))/text").stringValue ?? ""
        }

        func url() throws -> String { try call("GET", "/session/\(session)/url").stringValue ?? "" }

        func execute(_ script: String) throws -> JSONValue {
            try call("POST", "/session/\(session)/execute/sync", ["script": .string(script), "args": []])
        }

        /// Saves a PNG of the page to `.build/screenshots/NAME.png`.
        func screenshot(_ name: String) throws {
            let base64 = try call("GET", "/session/\(session)/screenshot").stringValue ?? ""
            let folder = "\(cliPackageRoot)/.build/screenshots"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if let data = Data(base64Encoded: base64) {
                try data.write(to: URL(fileURLWithPath: "\(folder)/\(name).png"))
            }
        }

        /// Polls `condition` every 200ms for up to `timeout` seconds.
        func waitFor(_ timeout: TimeInterval, _ condition: () throws -> Bool) -> Bool {
            eventually(timeout: timeout) { (try? condition()) ?? false }
        }
    }

    /// Workflows whose sagas end in each state: `ok` completes, `undo` compensates, `stuck` needs a person (its
    /// compensation fails for good), `slow` keeps running.
    static func writeWorkflows(_ box: CLISandbox) throws {
        let ok = try box.writeScript("ok.sh", "echo '{}'")
        let fail = try box.writeScript("fail.sh", "echo 'card declined' >&2; exit 100")
        let undoFails = try box.writeScript("undo-fails.sh", "echo 'refund API down' >&2; exit 100")
        let slow = try box.writeScript("slow.sh", "sleep 120; echo '{}'")
        let compensation = #""compensation": {"command": {"argv": ["\#(ok)"]}}"#
        let badCompensation = #""compensation": {"command": {"argv": ["\#(undoFails)"]}}"#
        try box.writeWorkflow("ok", commandWorkflow("ok", steps: [("create", [ok], compensation)]))
        try box.writeWorkflow("undo", commandWorkflow("undo", steps: [
            ("create", [ok], compensation), ("charge", [fail], #""after": ["create"]"#),
        ]))
        try box.writeWorkflow("stuck", commandWorkflow("stuck", steps: [
            ("create", [ok], badCompensation), ("charge", [fail], #""after": ["create"]"#),
        ]))
        try box.writeWorkflow("slow", commandWorkflow("slow", steps: [("wait", [slow], #""kind": "readonly""#)]))
    }

    @Test(.enabled(if: available, "chromium and chromium-driver (and curl) are not installed"))
    func operatorResolvesAnInterventionInTheBrowser() throws {
        let box = try CLISandbox()
        try Self.writeWorkflows(box)
        let token = "browser-token"
        let server = try box.start(
            ["serve", "--port", "0", "--reconcile-every", "0s", "--shutdown-grace", "1s"],
            environment: ["SAGA_API_TOKEN": token]
        )
        defer { if server.isRunning { server.signal(SIGKILL) } }
        let base = try ServeCommandTests.baseURL(of: server)
        let auth = ["-H", "Authorization: Bearer \(token)"]
        func start(_ workflow: String, _ id: String) throws {
            let response = try ServeCommandTests.curl(auth + [
                "-X", "POST", "-d", #"{"workflow": "\#(workflow)", "input": {"note": "<script>alert(1)</script>"}, "id": "\#(id)"}"#,
                base + "/v1/sagas",
            ])
            #expect(response.status == 201, "\(response.body)")
        }
        func status(_ id: String) -> String? {
            let response = try? ServeCommandTests.curl(auth + [base + "/v1/sagas/\(id)"])
            return response.flatMap { try? JSONValue(parsing: $0.body) }?["status"]?.stringValue
        }
        try start("ok", "s-ok")
        try start("undo", "s-undo")
        try start("stuck", "s-stuck-1")
        try start("stuck", "s-stuck-2")
        try start("stuck", "s-stuck-3")
        try start("slow", "s-slow")
        #expect(eventually(timeout: 60) {
            status("s-ok") == "completed" && status("s-undo") == "compensated" && status("s-slow") == "running"
                && ["s-stuck-1", "s-stuck-2", "s-stuck-3"].allSatisfy { status($0) == "needs_intervention" }
        }, "\(server.stderr)")
        let terminated = try ServeCommandTests.curl(auth + ["-X", "POST", "-d", #"{"reason": "done by hand"}"#, base + "/v1/sagas/s-stuck-3/terminate"])
        #expect(terminated.status == 200)

        // The browser.
        var port: Int32 = 0
        var driverProcess: Process?
        for _ in 0..<5 where driverProcess == nil {
            port = Int32.random(in: 20_000...60_000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.driver!)
            process.arguments = ["--port=\(port)"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let ready = eventually(timeout: 10) {
                let status = try? ServeCommandTests.curl(["http://127.0.0.1:\(port)/status"])
                return status?.body.contains("\"ready\":true") == true
            }
            if ready {
                driverProcess = process
            } else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        let chromedriver = try #require(driverProcess, "chromedriver did not start")
        // chromedriver can outlive SIGTERM: ask it to quit, then make sure.
        defer {
            _ = try? ServeCommandTests.curl(["http://127.0.0.1:\(port)/shutdown"])
            if eventually(timeout: 5, { !chromedriver.isRunning }) == false { kill(chromedriver.processIdentifier, SIGKILL) }
            chromedriver.waitUntilExit()
        }
        var browser = WebDriver(endpoint: "http://127.0.0.1:\(port)")
        let profile = box.scratchFile("chromium-profile")
        let capabilities: JSONValue = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": .string(Self.chromium!),
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1280,1000", .string("--user-data-dir=\(profile)"),
                        ],
                    ],
                ]
            ]
        ]
        let created = try browser.call("POST", "/session", capabilities)
        browser.session = try #require(created["sessionId"]?.stringValue)
        defer { _ = try? browser.call("DELETE", "/session/\(browser.session)") }

        // Log in.
        try browser.go(base + "/")
        #expect(try browser.url().contains("/login"))
        try browser.screenshot("1-login")
        try browser.type("input[name=token]", token)
        try browser.click("button[type=submit]")
        #expect(browser.waitFor(10) { try browser.url() == base + "/" })

        // The overview's counts.
        let waiting = try browser.text("a.card[href='/sagas?status=needs_intervention'] .n")
        #expect(waiting == "2")
        #expect(try browser.text("a.card[href='/sagas?status=completed'] .n") == "1")
        #expect(try browser.text("a.card[href='/sagas?status=failed'] .n") == "1")
        #expect(try browser.text("a.card[href='/sagas?status=running'] .n") == "1")
        try browser.screenshot("2-overview")

        // Filter to needs_intervention, open a saga.
        try browser.click("a.card[href='/sagas?status=needs_intervention']")
        #expect(browser.waitFor(10) { try browser.url().hasSuffix("/sagas?status=needs_intervention") })
        let table = try browser.text("#sagas")
        #expect(table.contains("s-stuck-1") && table.contains("s-stuck-2"))
        #expect(!table.contains("s-ok"))
        try browser.screenshot("3-sagas-needs-intervention")
        try browser.click("a[href='/sagas/s-stuck-1']")
        #expect(browser.waitFor(10) { try browser.url().hasSuffix("/sagas/s-stuck-1") })
        #expect(try browser.text("#saga-live .status") == "needs_intervention")
        // User data is shown as text, not run.
        #expect(try browser.execute("return document.querySelectorAll('main script').length;") == 0)
        try browser.screenshot("4-saga")

        // Resolve by clicking: skip, with a note, confirmed.
        try browser.click("select[name=action] option[value=skip]")
        try browser.type("input[name=note]", "refunded by hand")
        try browser.click("input[name=confirm]")
        try browser.click("form[action*='/resolve'] button[type=submit]")
        #expect(browser.waitFor(10) { try browser.url().contains("/sagas/s-stuck-1?done=") })
        #expect(browser.waitFor(20) { try browser.text("#saga-live .status") == "compensated" })
        try browser.screenshot("5-saga-resolved")
        let events = try ServeCommandTests.curl(auth + [base + "/v1/sagas/s-stuck-1"]).body
        #expect(events.contains(#""by":"admin""#))

        // Live: another saga's page changes when someone else resolves it, without a reload.
        try browser.go(base + "/sagas/s-stuck-2")
        _ = try browser.execute("window.sagaMarker = 42; return 0;")
        #expect(try browser.text("#saga-live .status") == "needs_intervention")
        let resolved = try ServeCommandTests.curl(auth + [
            "-X", "POST", "-d", #"{"action": "skip", "note": "done elsewhere"}"#, base + "/v1/interventions/s-stuck-2/resolve",
        ])
        #expect(resolved.status == 200)
        #expect(browser.waitFor(20) { try browser.text("#saga-live .status") == "compensated" })
        #expect(try browser.execute("return window.sagaMarker;") == 42)
        try browser.screenshot("6-saga-live")

        for (name, path) in [("7-interventions", "/interventions"), ("8-workers", "/workers"), ("9-workflows", "/workflows")] {
            try browser.go(base + path)
            try browser.screenshot(name)
        }
        #expect(try browser.text("main").contains("stuck@1"))
        server.signal(SIGTERM)
        #expect(server.wait(timeout: 30) == 0)
    }
}
