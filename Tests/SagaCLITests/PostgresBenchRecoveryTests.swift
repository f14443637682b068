import Foundation
import Sagas
import Testing

/// `saga bench --store postgres --mode recovery` (issue 16): sagas left in flight by a killed child process are
/// finished by a new worker, on PostgreSQL.
@Suite(
    .enabled(
        if: PostgresCLITests.serverURL != nil,
        "SAGA_POSTGRES_URL is not set: run `eval \"$(scripts/pg-local.sh start)\"` to run the PostgreSQL CLI tests"
    ),
    .timeLimit(.minutes(3))
)
struct PostgresBenchRecoveryTests {
    @Test func recoveryModeFinishesTheSagasOfAKilledChild() throws {
        let box = try PostgresCLITests.sandbox()
        let url = try #require(box.databaseURL)
        let run = try box.run([
            "bench", "--store", "postgres", "--db", url, "--mode", "recovery", "--sagas", "40", "--steps", "3",
            "--concurrency", "16", "--json",
        ])
        #expect(run.status == 0, "\(run)")
        let report = try run.json()
        #expect(report["mode"] == "recovery", "\(report)")
        #expect(report["completed"] == 40, "\(report)")
        #expect(report["other"] == 0, "\(report)")
        // Each saga's in-flight step is settled (probed) by the new worker, then its other steps run.
        #expect(report["probesRun"] == 40, "\(report)")
        #expect(report["store"] == "postgres")
    }
}
