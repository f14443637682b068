import Foundation
import Logging
import Sagas
import SagasBenchmark
import SagasSQLite

extension BenchCommand {
    /// `saga bench --ab`: the workload without limits and keys (A) and with `--limit`/`--exclusive` (B), each on a
    /// new temporary SQLite database, alternating A, B, A, B, … for `rounds` rounds so that a drift of the machine
    /// touches both; prints each run and B's throughput as a share of A's (medians).
    func runAB(
        mode: SagaBenchmark.Mode,
        workload: SagaBenchmark.Workload,
        synchronous: SQLiteSagaStore.Configuration.Synchronous,
        rounds: Int,
        logger: Logger
    ) async throws {
        var plain = workload
        plain.limitConcurrency = nil
        plain.exclusiveKeys = false
        var results: [(label: String, report: SagaBenchmark.Report)] = []
        for _ in 0..<max(1, rounds) {
            for (label, w) in [("A", plain), ("B", workload)] {
                let path = FileManager.default.temporaryDirectory
                    .appendingPathComponent("saga-bench-ab-\(UUID().uuidString).db").path
                defer {
                    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                }
                let store = try CLI.guarded {
                    try SQLiteSagaStore(path: path, configuration: .init(synchronous: synchronous))
                }
                let engine = SagaEngine(store: store, logger: logger)
                let report = try await CLI.guarded {
                    try await SagaBenchmark.run(mode, workload: w, engine: engine)
                }
                results.append((label, report))
            }
        }
        reportAB(results, workload: workload, store: nil)
    }

    /// Prints the runs of an A/B (`--ab`) and their medians, as text or `--json`; `store` names a store other
    /// than the default in both (`postgres`).
    func reportAB(
        _ results: [(label: String, report: SagaBenchmark.Report)],
        workload: SagaBenchmark.Workload,
        store: String?
    ) {
        var what: [String] = []
        if let c = workload.limitConcurrency { what.append("a limit of concurrency \(c) on every step") }
        if workload.exclusiveKeys { what.append("an exclusive key per saga") }
        let view = SagaBenchABReportView(results, bHas: what, store: store)
        let (a, b, ratio) = (view.medianA, view.medianB, view.ratio)
        if json {
            // The view holds numbers and strings only: the encoder has nothing to refuse.
            CLI.printJSON((try? JSONValueEncoder().encode(view)) ?? .null)
            return
        }
        for (label, report) in results {
            print("\(label)  \(String(format: "%.0f", report.sagasPerSecond)) sagas/s  "
                + "(\(report.completed) completed, \(report.compensated) compensated, "
                + "\(String(format: "%.2f", report.elapsedSeconds)) s)")
        }
        print("\(store == "postgres" ? "PostgreSQL; " : "")A: no limit, no key; B: \(what.joined(separator: " and "))")
        print(String(format: "median A %.0f sagas/s, median B %.0f sagas/s: B is %.1f%% of A", a, b, ratio * 100))
    }
}
