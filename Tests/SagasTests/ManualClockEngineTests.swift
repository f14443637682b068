import Foundation
import Logging
import Sagas
import SagasTesting
import Synchronization
import Testing

/// The engine on `ManualClock`: an hour of retry backoff passes when the test says so, not in real time.
@Suite struct ManualClockEngineTests {
    @Test func anHourOfBackoffPassesWhenTheClockIsAdvanced() async throws {
        let clock = ManualClock()
        var configuration = SagaEngine.Configuration()
        configuration.workerID = "manual"
        let engine = SagaEngine(
            store: MemorySagaStore(), configuration: configuration, logger: TestSupport.logger, clock: clock,
            now: clock.wallClock
        )
        let calls = Mutex(0)
        engine.register(handler: "pay") { _ in
            let n = calls.withLock { c -> Int in
                c += 1
                return c
            }
            if n == 1 { throw StepFailure.retryable("busy") }
            return ["paid": true]
        }
        let hour = RetryPolicy(maxAttempts: 3, initialInterval: .seconds(3600), backoffCoefficient: 2, maxInterval: .seconds(7200), jitter: .none)
        let definition = TestSupport.definition([
            SagaStep(name: "pay", action: .handler("pay"), retry: hour, timeout: .seconds(30))
        ])
        let run = Task { try await engine.execute(definition, input: [:], id: "m-1") }
        // The first attempt failed and the saga waits for its retry, an hour away.
        let waiting = await eventuallyAsync { (try? await engine.store.events(sagaID: "m-1"))?.contains { $0.type == .stepFailed } == true }
        #expect(waiting)
        #expect(await clock.waitForSleepers())
        #expect(calls.withLock { $0 } == 1)
        clock.advance(by: .seconds(1800))
        try await Task.sleep(for: .milliseconds(50))
        #expect(calls.withLock { $0 } == 1, "half an hour is not enough")
        clock.advance(by: .seconds(1800))
        let record = try await run.value
        #expect(record.status == .completed)
        #expect(calls.withLock { $0 } == 2)
        let events = try await engine.store.events(sagaID: "m-1")
        let failed = try #require(events.first { $0.type == .stepFailed })
        let retried = try #require(events.last { $0.type == .stepStarted })
        #expect(retried.at.timeIntervalSince(failed.at) >= 3600, "journal times follow the manual wall clock")
    }

    func eventuallyAsync(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }
}
