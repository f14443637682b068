import Foundation
import SagaExampleShopKit
import Sagas
import Synchronization
import Testing

@testable import SagasHTTP

/// The shop-order workflow driven by the engine against the example shop.
@Suite(.timeLimit(.minutes(1)))
struct ShopSagaTests {
    static func input(_ base: String, amount: Int = 25) -> JSONValue {
        .object(["shop": .string(base), "orderId": .string("o-1"), "amount": .integer(amount)])
    }

    @Test func completesAndSecretsStayOutOfTheJournal() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let engine = HTTPTestSupport.engine(store: MemorySagaStore(), executor: executor)
            let record = try await engine.execute(try HTTPTestSupport.shopOrder(), input: Self.input(base), id: "s-ok")
            #expect(record.status == .completed)
            #expect(shop.effects.map { "\($0.method) \($0.path)" } == [
                "POST /orders", "POST /inventory/reservations", "POST /payments", "POST /shipments",
            ])
            #expect(shop.requests.allSatisfy { $0.headers["authorization"] == "Bearer tok-secret-123" })
            let snapshot = try await engine.snapshot(sagaID: "s-ok")
            let ship = try #require(snapshot.events.last { $0.type == .stepSucceeded && $0.step == "ship" })
            #expect(ship.output?["status"] == .integer(201))
            #expect(ship.output?["headers"] == .object(["content-type": .string("application/json")]))
        }
    }

    @Test func echoedSecretIsRedactedInTheJournal() async throws {
        let workflow = """
            {"name": "echo", "version": 1, "steps": [{"name": "echo", "action": {"http": {"method": "POST",
             "url": "${input.shop}/_echo", "headers": {"Authorization": "Bearer ${env.SHOP_TOKEN}"}}}}]}
            """
        let definition = try #require(WorkflowLoader.load(string: workflow, kinds: .standard).definition)
        try await HTTPTestSupport.withShop { shop, base, executor in
            let engine = HTTPTestSupport.engine(store: MemorySagaStore(), executor: executor)
            let record = try await engine.execute(definition, input: .object(["shop": .string(base)]), id: "s-echo")
            #expect(record.status == .completed)
            #expect(shop.requests.first?.headers["authorization"] == "Bearer tok-secret-123")
            let snapshot = try await engine.snapshot(sagaID: "s-echo")
            let output = try #require(snapshot.events.first { $0.type == .stepSucceeded }?.output)
            #expect(output["headers"]?["authorization"] == .string("Bearer ***"))
            #expect(!snapshot.events.map(\.json.jsonString).joined().contains("tok-secret-123"))
        }
    }

    @Test func retriesA503HonouringRetryAfterWithTheSameKey() async throws {
        let control = ExampleShop.Control(fail: ["POST /payments": 503], times: ["POST /payments": 1], retryAfter: 1)
        try await HTTPTestSupport.withShop(control: control) { shop, base, executor in
            let engine = HTTPTestSupport.engine(store: MemorySagaStore(), executor: executor)
            let record = try await engine.execute(try HTTPTestSupport.shopOrder(), input: Self.input(base), id: "s-503")
            #expect(record.status == .completed)
            let snapshot = try await engine.snapshot(sagaID: "s-503")
            let failed = snapshot.events.filter { $0.type == .stepFailed && $0.step == "charge-payment" }
            #expect(failed.count == 1)
            #expect(failed.first?.retryAfterMs == 1000)
            #expect(failed.first?.retryable == true)
            let keys = shop.requests.filter { $0.uri == "/payments" }.map { $0.headers["idempotency-key"] }
            let expected = SagaStateMachine.idempotencyKey(sagaID: "s-503", step: "charge-payment", phase: .action)
            #expect(keys == [expected, expected])
            #expect(shop.effects.filter { $0.path == "/payments" }.count == 1)
        }
    }

    @Test func a400IsNotRetriedAndTheSagaCompensates() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let engine = HTTPTestSupport.engine(store: MemorySagaStore(), executor: executor)
            let record = try await engine.execute(try HTTPTestSupport.shopOrder(), input: Self.input(base, amount: 0), id: "s-400")
            #expect(record.status == .compensated)
            let snapshot = try await engine.snapshot(sagaID: "s-400")
            let started = snapshot.events.filter { $0.type == .stepStarted && $0.step == "charge-payment" }
            #expect(started.count == 1)
            let failed = try #require(snapshot.events.first { $0.type == .stepFailed })
            #expect(failed.retryable == false)
            #expect(failed.error?.contains("POST \(base)/payments: 400 Bad Request") == true)
            #expect(failed.error?.contains("saga s-400, step charge-payment") == true)
            #expect(shop.effects.map { "\($0.method) \($0.path)" } == [
                "POST /orders", "POST /inventory/reservations", "DELETE /inventory/reservations/res-2", "DELETE /orders/ord-1",
            ])
        }
    }

    @Test func aResponseThatNeverComesIsUnknownThenProbed() async throws {
        let control = ExampleShop.Control(hang: ["POST /payments"], times: ["POST /payments": 1])
        try await HTTPTestSupport.withShop(control: control) { shop, base, executor in
            let engine = HTTPTestSupport.engine(store: MemorySagaStore(), executor: executor)
            let definition = try HTTPTestSupport.shopOrder(paymentTimeout: "300ms")
            let record = try await engine.execute(definition, input: Self.input(base), id: "s-hang")
            #expect(record.status == .completed)
            let snapshot = try await engine.snapshot(sagaID: "s-hang")
            let types = snapshot.events.filter { $0.step == "charge-payment" }.map(\.type)
            #expect(types == [.stepStarted, .stepUnknown, .probeStarted, .probeNotHappened, .stepStarted, .stepSucceeded])
            let probe = try #require(shop.requests.first { $0.uri.hasPrefix("/payments?") })
            #expect(probe.uri == "/payments?key=s-hang%2Fcharge-payment%2Faction")
            #expect(shop.effects.filter { $0.path == "/payments" }.count == 1)
        }
    }

    @Test func theKeyStaysTheSameAcrossARestart() async throws {
        let control = ExampleShop.Control(hang: ["POST /payments"], times: ["POST /payments": 1])
        try await HTTPTestSupport.withShop(control: control) { shop, base, executor in
            let store = MemorySagaStore()
            let definition = try HTTPTestSupport.shopOrder()
            // The first worker sends the payment, then freezes before it journals any outcome, as if it crashed.
            let frozen = FrozenExecutor(forwardingTo: executor, freezing: "charge-payment")
            let first = HTTPTestSupport.engine(store: store, executor: executor)
            first.register(executor: frozen, for: .http)
            try await first.start(definition, input: Self.input(base), id: "s-restart")
            let crashed = Task { try await first.run(sagaID: "s-restart") }
            try await HTTPTestSupport.eventually { shop.requests.contains { $0.uri == "/payments" } }
            // The worker restarts (same worker id, new engine): the interrupted attempt is settled by the probe.
            let second = HTTPTestSupport.engine(store: store, executor: executor)
            let record = try await second.run(sagaID: "s-restart")
            let snapshot = try await second.snapshot(sagaID: "s-restart")
            #expect(record.status == .completed)
            let types = snapshot.events.filter { $0.step == "charge-payment" }.map(\.type)
            #expect(types == [.stepStarted, .stepUnknown, .probeStarted, .probeNotHappened, .stepStarted, .stepSucceeded])
            let keys = shop.requests.filter { $0.uri == "/payments" }.map { $0.headers["idempotency-key"] }
            let expected = SagaStateMachine.idempotencyKey(sagaID: "s-restart", step: "charge-payment", phase: .action)
            #expect(keys == [expected, expected])
            #expect(shop.effects.filter { $0.path == "/payments" }.count == 1)
            crashed.cancel()
            frozen.thaw()
            _ = try? await crashed.value
        }
    }
}

/// Forwards to the HTTP executor, but never reports the outcome of one step's action until thawed: a worker that
/// died after sending its request.
final class FrozenExecutor: StepExecutor, Sendable {
    let inner: HTTPExecutor
    let step: String
    /// Ignores cancellation on purpose: a frozen worker does nothing at all until thawed.
    private let gate = Mutex<(thawed: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    init(forwardingTo inner: HTTPExecutor, freezing step: String) {
        self.inner = inner
        self.step = step
    }

    func thaw() {
        let waiting = gate.withLock { state in
            state.thawed = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for c in waiting { c.resume() }
    }

    func execute(spec: JSONValue, context: StepContext) async -> StepOutcome {
        guard context.step == step && context.phase == .action else {
            return await inner.execute(spec: spec, context: context)
        }
        let inner = self.inner
        Task.detached { _ = await inner.execute(spec: spec, context: context) }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let thawed = gate.withLock { state in
                if !state.thawed { state.waiting.append(c) }
                return state.thawed
            }
            if thawed { c.resume() }
        }
        return .unknown("the worker was frozen")
    }
}
