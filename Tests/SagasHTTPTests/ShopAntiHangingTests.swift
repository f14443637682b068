import Foundation
import SagaExampleShopKit
import Sagas
import Testing

@testable import SagasHTTP

/// The example shop keeps the anti-hanging rule of http.md: an action whose compensation it has already seen is
/// refused (issue 14, item 5).
@Suite(.timeLimit(.minutes(1)))
struct ShopAntiHangingTests {
    typealias H = HTTPTestSupport

    @Test func anActionArrivingAfterItsCompensationIsRefusedWithoutEffect() async throws {
        try await H.withShop { shop, base, executor in
            // The compensation arrives first (the action's request was late: its worker was killed or frozen).
            let undo = await executor.execute(
                spec: try H.spec(#"{"method": "POST", "url": "\#(base)/payments/pay-1/refund"}"#),
                context: H.context(saga: "s-late", step: "charge", phase: .compensation)
            )
            guard case .success = undo else {
                Issue.record("the compensation failed: \(undo)")
                return
            }
            let late = await executor.execute(
                spec: try H.spec(#"{"method": "POST", "url": "\#(base)/payments", "body": {"amount": 25}}"#),
                context: H.context(saga: "s-late", step: "charge", phase: .action, attempt: 2)
            )
            guard case .failure(let failure) = late else {
                Issue.record("the late action was accepted: \(late)")
                return
            }
            #expect(!failure.retryable, "409 fails for good: \(failure.message)")
            #expect(failure.message.contains("409"), "\(failure.message)")
            #expect(shop.effects.map { "\($0.method) \($0.path) \($0.key ?? "")" } == [
                "POST /payments/pay-1/refund s-late/charge/compensation"
            ])
            // Another saga's action with the same step name is not affected.
            let other = await executor.execute(
                spec: try H.spec(#"{"method": "POST", "url": "\#(base)/payments", "body": {"amount": 25}}"#),
                context: H.context(saga: "s-other", step: "charge", phase: .action)
            )
            guard case .success = other else {
                Issue.record("another saga's action was refused: \(other)")
                return
            }
        }
    }
}
