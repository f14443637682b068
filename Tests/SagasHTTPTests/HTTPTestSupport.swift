import Foundation
import Logging
import SagaExampleShopKit
import Sagas
import Testing

@testable import SagasHTTP

/// Shared helpers: the example shop on loopback, executors, contexts, engines.
enum HTTPTestSupport {
    /// Drops everything, without bootstrapping logging.
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `body` with a shop listening on 127.0.0.1 and an executor, and shuts both down afterwards.
    static func withShop<T>(
        control: ExampleShop.Control = .init(),
        configuration: HTTPExecutor.Configuration = .init(),
        resolver: HTTPHostResolver = .system,
        _ body: (ExampleShop, String, HTTPExecutor) async throws -> T
    ) async throws -> T {
        let shop = ExampleShop(control: control)
        let port = try await shop.start()
        let executor = HTTPExecutor(configuration: configuration, logger: logger, resolver: resolver)
        do {
            let result = try await body(shop, "http://127.0.0.1:\(port)", executor)
            try await executor.shutdown()
            try await shop.stop()
            return result
        } catch {
            try? await executor.shutdown()
            try? await shop.stop()
            throw error
        }
    }

    static func context(
        saga: String = "s-test",
        step: String = "pay",
        phase: StepPhase = .action,
        attempt: Int = 1,
        timeout: Duration = .seconds(10)
    ) -> StepContext {
        StepContext(
            sagaID: saga,
            workflow: "test@1",
            step: step,
            phase: phase,
            attempt: attempt,
            idempotencyKey: SagaStateMachine.idempotencyKey(sagaID: saga, step: step, phase: phase),
            input: .null,
            outputs: [:],
            baseDirectory: nil,
            timeout: timeout,
            logger: logger
        )
    }

    static func spec(_ text: String) throws -> JSONValue {
        try JSONValue(parsing: text)
    }

    /// An engine on `store` with the HTTP executor registered and `SHOP_TOKEN` in its environment.
    static func engine(
        store: any SagaStore,
        executor: HTTPExecutor,
        workerID: String = "test-worker",
        token: String = "tok-secret-123"
    ) -> SagaEngine {
        let configuration = SagaEngine.Configuration(
            workerID: workerID,
            leaseDuration: .seconds(30),
            pollInterval: .milliseconds(10),
            environment: ["SHOP_TOKEN": token]
        )
        let engine = SagaEngine(store: store, configuration: configuration, logger: logger)
        engine.register(executor: executor, for: .http)
        return engine
    }

    /// The shop-order workflow, with fast retries for tests and an optional step timeout override.
    static func shopOrder(paymentTimeout: String? = nil) throws -> SagaDefinition {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Workflows/shop-order.json").path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"initialInterval\": \"200ms\"", with: "\"initialInterval\": \"10ms\"")
        if let paymentTimeout {
            text = text.replacingOccurrences(
                of: "\"name\": \"charge-payment\",",
                with: "\"name\": \"charge-payment\", \"timeout\": \"\(paymentTimeout)\","
            )
        }
        let result = WorkflowLoader.load(string: text, file: path, kinds: .standard)
        return try #require(result.definition, "\(result.diagnostics)")
    }

    /// Waits until `condition` holds, polling; fails after `seconds`.
    static func eventually(_ seconds: Double = 10, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else {
                Issue.record("condition not met in \(seconds)s")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A resolver for tests: fixed answers, and a record of what was asked.
final class FakeResolver: Sendable {
    let answers: [String: [HTTPAddress]]
    private let asked = LockedBox<[String]>([])

    init(_ answers: [String: String]) {
        self.answers = answers.mapValues { [HTTPAddress(numeric: $0)!] }
    }

    var questions: [String] { asked.value }

    var resolver: HTTPHostResolver {
        HTTPHostResolver { host in
            self.asked.mutate { $0.append(host) }
            guard let found = self.answers[host] else { throw HTTPHostResolver.ResolveError(description: "no such host \(host)") }
            return found
        }
    }
}

final class LockedBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    func mutate(_ body: (inout T) -> Void) { lock.withLock { body(&stored) } }
}
