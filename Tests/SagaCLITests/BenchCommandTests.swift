import Foundation
import Sagas
import Testing

/// `saga bench` against the built binary: the report's fields exist and agree with each other. No timing is asserted.
@Suite(.timeLimit(.minutes(3)))
struct BenchCommandTests {
    /// Runs `saga bench ARGS --json` and returns the report.
    private func bench(_ box: CLISandbox, _ arguments: [String]) throws -> JSONValue {
        let result = try box.run(["bench"] + arguments + ["--json"])
        #expect(result.status == 0, "\(result)")
        return try result.json()
    }

    private func number(_ report: JSONValue, _ key: String) -> Double {
        report[key]?.doubleValue ?? .nan
    }

    @Test func observedRunsExportEverySpanAndReportWhatWasOn() throws {
        let box = try CLISandbox()
        let r = try bench(box, ["--sagas", "40", "--steps", "3", "--observe", "metrics,tracing"])
        #expect(r["observe"] == "metrics,tracing", "\(r)")
        #expect(r["completed"] == 40 && r["actionsRun"] == 120, "\(r)")
        #expect(try bench(box, ["--sagas", "10"])["observe"] == "none")
        let bad = try box.run(["bench", "--sagas", "10", "--observe", "logs"])
        #expect(bad.status == 2 && bad.stderr.contains("--observe takes none, metrics, tracing or all"), "\(bad)")
        let recovery = try box.run(["bench", "--sagas", "10", "--mode", "recovery", "--observe", "all"])
        #expect(recovery.status == 2 && recovery.stderr.contains("not --mode recovery"), "\(recovery)")
    }

    @Test func webhookDeliveryBesideTheBenchReportsTheLagOfEveryEvent() throws {
        let box = try CLISandbox()
        let r = try bench(box, ["--sagas", "20", "--steps", "2", "--observe", "webhooks"])
        #expect(r["observe"] == "webhooks", "\(r)")
        // saga.started and saga.completed of each saga, each received once by the loopback receiver.
        #expect(r["webhookLagMs"]?["deliveries"]?.doubleValue == 40, "\(r)")
        let p50 = r["webhookLagMs"]?["p50"]?.doubleValue ?? -1
        let maximum = r["webhookLagMs"]?["max"]?.doubleValue ?? -1
        #expect(p50 >= 0 && maximum >= p50, "\(r)")
        #expect(try bench(box, ["--sagas", "5"])["webhookLagMs"] == nil)
    }

    @Test func throughputReportIsConsistent() throws {
        let box = try CLISandbox()
        let r = try bench(box, ["--sagas", "50", "--steps", "4", "--concurrency", "8"])
        for key in [
            "sagasPerSecond", "stepsPerSecond", "commitsPerSecond", "peakMemoryBytes", "rowsPerStep", "commits",
            "eventRows", "databaseBytesPerSaga", "elapsedSeconds", "flushProbeUs", "cpuSeconds", "cpuMsPerSaga",
            "writerBusyFraction",
        ] {
            #expect(r[key] != nil, "missing \(key) in \(r)")
        }
        for key in ["p50", "p95", "p99"] {
            #expect((r["latencyMs"]?[key]?.doubleValue ?? -1) > 0, "latencyMs.\(key)")
        }
        #expect(r["completed"] == 50)
        #expect(r["compensated"] == 0)
        #expect(r["actionsRun"] == 200)
        #expect(r["synchronous"] == "full")
        #expect(r["database"] == "temporary")
        // Same elapsed time for both rates: steps/s is sagas/s times the steps.
        #expect(abs(number(r, "stepsPerSecond") - number(r, "sagasPerSecond") * 4) < 1e-6 * number(r, "stepsPerSecond"))
        // A 4-step saga journals 10 events: 2.5 rows per step.
        #expect(number(r, "rowsPerStep") == 2.5)
        #expect(number(r, "peakMemoryBytes") > 1_000_000)
        #expect(number(r, "databaseBytesPerSaga") > 0)
        // The writer was in a transaction for part of the run, never longer than the run.
        #expect(number(r, "writerBusyFraction") > 0 && number(r, "writerBusyFraction") <= 1)
        let p = r["latencyMs"]
        #expect((p?["p50"]?.doubleValue ?? 0) <= (p?["p95"]?.doubleValue ?? 0))
        #expect((p?["p95"]?.doubleValue ?? 0) <= (p?["p99"]?.doubleValue ?? 0))
    }

    @Test func failingSagasCompensate() throws {
        let box = try CLISandbox()
        let r = try bench(box, ["--sagas", "60", "--steps", "4", "--concurrency", "8", "--fail-rate", "0.5"])
        let completed = r["completed"]?.intValue ?? -1
        let compensated = r["compensated"]?.intValue ?? -1
        #expect(completed + compensated == 60)
        #expect(compensated > 0 && completed > 0)
        #expect(r["other"] == 0)
        let actions = r["actionsRun"]?.intValue ?? -1
        let compensations = r["compensationsRun"]?.intValue ?? -1
        // A saga failing at step f runs f actions and f-1 compensations; a completed one runs 4 actions.
        #expect(actions <= 60 * 4 && actions >= completed * 4 + compensated)
        #expect(compensations == actions - completed * 4 - compensated)
        #expect(number(r, "rowsPerStep") > 0)
        #expect(abs(number(r, "stepsPerSecond") - Double(actions + compensations) / number(r, "elapsedSeconds")) < 1e-6 * number(r, "stepsPerSecond"))
    }

    @Test func latencyModeReportsPerStep() throws {
        let box = try CLISandbox()
        let r = try bench(box, ["--mode", "latency", "--sagas", "5"])
        #expect(r["mode"] == "latency")
        #expect(r["concurrency"] == 1)
        #expect(r["completed"] == 5)
        #expect((r["latencyPerStepMs"]?["p50"]?.doubleValue ?? 0) > 0)
        // One at a time, nothing to group: one write per commit.
        #expect(r["commits"] == r["writes"])

        let failing = try bench(box, ["--mode", "latency", "--sagas", "3", "--fail-rate", "1", "--fail-step", "3"])
        #expect(failing["compensated"] == 3)
        #expect(failing["actionsRun"] == 9)
        #expect(failing["compensationsRun"] == 6)
    }

    @Test func recoveryResumesSagasOfAKilledProcess() throws {
        let box = try CLISandbox()
        let r = try bench(box, ["--mode", "recovery", "--sagas", "20", "--steps", "3", "--concurrency", "8"])
        #expect(r["mode"] == "recovery")
        #expect(r["completed"] == 20)
        #expect(r["other"] == 0)
        // Each saga's first step was in flight when the child died: a probe settles it, then steps 2 and 3 run.
        #expect(r["probesRun"] == 20)
        #expect(r["actionsRun"] == 40)
    }

    @Test func refusesToOverwriteADatabase() throws {
        let box = try CLISandbox()
        let path = "\(box.root)/bench.db"
        try Data("not empty".utf8).write(to: URL(fileURLWithPath: path))
        let refused = try box.run(["bench", "--db", path, "--sagas", "2"])
        #expect(refused.status == 4, "\(refused)")
        #expect(refused.stderr.contains("--force"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("not empty".utf8))

        let forced = try bench(box, ["--db", path, "--sagas", "2", "--force", "--sync", "normal"])
        #expect(forced["completed"] == 2)
        #expect(forced["synchronous"] == "normal")
        #expect(forced["database"]?.stringValue == path)
        #expect(FileManager.default.fileExists(atPath: path))
    }

    /// `--store memory`: the engine alone. The same sagas run, and no journal counters exist to report.
    @Test func memoryStoreMeasuresTheEngineAlone() throws {
        let box = try CLISandbox()
        let r = try bench(box, ["--sagas", "40", "--store", "memory", "--fail-rate", "0.5", "--seed", "7"])
        #expect(r["store"] == "memory")
        #expect((r["completed"]?.intValue ?? 0) + (r["compensated"]?.intValue ?? 0) == 40)
        #expect((r["compensated"]?.intValue ?? 0) > 0)
        #expect(r["commits"] == nil)
        #expect(r["synchronous"] == nil)  // no disk, no durability level
        #expect(number(r, "sagasPerSecond") > 0)
    }

    @Test func rateSpreadsTheStartsOverTime() throws {
        let box = try CLISandbox()
        // 30 sagas at 100 per second: saga 29 cannot start before 0.29 s (a lower bound the rate guarantees, not
        // a performance figure), and every saga still runs.
        let r = try bench(box, ["--sagas", "30", "--steps", "1", "--rate", "100"])
        #expect(r["completed"] == 30, "\(r)")
        #expect(number(r, "elapsedSeconds") >= 0.29, "\(r)")
        let flat = try bench(box, ["--sagas", "30", "--steps", "1", "--store", "memory"])
        #expect(flat["completed"] == 30, "\(flat)")
        let bad = try box.run(["bench", "--sagas", "5", "--rate", "0"])
        #expect(bad.status == 2 && bad.stderr.contains("--rate must be more than 0"), "\(bad)")
    }

    @Test(arguments: [
        ["--sagas", "0"], ["--steps", "0"], ["--fail-rate", "1.5"], ["--mode", "fast"], ["--sync", "off"],
        ["--fail-step", "5", "--steps", "4"], ["--store", "disk"], ["--store", "memory", "--mode", "recovery"],
    ])
    func rejectsInvalidOptions(_ arguments: [String]) throws {
        let box = try CLISandbox()
        let result = try box.run(["bench"] + arguments)
        #expect(result.status == 2, "\(result)")
    }
}
