import Foundation
import SagaExampleShopKit
import Sagas
import Testing

@testable import SagasHTTP

@Suite(.timeLimit(.minutes(1)))
struct HTTPSafetyTests {
    static let metadataSpellings = [
        "http://169.254.169.254/latest/meta-data",
        "http://2852039166/",
        "http://0xA9FEA9FE/",
        "http://0xa9.0xfe.0xa9.0xfe/",
        "http://0251.0376.0251.0376/",
        "http://169.254.43518/",
        "http://169.254.169.254./",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://169.254.0.1:8080/",
        "https://169.254.169.254/",
    ]

    @Test(arguments: metadataSpellings)
    func metadataAddressesAreRefused(url: String) async throws {
        let names = FakeResolver([:])
        try await HTTPTestSupport.withShop(resolver: names.resolver) { shop, _, executor in
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(url)"}"#),
                context: HTTPTestSupport.context()
            )
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(!failure.retryable)
            #expect(failure.message.contains("refused"))
            #expect(failure.message.contains("link-local or metadata address"))
            #expect(names.questions.isEmpty)
        }
    }

    @Test func numericSpellingsParseToTheMetadataAddress() {
        for host in ["2852039166", "0xA9FEA9FE", "0251.0376.0251.0376", "169.254.169.254.", "[::ffff:169.254.169.254]"] {
            let address = HTTPAddress(numeric: host)
            #expect(address?.isLinkLocalOrMetadata == true, "\(host)")
        }
        #expect(HTTPAddress(numeric: "127.0.0.1")?.isLinkLocalOrMetadata == false)
        #expect(HTTPAddress(numeric: "::1")?.isLinkLocalOrMetadata == false)
        #expect(HTTPAddress(numeric: "example.com") == nil)
    }

    @Test func aNameResolvingToMetadataIsRefused() async throws {
        let names = FakeResolver(["evil.test": "169.254.169.254"])
        try await HTTPTestSupport.withShop(resolver: names.resolver) { shop, _, executor in
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "http://evil.test/latest/meta-data"}"#),
                context: HTTPTestSupport.context()
            )
            #expect(outcome == .failure(.permanent(
                "saga s-test, step pay: GET http://evil.test/latest/meta-data: refused: evil.test resolves to the link-local or metadata address 169.254.169.254"
            )))
            #expect(names.questions == ["evil.test"])
        }
    }

    @Test func aNameConnectsToItsCheckedAddressWithItsHostHeader() async throws {
        let names = FakeResolver(["shop.test": "127.0.0.1"])
        try await HTTPTestSupport.withShop(resolver: names.resolver) { shop, base, executor in
            let port = try #require(URL(string: base)?.port)
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "http://shop.test:\#(port)/_echo"}"#),
                context: HTTPTestSupport.context()
            )
            guard case .success(let echo) = outcome else { Issue.record("\(outcome)"); return }
            #expect(echo["headers"]?["host"] == .string("shop.test:\(port)"))
        }
    }

    @Test func metadataAllowedWhenConfigured() async throws {
        // The check is what stops it; with it off, the (fake) name reaches the loopback shop.
        let names = FakeResolver(["meta.test": "127.0.0.1"])
        var configuration = HTTPExecutor.Configuration()
        configuration.allowMetadataAddresses = true
        configuration.allowedHosts = ["meta.test"]
        try await HTTPTestSupport.withShop(configuration: configuration, resolver: names.resolver) { shop, base, executor in
            let port = try #require(URL(string: base)?.port)
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "http://meta.test:\#(port)/_echo"}"#),
                context: HTTPTestSupport.context()
            )
            guard case .success = outcome else { Issue.record("\(outcome)"); return }
        }
    }

    @Test func allowListRefusesOtherHosts() async throws {
        var configuration = HTTPExecutor.Configuration()
        configuration.allowedHosts = ["shop.example", "*.internal.example"]
        try await HTTPTestSupport.withShop(configuration: configuration) { shop, base, executor in
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/orders"}"#),
                context: HTTPTestSupport.context()
            )
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(!failure.retryable)
            #expect(failure.message.contains("host 127.0.0.1 is not in the allowed hosts"))
            #expect(shop.requests.isEmpty)
        }
        #expect(HTTPExecutor.isAllowed("a.internal.example", by: ["*.internal.example"]))
        #expect(!HTTPExecutor.isAllowed("internal.example.evil", by: ["*.internal.example"]))
        #expect(HTTPExecutor.isAllowed("shop.example", by: ["Shop.Example."]))
    }

    @Test func redirectsAreNotFollowedByDefault() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(base)/_redirect", "query": {"to": "/_echo"}}"#),
                context: HTTPTestSupport.context()
            )
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(!failure.retryable)
            #expect(failure.message.contains("302 redirect not followed"))
            #expect(shop.requests.count == 1)
        }
    }

    @Test func sameHostRedirectsAreFollowedWhenAllowed() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(
                    #"{"method": "GET", "url": "\#(base)/_redirect", "query": {"to": "/_echo"}, "followRedirects": true}"#
                ),
                context: HTTPTestSupport.context()
            )
            guard case .success(let echo) = outcome else { Issue.record("\(outcome)"); return }
            #expect(echo["path"] == .string("/_echo"))
            #expect(echo["headers"]?["idempotency-key"] == .string("s-test/pay/action"))
            #expect(shop.requests.map(\.uri).last == "/_echo")
        }
    }

    @Test func redirectsToAnotherHostAreRefused() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let other = base.replacingOccurrences(of: "127.0.0.1", with: "localhost") + "/_echo"
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(
                    #"{"method": "GET", "url": "\#(base)/_redirect", "query": {"to": "\#(other)"}, "followRedirects": true}"#
                ),
                context: HTTPTestSupport.context()
            )
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(!failure.retryable)
            #expect(failure.message.contains("redirect to another host"))
            #expect(shop.requests.count == 1)
        }
    }

    @Test func redirectLoopsStop() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            // /_redirect without `to` redirects to itself.
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(base)/_redirect", "followRedirects": true}"#),
                context: HTTPTestSupport.context()
            )
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(failure.message.contains("more than 5 redirects"))
            #expect(shop.requests.count == HTTPExecutor.maxRedirects + 1)
        }
    }

    // A header value with CR LF ("\r\n" is one Swift Character), a lone CR or LF, NUL, another control character
    // or DEL is refused before anything is sent: a permanent failure whose message names the header, not its value.
    @Test(arguments: ["tok\r\nX-Admin: 1", "tok\rX", "tok\nX", "tok\u{0}X", "tok\u{1B}X", "tok\u{7F}X"])
    func controlCharactersInAHeaderValueAreRefusedBeforeSending(value: String) async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let spec: JSONValue = [
                "method": "POST", "url": .string("\(base)/orders"),
                "headers": ["Authorization": .string("Bearer \(value)")],
            ]
            let outcome = await executor.execute(spec: spec, context: HTTPTestSupport.context())
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(!failure.retryable)
            #expect(failure.message == "saga s-test, step pay: the value of header 'Authorization' contains a line break or a control character")
            #expect(!failure.message.contains("tok"))
            #expect(shop.requests.isEmpty)
        }
    }
}
