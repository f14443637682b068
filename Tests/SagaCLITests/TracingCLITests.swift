import Foundation
import Sagas
import Testing

/// Traces exported over OTLP/HTTP by the real binary to a loopback receiver.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TracingCLITests {
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let callerSpan = "00f067aa0ba902b7"
    static let caller = "00-\(traceID)-\(callerSpan)-01"

    static func environment(_ receiver: OTLPReceiver) -> [String: String] {
        [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiver.port ?? 0)",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            "OTEL_BSP_SCHEDULE_DELAY": "50",
        ]
    }

    /// Workflow `traced`: step `one` records $TRACEPARENT; step `two` hangs on its first attempt only.
    static func writeWorkflow(_ box: CLISandbox) throws {
        try box.writeScript("record.sh", #"echo "$TRACEPARENT" > "$SAGA_SCRATCH/tp-$SAGA_STEP"; echo '{}'"#)
        try box.writeScript("once.sh", #"""
            echo "$TRACEPARENT" > "$SAGA_SCRATCH/tp-$SAGA_STEP"
            if [ -f "$SAGA_SCRATCH/hung" ]; then echo '{}'; exit 0; fi
            touch "$SAGA_SCRATCH/hung"; sleep 30; echo '{}'
            """#)
        try box.writeWorkflow(
            "traced",
            commandWorkflow(
                "traced",
                steps: [
                    ("one", ["./scripts/record.sh"], #""kind": "readonly""#),
                    ("two", ["./scripts/once.sh"], #""kind": "readonly", "after": ["one"]"#),
                ]
            )
        )
    }

    @Test func aRunJoinsTheCallersTraceWithARunSpanAndAChildSpanPerAttempt() async throws {
        let receiver = OTLPReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        let box = try CLISandbox()
        try Self.writeWorkflow(box)
        try box.writeScript("flag.sh", "touch \"$SAGA_SCRATCH/hung\"")
        FileManager.default.createFile(atPath: box.scratchFile("hung"), contents: Data())  // two does not hang
        let run = try box.run(
            ["run", "traced", "--id", "t-1", "--traceparent", Self.caller], environment: Self.environment(receiver)
        )
        #expect(run.status == 0, "\(run)")
        #expect(await receiver.wait(timeout: 20) { $0.count >= 3 }, "\(receiver.spans)")
        let spans = receiver.spans
        let runSpan = try #require(spans.first { $0.name == "saga traced" }, "\(spans)")
        #expect(runSpan.traceID == Self.traceID)
        #expect(runSpan.parentSpanID == Self.callerSpan, "the run is a child of the caller's span")
        #expect(runSpan.attributes["saga.id"] == "t-1")
        #expect(runSpan.attributes["saga.status"] == "completed")
        for step in ["one", "two"] {
            let attempt = try #require(spans.first { $0.name == "action \(step)" }, "\(spans)")
            #expect(attempt.traceID == Self.traceID)
            #expect(attempt.parentSpanID == runSpan.spanID)
            #expect(attempt.attributes["saga.step"] == step && attempt.attributes["saga.phase"] == "action")
            #expect(attempt.attributes["saga.outcome"] == "succeeded")
            // The command got the attempt's own span as its TRACEPARENT.
            let passed = box.readScratch("tp-\(step)")?.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(passed == "00-\(Self.traceID)-\(attempt.spanID)-01", "\(passed ?? "none") vs \(attempt)")
        }
        #expect(spans.allSatisfy { $0.traceID == Self.traceID }, "\(spans)")
        // The journal keeps the caller's traceparent.
        #expect(try box.show("t-1").events.first?["data"]?["traceparent"] == .string(Self.caller))
    }

    @Test func aSagaResumedByAnotherWorkerAfterAKillStaysInOneTrace() async throws {
        let receiver = OTLPReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        let box = try CLISandbox()
        try Self.writeWorkflow(box)
        _ = try box.submit(["traced", "--id", "t-2", "--traceparent", Self.caller])
        let first = try box.start(["worker", "--lease", "60s"], environment: Self.environment(receiver))
        // `one` ends (and its span is exported) before `two` hangs; then the worker is killed.
        #expect(await receiver.wait(timeout: 30) { $0.contains { $0.name == "action one" } }, "\(receiver.spans)")
        #expect(eventually(timeout: 30) { box.readScratch("hung") != nil })
        first.signal(SIGKILL)
        #expect(first.wait(timeout: 10) != nil)
        let second = try box.run(["worker", "--until-idle", "--lease", "60s"], environment: Self.environment(receiver))
        #expect(second.status == 0, "\(second)")
        #expect(try box.show("t-2")["status"] == "completed")
        #expect(await receiver.wait(timeout: 20) { spans in
            spans.contains { $0.name == "action two" && $0.attributes["saga.outcome"] == "succeeded" }
        }, "\(receiver.spans)")
        let spans = receiver.spans
        #expect(spans.allSatisfy { $0.traceID == Self.traceID }, "\(spans)")
        let runs = spans.filter { $0.name == "saga traced" }
        #expect(runs.count == 1, "only the second worker's run ended: \(spans)")
        let two = spans.filter { $0.name == "action two" }
        #expect(two.allSatisfy { $0.parentSpanID == runs.first?.spanID })
    }

    @Test func anHTTPStepsRequestIsAClientSpanWithTheHTTPAttributesAndSendsItsOwnTraceparent() async throws {
        let receiver = OTLPReceiver()
        try await receiver.start()
        defer { receiver.stop() }
        let port = try #require(receiver.port)
        let box = try CLISandbox()
        try box.writeWorkflow("h", #"""
            {"name": "h", "version": 1,
             "steps": [
               {"name": "call", "kind": "readonly", "action": {"http": {"method": "POST", "url": "http://127.0.0.1:\#(port)/step?k=${env.STEP_SECRET}"}}},
               {"name": "bad", "kind": "readonly", "after": ["call"], "retry": {"maxAttempts": 1},
                "action": {"http": {"method": "GET", "url": "http://127.0.0.1:\#(port)/fail"}}}]}
            """#)
        let secret = "s3cr3t-value-42"
        let run = try box.run(
            ["run", "h", "--id", "h-1", "--traceparent", Self.caller],
            environment: Self.environment(receiver).merging(["STEP_SECRET": secret]) { $1 }
        )
        #expect(run.status != 0, "the second step fails: \(run)")
        #expect(await receiver.wait(timeout: 20) { spans in spans.filter(\.isClient).count >= 2 }, "\(receiver.spans)")
        let spans = receiver.spans
        let attempt = try #require(spans.first { $0.name == "action call" }, "\(spans)")
        #expect(!attempt.isClient, "the attempt is the engine's own work: \(attempt.kind)")
        let post = try #require(spans.first { $0.name == "POST" }, "\(spans)")
        #expect(post.isClient, "\(post.kind)")
        #expect(post.traceID == Self.traceID && post.parentSpanID == attempt.spanID, "\(post) under \(attempt)")
        #expect(post.attributes["http.request.method"] == "POST")
        #expect(post.attributes["http.response.status_code"] == "200")
        #expect(post.attributes["server.address"] == "127.0.0.1" && post.attributes["server.port"] == String(port))
        let url = try #require(post.attributes["url.full"])
        #expect(url.hasPrefix("http://127.0.0.1:\(port)/step?k=") && !url.contains(secret), "the secret is redacted: \(url)")
        #expect(post.attributes["error.type"] == nil)
        // The target got the request span's context, not the attempt's.
        let calls = receiver.calls
        #expect(calls.first { $0.path == "step" }?.traceparent == "00-\(Self.traceID)-\(post.spanID)-01", "\(calls)")
        let get = try #require(spans.first { $0.name == "GET" }, "\(spans)")
        #expect(get.attributes["http.response.status_code"] == "503" && get.attributes["error.type"] == "503", "\(get)")
        #expect(get.parentSpanID == spans.first { $0.name == "action bad" }?.spanID, "\(spans)")
    }

    @Test func aMalformedTraceparentIsRefusedAndNothingIsJournaled() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box)
        let result = try box.run(["submit", "traced", "--traceparent", "00-xyz-01"])
        #expect(result.status != 0, "\(result)")
        #expect(result.stderr.contains("not a W3C traceparent"), "\(result)")
        if FileManager.default.fileExists(atPath: box.database) {
            let listed = try box.run(["list", "--json"]).json()
            #expect(listed.arrayValue?.isEmpty == true, "nothing was journaled: \(listed)")
        }
    }
}
