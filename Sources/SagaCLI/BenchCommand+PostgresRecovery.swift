import Foundation
import Logging
import Sagas
import SagasBenchmark
import SagasPostgres

// `saga bench --store postgres --mode recovery` (issue 16): a child process journals --sagas sagas in flight on the
// PostgreSQL schema and is killed with SIGKILL; a new worker in this process takes them over and finishes them.
extension BenchCommand {
    /// The child: journals the sagas in flight, prints `ready` once all are, and waits to be killed.
    func runPostgresRecoveryChild(
        workload: SagaBenchmark.Workload,
        configuration: PostgresStoreConfiguration,
        logger: Logger
    ) async throws {
        try await CLI.guarded {
            try await PostgresSagaStore.withStore(configuration: configuration, logger: logger) { store in
                // A long lease: the child only holds its sagas until it is killed (the parent takes a dead local
                // worker's sagas over at once, whatever their lease), and a renewal of thousands of sagas that
                // waits for a pool connection behind their creations must not make it fence itself.
                var engineConfiguration = SagaEngine.Configuration()
                engineConfiguration.leaseDuration = .seconds(120)
                let engine = SagaEngine(store: store, configuration: engineConfiguration, logger: logger)
                try await SagaBenchmark.journalInFlight(workload: workload, engine: engine) {
                    FileHandle.standardOutput.write(Data("ready\n".utf8))
                }
            }
        }
    }

    /// The parent: runs the child on `url`, then recovers its sagas with a worker of `--concurrency` slots.
    func runPostgresRecovery(
        workload: SagaBenchmark.Workload,
        url: String,
        configuration: PostgresStoreConfiguration,
        logger: Logger
    ) async throws -> SagaBenchmark.Report {
        let existing = try await CLI.guarded {
            try await PostgresSagaStore.withStore(configuration: configuration, logger: logger) { store in
                try await store.countByStatus().values.reduce(0, +)
            }
        }
        guard existing == 0 || force else {
            throw CLIError(
                "database \(configuration.redactedURL) already holds \(existing) sagas; bench on an empty schema "
                    + "(?schema=bench) or pass --force",
                exitCode: CLI.ExitCodes.invalidInput
            )
        }
        try journalInFlightInChild(path: url, extra: ["--store", "postgres"])
        let concurrency = self.concurrency
        return try await CLI.guarded {
            try await PostgresSagaStore.withStore(configuration: configuration, logger: logger) { store in
                var engineConfiguration = SagaEngine.Configuration()
                engineConfiguration.concurrency = concurrency
                engineConfiguration.pollInterval = .milliseconds(20)
                let engine = SagaEngine(store: store, configuration: engineConfiguration, logger: logger)
                return try await SagaBenchmark.recover(
                    workload: workload, engine: engine, statistics: Self.appendStatistics(store)
                )
            }
        }
    }
}
