import SagasBenchmark
import SagasPostgres

extension BenchCommand {
    /// The journal counters of a PostgreSQL store for the bench report: statements that appended (each its own
    /// commit), the appends they held and their journal rows (issue 16's group commit shows as appends > commits).
    static func appendStatistics(
        _ store: PostgresSagaStore
    ) -> @Sendable () async throws -> SagaBenchmark.JournalCounters {
        {
            let s = store.appendStatistics()
            return SagaBenchmark.JournalCounters(
                commits: s.commits, writes: s.appends, eventRows: s.eventRows, transactionSeconds: s.seconds
            )
        }
    }
}
