import Foundation
import Logging
import Sagas
import SagasBenchmark
import Testing

/// `saga bench --json` is a Codable view (issue 13): one shape, the same JSON as the report built by hand before.
@Suite(.timeLimit(.minutes(1)))
struct SagaBenchReportViewTests {
    private func makeReport(_ mode: SagaBenchmark.Mode) async throws -> SagaBenchmark.Report {
        let engine = SagaEngine(store: .memory, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let workload = SagaBenchmark.Workload(sagas: 12, steps: 3, concurrency: 4, failRate: 0.5, failStep: 2)
        var report = try await SagaBenchmark.run(mode, workload: workload, engine: engine)
        report.journal = SagaBenchmark.JournalCounters(commits: 30, writes: 31, eventRows: 90, transactionSeconds: 0.25)
        report.databaseBytes = 65_536
        report.cpuSeconds = 0.5
        report.extra["store"] = "sqlite"
        report.extra["flushProbeUs"] = ["before": .number(812.5), "after": .decimal("900.10")]
        return report
    }

    /// The report as `Report.json` assembled it by hand before the view: the view must give the same JSON.
    private func handBuilt(_ r: SagaBenchmark.Report) -> JSONValue {
        let steps = r.actionsRun + r.compensationsRun
        func percentiles(_ p: SagaBenchmark.Percentiles) -> JSONValue {
            ["p50": .number(p.p50), "p95": .number(p.p95), "p99": .number(p.p99), "max": .number(p.max)]
        }
        var object: [String: JSONValue] = [
            "mode": .string(r.mode.rawValue), "sagas": .integer(r.workload.sagas), "steps": .integer(r.workload.steps),
            "concurrency": .integer(r.mode == .latency ? 1 : r.workload.concurrency),
            "failRate": .number(r.workload.failRate), "seed": .integer(Int(truncatingIfNeeded: r.workload.seed)),
            "elapsedSeconds": .number(r.elapsedSeconds), "completed": .integer(r.completed),
            "compensated": .integer(r.compensated), "other": .integer(r.other), "actionsRun": .integer(r.actionsRun),
            "compensationsRun": .integer(r.compensationsRun), "probesRun": .integer(r.probesRun),
            "stepsRun": .integer(steps), "sagasPerSecond": .number(r.sagasPerSecond),
            "stepsPerSecond": .number(r.stepsPerSecond), "latencyMs": percentiles(r.latency),
            "peakMemoryBytes": .integer(r.peakMemoryBytes), "cpuSeconds": .number(r.cpuSeconds),
            "cpuMsPerSaga": .number(r.cpuSeconds * 1000 / Double(max(1, r.workload.sagas))),
        ]
        if let failStep = r.workload.failStep { object["failStep"] = .integer(failStep) }
        if r.mode == .latency { object["latencyPerStepMs"] = percentiles(r.perStepLatency) }
        if let journal = r.journal {
            let elapsed = max(r.elapsedSeconds, 1e-9)
            object["commits"] = .integer(journal.commits)
            object["writes"] = .integer(journal.writes)
            object["eventRows"] = .integer(journal.eventRows)
            object["commitsPerSecond"] = .number(Double(journal.commits) / elapsed)
            object["rowsPerSecond"] = .number(Double(journal.eventRows) / elapsed)
            object["rowsPerStep"] = .number(steps > 0 ? Double(journal.eventRows) / Double(steps) : 0)
            object["commitsPerSaga"] = .number(Double(journal.commits) / Double(max(1, r.workload.sagas)))
            object["writerBusyFraction"] = .number(journal.transactionSeconds / elapsed)
        }
        if let bytes = r.databaseBytes {
            object["databaseBytes"] = .integer(bytes)
            object["databaseBytesPerSaga"] = .number(Double(bytes) / Double(max(1, r.workload.sagas)))
        }
        for (key, value) in r.extra { object[key] = value }
        return .object(object)
    }

    @Test(arguments: [SagaBenchmark.Mode.throughput, .latency])
    func theViewGivesTheSameJSON(_ mode: SagaBenchmark.Mode) async throws {
        let report = try await makeReport(mode)
        #expect(report.json == handBuilt(report))
        #expect(report.json.jsonString == handBuilt(report).jsonString)
        #expect(report.json["flushProbeUs"]?["after"] == .decimal("900.10"))  // numbers keep their form
        #expect((report.json["latencyPerStepMs"] != nil) == (mode == .latency))
    }

    @Test func theViewRoundTrips() async throws {
        var report = try await makeReport(.latency)
        // Foundation's coders carry a number as a Double: a decimal's text would come back as its nearest Double.
        report.extra["flushProbeUs"] = ["before": .number(812.5), "after": .number(900.25)]
        let view = report.view
        // Through Foundation's coders, and from the text `--json` prints.
        let data = try JSONEncoder().encode(view)
        #expect(try JSONDecoder().decode(SagaBenchReportView.self, from: data) == view)
        let printed = try JSONValueEncoder().encode(view).jsonString
        let decoded = try JSONDecoder().decode(SagaBenchReportView.self, from: Data(printed.utf8))
        #expect(decoded.extra["store"] == "sqlite")
        #expect(decoded.commits == 30)
        #expect(decoded.latencyPerStepMs == view.latencyPerStepMs)
        #expect(try JSONValueEncoder().encode(decoded) == JSONValueEncoder().encode(view))

        // Figures a run has not are absent, not null.
        var bare = try await makeReport(.throughput)
        bare.journal = nil
        bare.databaseBytes = nil
        bare.extra["flushProbeUs"] = nil
        let json = bare.json
        for key in ["commits", "commitsPerSecond", "databaseBytes", "latencyPerStepMs"] {
            #expect(json[key] == nil, "\(key) should be absent")
        }
        #expect(try JSONDecoder().decode(SagaBenchReportView.self, from: Data(json.jsonString.utf8)) == bare.view)
    }

    @Test func theABViewGivesTheSameJSONAndRoundTrips() async throws {
        var runs: [(label: String, report: SagaBenchmark.Report)] = []
        for (label, elapsed) in [("A", 2.0), ("B", 4.0), ("A", 1.0), ("B", 3.0), ("A", 3.0)] {
            var report = try await makeReport(.throughput)
            report.elapsedSeconds = elapsed
            runs.append((label, report))
        }
        let view = SagaBenchABReportView(runs, bHas: ["an exclusive key per saga"], store: "postgres")
        // As BenchCommand.reportAB assembled it by hand before the view.
        let a = runs.filter { $0.label == "A" }.map(\.report.sagasPerSecond)
        let b = runs.filter { $0.label == "B" }.map(\.report.sagasPerSecond)
        let medianA = a.sorted()[a.count / 2]
        let medianB = b.sorted()[b.count / 2]
        let handBuilt: JSONValue = [
            "a": .array(a.map { .number($0) }), "b": .array(b.map { .number($0) }),
            "medianA": .number(medianA), "medianB": .number(medianB), "ratio": .number(medianB / medianA),
            "b_has": ["an exclusive key per saga"], "store": "postgres",
        ]
        let json = try JSONValueEncoder().encode(view)
        #expect(json == handBuilt)
        #expect(view.medianA == 12 / 2.0)  // 12 sagas in 2 s: the middle of 12, 6 and 4 sagas per second
        let decoded = try JSONDecoder().decode(SagaBenchABReportView.self, from: Data(json.jsonString.utf8))
        #expect(decoded == view)
        // Without a store other than the default, the key is absent.
        let plain = try JSONValueEncoder().encode(SagaBenchABReportView(runs, bHas: [], store: nil))
        #expect(plain["store"] == nil)
        #expect(plain["b_has"] == [])
    }
}
