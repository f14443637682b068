import Foundation
import SagaExampleShopKit
import Sagas
import Testing

/// Issue 14, item 18: cancelling a shop-order while `POST /payments` hangs. The payment's outcome is unknown when
/// its attempt times out; its probe runs before anything is compensated, finds no payment, and so nothing is
/// refunded (before, the refund ran at once and its `${steps.charge-payment.output.id}` named a missing value).
@Suite(.timeLimit(.minutes(1)))
struct ShopCancelTests {
    @Test func cancellingWhileThePaymentHangsProbesItBeforeCompensating() async throws {
        let control = ExampleShop.Control(hang: ["POST /payments"])
        try await HTTPTestSupport.withShop(control: control) { shop, base, executor in
            let engine = HTTPTestSupport.engine(store: MemorySagaStore(), executor: executor)
            let definition = try HTTPTestSupport.shopOrder(paymentTimeout: "500ms")
            let input: JSONValue = ["shop": .string(base), "orderId": "o-1", "amount": 25]
            let run = Task { try await engine.execute(definition, input: input, id: "s-cancel") }
            try await HTTPTestSupport.eventually { shop.requests.contains { $0.uri == "/payments" } }
            try await engine.cancel(sagaID: "s-cancel", reason: "the customer cancelled")
            let record = try await run.value
            let events = try await engine.store.events(sagaID: "s-cancel")
            let trace = events.map { e in e.step.map { "\(e.type.rawValue):\($0)" } ?? e.type.rawValue }
            #expect(record.status == .compensated, "\(trace) \(record.lastError ?? "")")
            #expect(
                events.filter { $0.step == "charge-payment" }.map(\.type) == [
                    .stepStarted, .stepUnknown, .probeStarted, .probeNotHappened,
                ], "\(trace)")
            #expect(!shop.requests.contains { $0.uri.contains("/refund") }, "no payment was made: nothing to refund")
            #expect(!events.contains { $0.error?.contains("names a missing value") == true }, "\(trace)")
        }
    }
}
