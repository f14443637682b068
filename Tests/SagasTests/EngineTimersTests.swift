import Foundation
import Synchronization
import Testing

@testable import Sagas

/// The engine's shared timers: one task, no polling. No test asserts how long anything took; each only waits,
/// with a generous limit, for what must happen.
@Suite(.timeLimit(.minutes(1)))
struct EngineTimersTests {
    /// Fired timer names, in order, and a way to wait for a number of them.
    private final class Fired: Sendable {
        private let names = Mutex<[String]>([])
        func record(_ name: String) { names.withLock { $0.append(name) } }
        var all: [String] { names.withLock { $0 } }

        func wait(for count: Int, seconds: Double = 10) async -> Bool {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < deadline {
                if all.count >= count { return true }
                try? await Task.sleep(for: .milliseconds(2))
            }
            return false
        }
    }

    @Test func aTimerScheduledBeforeTheNextDueOneWakesTheSleepingTask() async throws {
        let timers = EngineTimers(clock: ContinuousClock())
        try await timers.serving {
            let fired = Fired()
            // The task sleeps until this one, an hour away...
            let far = timers.schedule(after: .seconds(3600)) { fired.record("far") }
            try? await Task.sleep(for: .milliseconds(20))
            // ... and must wake for these, not an hour later.
            timers.schedule(after: .milliseconds(30)) { fired.record("second") }
            timers.schedule(after: .milliseconds(1)) { fired.record("first") }
            #expect(await fired.wait(for: 2))
            #expect(fired.all == ["first", "second"])
            #expect(timers.pending == 1)
            timers.cancel(far)
            #expect(timers.pending == 0)
        }
    }

    @Test func aCancelledTimerNeverFires() async throws {
        let timers = EngineTimers(clock: ContinuousClock())
        try await timers.serving {
            let fired = Fired()
            let cancelled = timers.schedule(after: .milliseconds(10)) { fired.record("cancelled") }
            timers.cancel(cancelled)
            timers.schedule(after: .milliseconds(50)) { fired.record("kept") }
            #expect(await fired.wait(for: 1))
            try? await Task.sleep(for: .milliseconds(50))
            #expect(fired.all == ["kept"])
        }
    }

    @Test func timersKeepWorkingAfterTheTableEmptied() async throws {
        let timers = EngineTimers(clock: ContinuousClock())
        try await timers.serving {
            let fired = Fired()
            timers.schedule(after: .zero) { fired.record("one") }
            #expect(await fired.wait(for: 1))
            // The table emptied, so the serving task sleeps until a timer is scheduled.
            try? await Task.sleep(for: .milliseconds(20))
            timers.schedule(after: .milliseconds(5)) { fired.record("two") }
            #expect(await fired.wait(for: 2))
            #expect(fired.all == ["one", "two"])
        }
    }

    @Test func manyTimersAllFireOnce() async throws {
        let timers = EngineTimers(clock: ContinuousClock())
        try await timers.serving {
            let fired = Fired()
            for i in 0..<500 {
                timers.schedule(after: .milliseconds(Int64(i % 50))) { fired.record("t\(i)") }
            }
            #expect(await fired.wait(for: 500))
            try? await Task.sleep(for: .milliseconds(20))
            #expect(fired.all.count == 500)
            #expect(Set(fired.all).count == 500)
            #expect(timers.pending == 0)
        }
    }

    @Test func aTimerScheduledWhileNoScopeIsOpenFiresWhenOneOpens() async throws {
        let timers = EngineTimers(clock: ContinuousClock())
        let fired = Fired()
        timers.schedule(after: .zero) { fired.record("early") }
        try? await Task.sleep(for: .milliseconds(20))
        #expect(fired.all.isEmpty)
        try await timers.serving {
            #expect(await fired.wait(for: 1))
        }
        #expect(fired.all == ["early"])
    }

    /// Two scopes (two drives outside a worker): when the one whose standby serves ends, the other's takes over.
    @Test func anotherScopeTakesOverWhenTheServingOneEnds() async throws {
        let timers = EngineTimers(clock: ContinuousClock())
        let fired = Fired()
        let (firstEnds, endFirst) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await timers.serving { for await _ in firstEnds { break } }
            }
            try? await Task.sleep(for: .milliseconds(20))
            group.addTask {
                try await timers.serving {
                    try? await Task.sleep(for: .milliseconds(20))
                    endFirst.finish()
                    try? await Task.sleep(for: .milliseconds(20))
                    timers.schedule(after: .milliseconds(5)) { fired.record("after") }
                    #expect(await fired.wait(for: 1))
                }
            }
            try await group.waitForAll()
        }
        #expect(fired.all == ["after"])
    }

    /// A job runs as a child of the serving task: when its scope ends, the job is cancelled and awaited.
    @Test func aJobEndsBeforeItsScopeReturns() async throws {
        let timers = EngineTimers(clock: ContinuousClock())
        let fired = Fired()
        try await timers.serving {
            timers.scheduleJob(after: .zero) {
                fired.record("started")
                try? await Task.sleep(for: .seconds(3600))
                fired.record(Task.isCancelled ? "cancelled" : "slept")
            }
            #expect(await fired.wait(for: 1))
        }
        #expect(fired.all == ["started", "cancelled"])
    }

    /// A clock whose every sleep ends 60 ms late, like a loaded machine's: when the timers' task wakes, several
    /// timers are due at once.
    private struct LateWakingClock: Clock {
        let base = ContinuousClock()
        var now: ContinuousClock.Instant { base.now }
        var minimumResolution: Duration { base.minimumResolution }
        func sleep(until deadline: ContinuousClock.Instant, tolerance: Duration?) async throws {
            try await base.sleep(until: deadline + .milliseconds(60), tolerance: nil)
        }
    }

    @Test func timersDueTogetherFireInDeadlineOrder() async throws {
        let timers = EngineTimers(clock: LateWakingClock())
        try await timers.serving {
            let fired = Fired()
            // Scheduled latest deadline first: the order of scheduling and of the table is the reverse of the deadlines.
            for i in (0..<10).reversed() {
                timers.schedule(after: .milliseconds(Int64(i))) { fired.record("t\(i)") }
            }
            #expect(await fired.wait(for: 10))
            #expect(fired.all == (0..<10).map { "t\($0)" })
        }
    }
}

/// Retry waits run on the engine's clock, while the journal's times come from `now()`, the wall clock. When the two
/// drift apart, a saga must still go on.
@Suite(.timeLimit(.minutes(1)))
struct RetryClockDriftTests {
    /// A wall clock running at half speed: every retry timer fires (on the engine's clock) before `now()` says the
    /// retry is due. The drive loop used to keep the fired timer as armed and wait for ever.
    @Test func aRetryWaitingOnASlowWallClockStillRuns() async throws {
        let start = Date()
        let slowNow: @Sendable () -> Date = { start.addingTimeInterval(Date().timeIntervalSince(start) / 2) }
        let engine = SagaEngine(
            store: MemorySagaStore(),
            configuration: .init(workerID: "test:1:1", pollInterval: .milliseconds(10), environment: [:]),
            logger: TestSupport.logger,
            now: slowNow
        )
        let calls = Mutex(0)
        engine.register(handler: "flaky") { _ in
            let n = calls.withLock { c in
                c += 1
                return c
            }
            if n < 3 { throw StepFailure.retryable("not yet") }
            return ["ok": true]
        }
        let retry = RetryPolicy(
            maxAttempts: 5, initialInterval: .milliseconds(40), backoffCoefficient: 2, maxInterval: .milliseconds(100),
            jitter: .none
        )
        let definition = TestSupport.definition([TestSupport.step("flaky", after: [], retry: retry)])
        let record = try await engine.execute(definition, input: [:])
        #expect(record.status == .completed)
        #expect(calls.withLock { $0 } == 3)
    }
}
