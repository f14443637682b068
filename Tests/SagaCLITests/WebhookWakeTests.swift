import Foundation
import Logging
import Sagas
import SagasWebhooks
import Testing

/// The delivery service is woken by commits, not only by its poll: with a poll interval of a minute, a commit's
/// events still arrive within seconds, also while a pass is busy with an attempt that hangs.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct WebhookWakeTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// What the engine tells its observers after it journaled `events` of saga `id`.
    static func notice(_ id: String, workflow: String, _ types: [SagaEventType]) -> SagaNotice {
        SagaNotice(
            kind: .appended, sagaID: id, workflow: workflow, version: 1,
            events: types.enumerated().map { SagaEvent(seq: $0.offset + 1, at: Date(), type: $0.element) },
            status: .running, createdAt: Date(), duration: .milliseconds(1), at: Date(), by: "w"
        )
    }

    /// Polls `condition` without blocking a thread of the cooperative pool (the service runs on it too).
    static func eventually(seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    @Test(arguments: WebhookStoreTests.Kind.local)
    func aCommitWakesAPassWhoseOnlyAttemptHangs(_ kind: WebhookStoreTests.Kind) async throws {
        let (store, cleanup) = try await WebhookStoreTests.makeStore(kind)
        defer { cleanup() }
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        defer { Task { try? await receiver.stop() } }
        let secret = WebhookReceiver.makeSecret()
        receiver.expect(secrets: [secret], for: "/slow")
        receiver.expect(secrets: [secret], for: "/fast")
        // The slow receiver answers its first request after 12 s: the pass that sent it is busy until then.
        receiver.setScript { path, _ in
            path == "/slow" ? WebhookReceiver.Reply(status: 200, delay: .seconds(12)) : WebhookReceiver.Reply(status: 200)
        }
        let webhooks = try SagaWebhooks(store: store)
        _ = try await webhooks.add(url: "http://127.0.0.1:\(port)/slow", secrets: [secret], workflow: "slow")
        _ = try await webhooks.add(url: "http://127.0.0.1:\(port)/fast", secrets: [secret], workflow: "fast")
        let service = SagaWebhookService(
            store: store,
            configuration: .init(owner: "svc", pollInterval: .seconds(60), timeout: .seconds(30)),
            logger: Self.logger
        )
        let running = Task { try await service.run() }
        defer { running.cancel() }
        // The first pass starts at once; the slow saga's event is found by it, its attempt hangs.
        try await Task.sleep(for: .milliseconds(300))
        try await WebhookStoreTests.journal(store, id: "s-slow", workflow: "slow", [])
        service.observer.observe(Self.notice("s-slow", workflow: "slow", [.sagaStarted]))
        try await Task.sleep(for: .seconds(1))

        let committed = Date()
        try await WebhookStoreTests.journal(store, id: "s-fast", workflow: "fast", [.sagaCompleted])
        service.observer.observe(Self.notice("s-fast", workflow: "fast", [.sagaStarted, .sagaCompleted]))
        let arrived = await Self.eventually(seconds: 6) { receiver.received(path: "/fast").count >= 2 }
        #expect(arrived, "the fast saga's events wait for the hanging attempt or the poll: \(receiver.received.map(\.path))")
        let types = receiver.received(path: "/fast").compactMap(\.type)
        #expect(types == ["saga.started", "saga.completed"])
        #expect(Date().timeIntervalSince(committed) < 10)
    }
}
