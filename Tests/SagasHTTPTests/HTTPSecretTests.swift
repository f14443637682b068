import Foundation
import SagaExampleShopKit
import Sagas
import Testing

@testable import SagasHTTP

/// Secrets in http steps: in the URL of a message, percent-encoded, and cut by the 200-character snippet (issue 14,
/// item 8).
@Suite(.timeLimit(.minutes(1)))
struct HTTPSecretTests {
    @Test func aSecretInTheURLAndACutSnippetAreRedacted() async throws {
        let token = "Tok+en/with=odd&chars-0123456789"
        // The shop's 404 body repeats the path: the 200-character snippet cuts the encoded token.
        let pad = String(repeating: "p", count: 168)
        let definition = try HTTPTemplateTests.definition(#"""
            {"name": "call", "kind": "readonly", "retry": {"maxAttempts": 1},
             "action": {"http": {"method": "POST", "url": "${input.shop}/\#(pad)/${env.SHOP_TOKEN}/x",
                                 "headers": {"Authorization": "Bearer ${env.SHOP_TOKEN}"}}}}
            """#)
        try await HTTPTestSupport.withShop { shop, base, executor in
            let engine = HTTPTestSupport.engine(store: MemorySagaStore(), executor: executor, token: token)
            let record = try await engine.execute(definition, input: ["shop": .string(base)], id: "s-secret-url")
            #expect(record.status == .compensated)
            #expect(shop.requests.last?.uri == "/\(pad)/\(Template.percentEncoded(token))/x")
            let snapshot = try await engine.snapshot(sagaID: "s-secret-url")
            let failed = try #require(snapshot.events.first { $0.type == .stepFailed }?.error)
            #expect(failed.contains("404"))
            #expect(failed.contains("/\(pad)/***/x"), "\(failed)")
            let journal = snapshot.events.map(\.json.jsonString).joined() + (record.lastError ?? "")
            let decoded = journal.removingPercentEncoding ?? journal
            let chars = Array(token)
            for start in 0...(chars.count - 8) {
                let piece = String(chars[start..<(start + 8)])
                #expect(!journal.contains(piece) && !decoded.contains(piece), "\(piece) in \(journal)")
                #expect(!journal.contains(Template.percentEncoded(piece)), "\(piece) in \(journal)")
            }
        }
    }
}
