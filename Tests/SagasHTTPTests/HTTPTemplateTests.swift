import Foundation
import SagaExampleShopKit
import Sagas
import Testing

@testable import SagasHTTP

/// Templates in http steps against the example shop: encoded URLs and big numbers (issue 14, items 10 and 11).
@Suite(.timeLimit(.minutes(1)))
struct HTTPTemplateTests {
    static func definition(_ steps: String) throws -> SagaDefinition {
        let result = WorkflowLoader.load(string: #"{"name": "t", "version": 1, "steps": [\#(steps)]}"#, kinds: .standard)
        return try #require(result.definition, "\(result.diagnostics)")
    }

    @Test(arguments: ["../../_control", "1?admin=1", "a#frag", "x/../../_echo"])
    func inputInTheURLStaysOneSegment(id: String) async throws {
        let definition = try Self.definition(#"""
            {"name": "get", "kind": "readonly", "retry": {"maxAttempts": 1},
             "action": {"http": {"method": "POST", "url": "${input.shop}/items/${input.id}"}}}
            """#)
        try await HTTPTestSupport.withShop { shop, base, executor in
            let engine = HTTPTestSupport.engine(store: MemorySagaStore(), executor: executor)
            _ = try await engine.execute(definition, input: ["shop": .string(base), "id": .string(id)], id: "s-url")
            let uri = try #require(shop.requests.last?.uri)
            #expect(uri == "/items/" + Template.percentEncoded(id))
            #expect(!uri.contains("?") && !uri.contains("#") && uri.split(separator: "/").count == 2)
            #expect(shop.effects.isEmpty)
        }
    }

    /// The example shop cancels an order or releases a reservation named by the key of the request that made it:
    /// what shop-order's compensations send when the step's outcome stayed unknown.
    @Test func theShopFindsAnOrderByItsKey() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let context = HTTPTestSupport.context(saga: "s-k", step: "create-order")
            let created = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/orders"}"#), context: context)
            guard case .success(let order) = created else { Issue.record("\(created)"); return }
            let key = Template.percentEncoded(context.idempotencyKey)
            let cancelled = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "DELETE", "url": "\#(base)/orders/\#(key)"}"#),
                context: HTTPTestSupport.context(saga: "s-k", step: "create-order", phase: .compensation))
            guard case .success(let answer) = cancelled else { Issue.record("\(cancelled)"); return }
            #expect(answer["id"] == order["id"])
            #expect(answer["status"] == "cancelled")
        }
    }

    @Test func aBigNumberReachesTheBodyUnchanged() async throws {
        let definition = try Self.definition(#"""
            {"name": "make", "retry": {"maxAttempts": 1},
             "action": {"http": {"method": "POST", "url": "${input.shop}/_echo", "body": {"id": "${input.id}", "price": "${input.price}"}}},
             "compensation": {"http": {"method": "POST", "url": "${input.shop}/_echo?n=${input.id}", "body": ["${input.id}", "${input.price}"]}}},
            {"name": "fail", "kind": "readonly", "retry": {"maxAttempts": 1},
             "action": {"http": {"method": "POST", "url": "${input.shop}/nowhere"}}}
            """#)
        try await HTTPTestSupport.withShop { shop, base, executor in
            let engine = HTTPTestSupport.engine(store: MemorySagaStore(), executor: executor)
            let input = try JSONValue(parsing: #"{"shop": "\#(base)", "id": 123456789012345678901234567890, "price": 0.1000000000000000055511151231257827}"#)
            let record = try await engine.execute(definition, input: input, id: "s-big")
            #expect(record.status == .compensated)
            let echoes = shop.requests.filter { $0.uri.hasPrefix("/_echo") }
            #expect(echoes.map(\.body) == [
                #"{"id":123456789012345678901234567890,"price":0.1000000000000000055511151231257827}"#,
                #"[123456789012345678901234567890,0.1000000000000000055511151231257827]"#,
            ])
            #expect(echoes.last?.uri == "/_echo?n=123456789012345678901234567890")
        }
    }
}
