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
        var results: [(label: String, report: SagaBenchmark.Report)] = []
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
                results.append((label, report))
            }
        }
        reportAB(results, workload: workload, store: "postgres")
    }
}
