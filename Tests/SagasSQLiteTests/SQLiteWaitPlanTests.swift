import Foundation
import GRDB
import Sagas
@testable import SagasSQLite
import Testing

/// The wake-up of due waits, run in every claim, reads the index of waiting sagas, not every waiting saga (left to
/// itself SQLite took `sagas_status_created (status=?)`: Docs/performance.md, "Waiting sagas").
@Suite(.timeLimit(.minutes(2)))
struct SQLiteWaitPlanTests {
    @Test func theWakeUpOfDueWaitsSearchesTheWaitingIndex() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteSagaStore(path: folder.path("plan.db"))
        let plan = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + SQLiteSagaStore.wakeDueSQL, arguments: [1, 1])
                .map { $0["detail"] as String? ?? "" }
        }
        #expect(plan.contains { $0.contains("USING INDEX sagas_waiting (wake_at<?)") }, "\(plan)")
        #expect(!plan.contains { $0.contains("sagas_status_created") }, "\(plan)")
        // The same statement without the index named is planned through the status index: what the test guards.
        let unnamed = SQLiteSagaStore.wakeDueSQL.replacingOccurrences(of: " INDEXED BY sagas_waiting", with: "")
        let plain = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + unnamed, arguments: [1, 1]).map { $0["detail"] as String? ?? "" }
        }
        #expect(plain.contains { $0.contains("sagas_status_created") }, "\(plain)")
    }
}
