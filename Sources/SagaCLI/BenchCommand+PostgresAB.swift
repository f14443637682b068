import Foundation
import Logging
import Sagas
import SagasBenchmark
import SagasPostgres

extension BenchCommand {
    /// `saga bench --store postgres --db URL --ab ROUNDS`: as `runAB`, on PostgreSQL. Each run gets a schema of its
    /// own next to the URL's (`<schema>_ab_<n>`), dropped after it, so every run starts on empty tables.
    func runPostgresAB(
        mode: SagaBenchmark.Mode,
        workload: SagaBenchmark.Workload,
        configuration base: PostgresStoreConfiguration,
        rounds: Int,
        logger: Logger
    ) async throws {
        guard mode != .recovery, workload.limitConcurrency != nil || workload.exclusiveKeys, (1...20).contains(rounds)
        else {
            throw CLIError(
                "--ab takes 1 to 20 rounds and needs --limit or --exclusive, throughput or latency mode",
                exitCode: CLI.ExitCodes.invalidInput)
        }
        var plain = workload
        plain.limitConcurrency = nil
        plain.exclusiveKeys = false
        var results: [(label: String, sagasPerSecond: Double, report: SagaBenchmark.Report)] = []
        var run = 0
        for _ in 0..<rounds {
            for (label, w) in [("A", plain), ("B", workload)] {
                run += 1
                var configuration = base
                configuration.schema = "\(base.schema)_ab_\(getpid())_\(run)"
                let report = try await CLI.guarded {
                    try await PostgresSagaStore.withStore(configuration: configuration, logger: logger) { store in
                        let engine = SagaEngine(store: store, logger: logger)
                        let report: SagaBenchmark.Report
                        do {
                            report = try await SagaBenchmark.run(mode, workload: w, engine: engine)
                        } catch {
                            try? await store.dropSchema()
                            throw error
                        }
                        try await store.dropSchema()
                        return report
                    }
                }
                results.append((label, report.sagasPerSecond, report))
            }
        }
        func median(_ label: String) -> Double {
            let values = results.filter { $0.label == label }.map(\.sagasPerSecond).sorted()
            return values.isEmpty ? 0 : values[values.count / 2]
        }
        let a = median("A")
        let b = median("B")
        var what: [String] = []
        if let c = workload.limitConcurrency { what.append("a limit of concurrency \(c) on every step") }
        if workload.exclusiveKeys { what.append("an exclusive key per saga") }
        let ratio = a > 0 ? b / a : 0
        if json {
            CLI.printJSON(.object([
                "a": .array(results.filter { $0.label == "A" }.map { .number($0.sagasPerSecond) }),
                "b": .array(results.filter { $0.label == "B" }.map { .number($0.sagasPerSecond) }),
                "medianA": .number(a), "medianB": .number(b), "ratio": .number(ratio),
                "b_has": .array(what.map { .string($0) }), "store": "postgres",
            ]))
            return
        }
        for result in results {
            print("\(result.label)  \(String(format: "%.0f", result.sagasPerSecond)) sagas/s  "
                + "(\(result.report.completed) completed, \(result.report.compensated) compensated, "
                + "\(String(format: "%.2f", result.report.elapsedSeconds)) s)")
        }
        print("PostgreSQL; A: no limit, no key; B: \(what.joined(separator: " and "))")
        print(String(format: "median A %.0f sagas/s, median B %.0f sagas/s: B is %.1f%% of A", a, b, ratio * 100))
    }
}
