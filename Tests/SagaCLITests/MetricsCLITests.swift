import Foundation
import Sagas
import Testing

/// `saga worker --metrics`: a real worker's Prometheus scrape after a known mix, a take-over included.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct MetricsCLITests {
    /// `curl -s URL`: the body, or nil when it fails.
    static func fetch(_ url: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--max-time", "5", url]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }

    static func value(_ text: String, _ sample: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs /usr/bin/curl"))
    func aWorkerThatTookOverCountsTheTakeOverTheInterruptionAndTheOutcomes() throws {
        let box = try CLISandbox()
        // The first attempt of `a` hangs; every later one (after the take-over) returns at once.
        try box.writeScript("once.sh", #"""
            if [ -f "$SAGA_SCRATCH/started" ]; then echo '{}'; exit 0; fi
            touch "$SAGA_SCRATCH/started"; sleep 30; echo '{}'
            """#)
        try box.writeScript("fail.sh", #"if [ -n "$1" ]; then echo "declined" >&2; exit 100; fi; echo '{}'"#)
        try box.writeWorkflow(
            "mix",
            commandWorkflow(
                "mix",
                steps: [
                    ("a", ["./scripts/once.sh"], #""compensation": {"command": {"argv": ["./scripts/fail.sh", ""]}}"#),
                    ("b", ["./scripts/fail.sh", "${input.fail}"], #""kind": "readonly""#),
                ]
            )
        )
        _ = try box.submit(["mix", "--id", "m-1", "--input", #"{"fail": ""}"#])
        let first = try box.start(["worker", "--lease", "60s"])
        #expect(eventually(timeout: 30) { box.readScratch("started") != nil })
        first.signal(SIGKILL)
        #expect(first.wait(timeout: 10) != nil)
        _ = try box.submit(["mix", "--id", "m-2", "--input", #"{"fail": ""}"#])
        _ = try box.submit(["mix", "--id", "m-3", "--input", #"{"fail": "yes"}"#])

        let second = try box.start(["worker", "--lease", "60s", "--metrics", "127.0.0.1:0"])
        defer { second.signal(SIGKILL) }
        var url: String?
        #expect(eventually(timeout: 30) {
            guard let line = second.stderr.split(separator: "\n").first(where: { $0.hasPrefix("metrics on ") }) else { return false }
            url = String(line.dropFirst("metrics on ".count))
            return true
        }, "\(second.stderr)")
        let endpoint = try #require(url)
        #expect(eventually(timeout: 60) {
            ["m-1", "m-2", "m-3"].allSatisfy { id in
                let status = (try? box.show(id))?["status"]?.stringValue
                return status == "completed" || status == "compensated"
            }
        })
        var text = ""
        #expect(eventually(timeout: 20) {
            text = Self.fetch(endpoint) ?? ""
            return Self.value(text, #"saga_finished_total{workflow="mix",outcome="completed"}"#) == 2
        }, "\(text)")
        #expect(Self.value(text, #"saga_finished_total{workflow="mix",outcome="compensated"}"#) == 1, "\(text)")
        #expect(Self.value(text, #"saga_lease_takeovers_total{workflow="mix"}"#) == 1, "\(text)")
        #expect(Self.value(text, #"saga_step_attempts_total{workflow="mix",step="a",phase="action",outcome="interrupted"}"#) == 1, "\(text)")
        #expect(Self.value(text, #"saga_step_attempts_total{workflow="mix",step="a",phase="action",outcome="succeeded"}"#) == 3, "\(text)")
        #expect(Self.value(text, #"saga_step_attempts_total{workflow="mix",step="b",phase="action",outcome="failed"}"#) == 1, "\(text)")
        #expect(Self.value(text, #"saga_step_attempts_total{workflow="mix",step="a",phase="compensation",outcome="succeeded"}"#) == 1, "\(text)")
        // The gauges follow the journal (read when scraped, at most once a second).
        #expect(eventually(timeout: 20) {
            text = Self.fetch(endpoint) ?? ""
            return Self.value(text, #"saga_sagas{status="completed"}"#) == 2
        }, "\(text)")
        #expect(text.contains("# TYPE saga_duration_seconds histogram"), "\(text)")
        #expect(!text.contains("m-1") && !text.contains("m-2"), "a saga id in a label")
        #expect(Self.fetch(endpoint.replacingOccurrences(of: "/metrics", with: "/healthz")) == "ok\n")
        second.signal(SIGTERM)
        #expect(second.wait(timeout: 20) == 0, "\(second.stderr)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs /usr/bin/curl"))
    func aCircuitBreakerThatOpensShowsInTheScrape() throws {
        let box = try CLISandbox()
        // Port 1 on loopback refuses connections: five failures open the host's breaker.
        try box.writeWorkflow("h", #"""
            {"name": "h", "version": 1,
             "defaults": {"retry": {"maxAttempts": 8, "initialInterval": "10ms", "maxInterval": "20ms"}, "timeout": "2s"},
             "steps": [{"name": "call", "kind": "readonly", "action": {"http": {"method": "GET", "url": "http://127.0.0.1:1/x"}}}]}
            """#)
        _ = try box.submit(["h", "--id", "h-1"])
        let worker = try box.start(["worker", "--metrics", "127.0.0.1:0", "--log-level", "error"])
        defer { worker.signal(SIGKILL) }
        var url: String?
        #expect(eventually(timeout: 30) {
            url = worker.stderr.split(separator: "\n").first { $0.hasPrefix("metrics on ") }.map { String($0.dropFirst(11)) }
            return url != nil
        })
        let endpoint = try #require(url)
        var text = ""
        #expect(eventually(timeout: 30) {
            text = Self.fetch(endpoint) ?? ""
            return Self.value(text, #"saga_circuit_breaker_state{host="127.0.0.1:1"}"#) == 2
        }, "\(text)")
        #expect((Self.value(text, #"saga_step_attempts_total{workflow="h",step="call",phase="action",outcome="failed"}"#) ?? 0) >= 5)
    }

    @Test func aBadMetricsAddressIsAUsageError() throws {
        let box = try CLISandbox()
        let result = try box.run(["worker", "--until-idle", "--metrics", "nope"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("expected HOST:PORT"), "\(result)")
    }
}
