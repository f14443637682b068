import Foundation
import SagaExampleShopKit
import Sagas
import Synchronization
import Testing

@testable import SagasHTTP

@Suite(.timeLimit(.minutes(1)))
struct HTTPCircuitBreakerTests {
    /// The breaker's state machine, with time in our hands.
    @Test func opensAfterThresholdThenTrialDecides() {
        let time = Mutex<Duration>(.zero)
        let breaker = HTTPCircuitBreaker(
            failureThreshold: 3,
            openDuration: .seconds(30),
            now: { time.withLock { $0 } },
            logger: HTTPTestSupport.logger
        )
        let host = "shop:80"
        #expect(breaker.admit(host) == .proceed(trial: false))
        breaker.record(host, healthy: false)
        breaker.record(host, healthy: false)
        #expect(breaker.state(for: host) == .closed(failures: 2))
        breaker.record(host, healthy: true)
        #expect(breaker.state(for: host) == .closed(failures: 0))
        for _ in 0..<3 { breaker.record(host, healthy: false) }
        #expect(breaker.state(for: host) == .open)
        #expect(breaker.admit(host) == .wait(.seconds(30)))
        time.withLock { $0 = .seconds(10) }
        #expect(breaker.admit(host) == .wait(.seconds(20)))
        #expect(breaker.state(for: "other:80") == .closed(failures: 0))

        time.withLock { $0 = .seconds(30) }
        #expect(breaker.admit(host) == .proceed(trial: true))
        #expect(breaker.state(for: host) == .halfOpen)
        guard case .wait = breaker.admit(host) else { Issue.record("a second call went through half-open"); return }
        breaker.record(host, healthy: false)
        #expect(breaker.state(for: host) == .open)
        #expect(breaker.admit(host) == .wait(.seconds(30)))

        time.withLock { $0 = .seconds(61) }
        #expect(breaker.admit(host) == .proceed(trial: true))
        breaker.record(host, healthy: true)
        #expect(breaker.state(for: host) == .closed(failures: 0))
        #expect(breaker.admit(host) == .proceed(trial: false))
    }

    @Test func abandonedTrialLetsTheNextCallTry() {
        let breaker = HTTPCircuitBreaker(failureThreshold: 1, openDuration: .zero, now: { .zero }, logger: HTTPTestSupport.logger)
        breaker.record("h:1", healthy: false)
        #expect(breaker.admit("h:1") == .proceed(trial: true))
        breaker.abandonTrial("h:1")
        #expect(breaker.admit("h:1") == .proceed(trial: true))
    }

    /// Against the shop: 503s open the breaker; after the open time, one trial that succeeds closes it.
    @Test func opensOnFailuresAndClosesAfterTrialSuccess() async throws {
        var configuration = HTTPExecutor.Configuration()
        configuration.failureThreshold = 2
        configuration.openDuration = .milliseconds(200)
        let control = ExampleShop.Control(fail: ["POST /shipments": 503])
        try await HTTPTestSupport.withShop(control: control, configuration: configuration) { shop, base, executor in
            let host = "127.0.0.1:\(URL(string: base)!.port!)"
            let spec = try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/shipments"}"#)
            var states: [HTTPCircuitBreaker.State] = []
            for _ in 0..<2 {
                _ = await executor.execute(spec: spec, context: HTTPTestSupport.context())
                states.append(executor.breakers.state(for: host))
            }
            #expect(states == [.closed(failures: 1), .open])
            shop.setControl(.init())
            // Waits out the open time (well within the 10s timeout), then goes through as the trial.
            let outcome = await executor.execute(spec: spec, context: HTTPTestSupport.context())
            guard case .success = outcome else { Issue.record("\(outcome)"); return }
            #expect(executor.breakers.state(for: host) == .closed(failures: 0))
            #expect(shop.requests.filter { $0.uri == "/shipments" }.count == 3)
        }
    }

    @Test func failedTrialReopens() async throws {
        var configuration = HTTPExecutor.Configuration()
        configuration.failureThreshold = 1
        configuration.openDuration = .milliseconds(100)
        let control = ExampleShop.Control(fail: ["POST /shipments": 500])
        try await HTTPTestSupport.withShop(control: control, configuration: configuration) { shop, base, executor in
            let host = "127.0.0.1:\(URL(string: base)!.port!)"
            let spec = try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/shipments"}"#)
            _ = await executor.execute(spec: spec, context: HTTPTestSupport.context())
            #expect(executor.breakers.state(for: host) == .open)
            let outcome = await executor.execute(spec: spec, context: HTTPTestSupport.context())
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(failure.message.contains("500"))
            #expect(executor.breakers.state(for: host) == .open)
            #expect(shop.requests.count == 2)
        }
    }

    /// An open breaker whose wait outlasts the attempt's timeout fails the attempt as retryable, sending nothing.
    @Test func openBreakerBeyondTheTimeoutFailsRetryablyWithoutSending() async throws {
        var configuration = HTTPExecutor.Configuration()
        configuration.failureThreshold = 1
        configuration.openDuration = .seconds(30)
        let control = ExampleShop.Control(fail: ["POST /shipments": 503])
        try await HTTPTestSupport.withShop(control: control, configuration: configuration) { shop, base, executor in
            let spec = try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/shipments"}"#)
            _ = await executor.execute(spec: spec, context: HTTPTestSupport.context())
            let outcome = await executor.execute(spec: spec, context: HTTPTestSupport.context(timeout: .seconds(1)))
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(failure.retryable)
            #expect(failure.message.contains("circuit breaker"))
            #expect(failure.message.contains("is open"))
            let after = try #require(failure.retryAfter)
            #expect(after > .seconds(1) && after <= .seconds(30))
            #expect(shop.requests.count == 1)
        }
    }
}
