import Foundation
import SagaExampleShopKit
import Sagas
import Testing

@testable import SagasHTTP

@Suite(.timeLimit(.minutes(1)))
struct HTTPExecutorTests {
    @Test func requestCarriesSagaHeaders() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let context = HTTPTestSupport.context(saga: "s-headers", step: "pay", attempt: 3)
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/_echo", "body": {"a": 1}}"#),
                context: context
            )
            guard case .success(let output) = outcome else { Issue.record("\(outcome)"); return }
            let headers = try #require(output["headers"]?.objectValue)
            #expect(headers["idempotency-key"]?.stringValue == SagaStateMachine.idempotencyKey(sagaID: "s-headers", step: "pay", phase: .action))
            #expect(headers["x-saga-id"]?.stringValue == "s-headers")
            #expect(headers["x-saga-step"]?.stringValue == "pay")
            #expect(headers["content-type"]?.stringValue == "application/json")
            #expect(headers["host"]?.stringValue == base.replacingOccurrences(of: "http://", with: ""))
            let traceparent = try #require(headers["traceparent"]?.stringValue)
            #expect(traceparent.wholeMatch(of: /00-[0-9a-f]{32}-[0-9a-f]{16}-01/) != nil)
            #expect(traceparent == HTTPTraceContext.traceparent(sagaID: "s-headers", step: "pay", phase: .action, attempt: 3))
            #expect(output["body"] == .object(["a": .integer(1)]))
            #expect(output["method"] == .string("POST"))
        }
    }

    @Test func traceIDFollowsTheSagaAndSpanTheAttempt() {
        let a1 = HTTPTraceContext.traceparent(sagaID: "s-1", step: "pay", phase: .action, attempt: 1)
        let a2 = HTTPTraceContext.traceparent(sagaID: "s-1", step: "pay", phase: .action, attempt: 2)
        let b1 = HTTPTraceContext.traceparent(sagaID: "s-2", step: "pay", phase: .action, attempt: 1)
        let parts = { (s: String) in s.split(separator: "-").map(String.init) }
        #expect(parts(a1)[1] == parts(a2)[1])
        #expect(parts(a1)[2] != parts(a2)[2])
        #expect(parts(a1)[1] != parts(b1)[1])
        #expect(a1 == HTTPTraceContext.traceparent(sagaID: "s-1", step: "pay", phase: .action, attempt: 1))
    }

    @Test func queryIsEncodedAndHidden() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(base)/nowhere", "query": {"token": "a b&c"}}"#),
                context: HTTPTestSupport.context()
            )
            #expect(shop.requests.last?.uri == "/nowhere?token=a%20b%26c")
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(!failure.retryable)
            #expect(failure.message.contains("saga s-test, step pay: GET \(base)/nowhere: 404"))
            #expect(!failure.message.contains("a%20b"))
        }
    }

    @Test(arguments: [
        (503, true), (500, true), (408, true), (425, true), (429, true), (400, false), (404, false), (409, false),
    ])
    func statusOutcomes(status: Int, retryable: Bool) async throws {
        let control = ExampleShop.Control(fail: ["POST /orders": status], retryAfter: 7)
        try await HTTPTestSupport.withShop(control: control) { shop, base, executor in
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/orders"}"#),
                context: HTTPTestSupport.context()
            )
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(failure.retryable == retryable)
            #expect(failure.message.contains("POST \(base)/orders: \(status)"))
            if retryable { #expect(failure.retryAfter == .seconds(7)) }
            #expect(shop.effects.isEmpty)
        }
    }

    @Test func successOutputShapes() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let context = HTTPTestSupport.context()
            let plain = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/orders", "body": {"n": 1}}"#),
                context: context
            )
            guard case .success(let order) = plain else { Issue.record("\(plain)"); return }
            #expect(order["status"] == .string("created"))
            #expect(order["order"] == .object(["n": .integer(1)]))

            let kept = await executor.execute(
                spec: try HTTPTestSupport.spec(
                    #"{"method": "POST", "url": "\#(base)/shipments", "keepHeaders": ["Content-Type", "X-Absent"], "successStatus": [201]}"#
                ),
                context: HTTPTestSupport.context(step: "ship")
            )
            guard case .success(let wrapped) = kept else { Issue.record("\(kept)"); return }
            #expect(wrapped["status"] == .integer(201))
            #expect(wrapped["headers"] == .object(["content-type": .string("application/json")]))
            #expect(wrapped["body"]?["status"] == .string("shipped"))

            let text = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(base)/_big", "query": {"bytes": "3"}}"#),
                context: context
            )
            #expect(text == .success(.string("xxx")))
            let empty = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(base)/_big"}"#),
                context: context
            )
            #expect(empty == .success(.null))

            let unexpected = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/shipments", "successStatus": [200]}"#),
                context: HTTPTestSupport.context(step: "ship2")
            )
            guard case .failure(let failure) = unexpected else { Issue.record("\(unexpected)"); return }
            #expect(!failure.retryable)
        }
    }

    @Test func responseOverTheLimitFailsForGood() async throws {
        var configuration = HTTPExecutor.Configuration()
        configuration.maxResponseBytes = 1024
        try await HTTPTestSupport.withShop(configuration: configuration) { shop, base, executor in
            let outcome = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(base)/_big", "query": {"bytes": "5000"}}"#),
                context: HTTPTestSupport.context()
            )
            #expect(outcome == .failure(.permanent("saga s-test, step pay: GET \(base)/_big: 200 OK: response larger than 1 KiB")))
            let fits = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(base)/_big", "query": {"bytes": "1024"}}"#),
                context: HTTPTestSupport.context()
            )
            #expect(fits == .success(.string(String(repeating: "x", count: 1024))))
        }
        #expect(HTTPExecutor.formatBytes(1 << 20) == "1 MiB")
    }

    @Test func probeOutcomes() async throws {
        try await HTTPTestSupport.withShop { shop, base, executor in
            let pay = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/payments", "body": {"amount": 5}}"#),
                context: HTTPTestSupport.context(saga: "s-probe")
            )
            guard case .success = pay else { Issue.record("\(pay)"); return }
            let key = SagaStateMachine.idempotencyKey(sagaID: "s-probe", step: "pay", phase: .action)
            let probe = HTTPTestSupport.context(saga: "s-probe", phase: .probe)
            let found = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(base)/payments", "query": {"key": "\#(key)"}}"#),
                context: probe
            )
            guard case .success(let payment) = found else { Issue.record("\(found)"); return }
            #expect(payment["key"] == .string(key))
            let missing = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(base)/payments", "query": {"key": "other"}}"#),
                context: probe
            )
            #expect(missing == .notHappened)
            shop.setControl(.init(fail: ["GET /payments": 500]))
            let broken = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "\#(base)/payments", "query": {"key": "other"}}"#),
                context: probe
            )
            guard case .failure(let failure) = broken else { Issue.record("\(broken)"); return }
            #expect(failure.message.contains("probe could not tell"))
        }
    }

    @Test func refusedConnectionIsRetryable() async throws {
        let shop = ExampleShop()
        let port = try await shop.start()
        try await shop.stop()
        let executor = HTTPExecutor(logger: HTTPTestSupport.logger)
        defer { Task { try? await executor.shutdown() } }
        let outcome = await executor.execute(
            spec: try HTTPTestSupport.spec(#"{"method": "POST", "url": "http://127.0.0.1:\#(port)/orders"}"#),
            context: HTTPTestSupport.context()
        )
        guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
        #expect(failure.retryable)
        #expect(failure.message.contains("cannot connect"))
    }

    @Test func hangingResponseIsUnknownWhenCancelled() async throws {
        let control = ExampleShop.Control(hang: ["POST /shipments"])
        try await HTTPTestSupport.withShop(control: control) { shop, base, executor in
            let spec = try HTTPTestSupport.spec(#"{"method": "POST", "url": "\#(base)/shipments"}"#)
            let task = Task { await executor.execute(spec: spec, context: HTTPTestSupport.context()) }
            try await HTTPTestSupport.eventually { shop.requests.contains { $0.uri == "/shipments" } }
            task.cancel()
            let outcome = await task.value
            guard case .unknown = outcome else { Issue.record("\(outcome)"); return }
            #expect(shop.effects.isEmpty)
        }
    }

    @Test func unparseableSpecIsPermanent() async throws {
        try await HTTPTestSupport.withShop { _, _, executor in
            let outcome = await executor.execute(spec: .object(["url": .string("http://x/")]), context: HTTPTestSupport.context())
            guard case .failure(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(!failure.retryable)
            let ftp = await executor.execute(
                spec: try HTTPTestSupport.spec(#"{"method": "GET", "url": "ftp://host/x"}"#),
                context: HTTPTestSupport.context()
            )
            guard case .failure(let f2) = ftp else { Issue.record("\(ftp)"); return }
            #expect(!f2.retryable)
        }
    }

    @Test(arguments: [
        ("120", Duration.seconds(120)), ("0", Duration.seconds(0)), ("soon", nil),
    ])
    func retryAfterSeconds(value: String, expected: Duration?) {
        #expect(HTTPRetryAfter.parse(value) == expected)
    }

    @Test func retryAfterDate() {
        let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(HTTPRetryAfter.parse("Wed, 21 Oct 2015 07:28:30 GMT", now: now) == .seconds(30))
        #expect(HTTPRetryAfter.parse("Wed, 21 Oct 2015 07:27:00 GMT", now: now) == .zero)
    }
}
