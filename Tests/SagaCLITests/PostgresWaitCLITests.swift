import Foundation
import Testing

/// The main cases of `WaitCLITests` through the real binary on PostgreSQL (a fresh schema per test): a signal that
/// completes the saga, duplicate, stale and wrong-token signals, a wait that times out and is compensated, a cancel
/// that ends a wait, a signal sent while no worker runs, a timer that fires after a restart. Skipped without
/// `SAGA_POSTGRES_URL` (which `.ci/run` sets after `scripts/pg-local.sh start`).
@Suite(
    .enabled(
        if: PostgresCLITests.serverURL != nil,
        "SAGA_POSTGRES_URL is not set: run `eval \"$(scripts/pg-local.sh start)\"` to run the PostgreSQL wait CLI tests"
    ),
    .timeLimit(.minutes(3))
)
struct PostgresWaitCLITests {
    let cases = WaitCLITests(makeSandbox: { try PostgresCLITests.sandbox() })

    @Test func signalledOutputCompletesTheSaga() throws { try cases.signalledOutputCompletesTheSaga() }

    @Test func duplicateStaleAndWrongTokenSignals() throws { try cases.duplicateStaleAndWrongTokenSignals() }

    @Test func aWaitThatTimesOutIsCompensated() throws { try cases.aWaitThatTimesOutIsCompensated() }

    @Test func cancellingAWaitingSagaEndsTheWaitAtOnce() throws { try cases.cancellingAWaitingSagaEndsTheWaitAtOnce() }

    @Test func aSignalSentWhileNoWorkerRunsIsCarriedOnByANewWorker() throws {
        try cases.aSignalSentWhileNoWorkerRunsIsCarriedOnByANewWorker()
    }

    @Test func aTimerFiresAfterARestart() throws { try cases.aTimerFiresAfterARestart() }
}
