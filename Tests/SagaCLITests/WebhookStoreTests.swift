import Foundation
import Logging
import Sagas
import SagasSQLite
import SagasWebhooks
import Testing

/// The webhook store contract (`SagaStoreWebhooks`) and the delivery service in-process, on both stores that
/// implement it: the same body runs on `MemorySagaStore` and `SQLiteSagaStore`.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct WebhookStoreTests {
    enum Kind: String, CaseIterable, Sendable {
        case memory, sqlite, postgres

        /// The stores this suite runs on; PostgreSQL runs in `PostgresWebhookTests` (which needs a server).
        static let local: [Kind] = [.memory, .sqlite]
    }

    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func makeStore(_ kind: Kind) async throws -> (any SagaStoreWebhooks, cleanup: () -> Void) {
        switch kind {
        case .postgres:
            return try await PostgresWebhookTests.makeStore()
        case .memory:
            return (MemorySagaStore(), {})
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("webhooks-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return (try SQLiteSagaStore(path: "\(dir)/saga.db"), { try? FileManager.default.removeItem(atPath: dir) })
        }
    }

    /// Journals a saga that goes `started`, then the given lifecycle events (with a step event in between that
    /// publishes nothing), as a worker would.
    static func journal(_ store: any SagaStore, id: String, workflow: String, _ types: [SagaEventType]) async throws {
        let now = Date()
        let record = SagaRecord(
            id: id, workflow: workflow, version: 1, definition: #"{"name": "\#(workflow)"}"#, baseDirectory: nil,
            input: ["n": .string(id)], status: .pending, createdAt: now, updatedAt: now, key: "key-\(id)"
        )
        _ = try await store.create(record, events: [SagaEvent(seq: 1, at: now, type: .sagaStarted)])
        _ = try await store.claim(sagaID: id, owner: "w", now: now, leaseUntil: now.addingTimeInterval(60))
        var seq = 1
        for type in types {
            seq += 1
            let step = SagaEvent(seq: seq, at: Date(), type: .stepStarted, step: "a", attempt: 1)
            seq += 1
            let event = SagaEvent(seq: seq, at: Date(), type: type, step: type == .sagaNeedsIntervention ? "a" : nil, error: "because")
            let status: SagaStatus = switch type {
            case .sagaCompleted: .completed
            case .sagaCompensating: .compensating
            case .sagaCompensated: .compensated
            case .sagaNeedsIntervention: .needsIntervention
            default: .running
            }
            try await store.append([step, event], sagaID: id, owner: "w", progress: .init(status: status), leaseUntil: Date().addingTimeInterval(60))
        }
    }

    @Test(arguments: Kind.local)
    func queueClaimFinishFollowTheContract(_ kind: Kind) async throws {
        let (store, cleanup) = try await Self.makeStore(kind)
        defer { cleanup() }
        let before = SagaRecord(
            id: "old", workflow: "w", version: 1, definition: "{}", baseDirectory: nil, input: .null, status: .pending,
            createdAt: Date(), updatedAt: Date()
        )
        _ = try await store.create(before, events: [SagaEvent(seq: 1, at: Date(), type: .sagaStarted)])
        let webhooks = try SagaWebhooks(store: store)
        let sub = try await webhooks.add(url: "http://127.0.0.1:9/x", secrets: [WebhookReceiver.makeSecret()])
        // A new subscription starts at the end of the journal.
        #expect(try await store.webhookFeed(after: sub.position, limit: 100).entries.isEmpty)

        try await Self.journal(store, id: "s1", workflow: "w", [.sagaCompensating, .sagaCompensated])
        let page = try await store.webhookFeed(after: sub.position, limit: 100)
        let feed = page.entries
        #expect(page.end == feed.last?.position)
        #expect(feed.map(\.event.type) == [.sagaStarted, .sagaCompensating, .sagaCompensated])
        #expect(feed.map(\.position) == feed.map(\.position).sorted())
        #expect(feed.allSatisfy { $0.sagaID == "s1" && $0.workflow == "w" && $0.key == "key-s1" })

        let now = Date()
        let deliveries = feed.flatMap { SagaWebhookEvent.deliveries(for: sub, entry: $0, now: now) }
        #expect(try await store.enqueueWebhookDeliveries(deliveries, subscriptionID: sub.id, from: sub.position, to: feed.last!.position, now: now))
        // Compare-and-set: a second worker that read the same feed queues nothing.
        #expect(try await !store.enqueueWebhookDeliveries(deliveries, subscriptionID: sub.id, from: sub.position, to: feed.last!.position, now: now))
        #expect(try await store.webhookDeliveries(.init()).count == 3)
        // Due: only the first event of the saga (the others wait behind it).
        #expect(try await store.webhookBacklog(now: now) == (1, 0))

        // Only the first pending delivery of a saga is handed out, and to one worker at a time.
        let a = try await store.claimWebhookDeliveries(owner: "a", now: now, leaseUntil: now.addingTimeInterval(30), limit: 10)
        #expect(a.map(\.type) == [.sagaStarted])
        let first = try #require(a.first)
        let b = try await store.claimWebhookDeliveries(owner: "b", now: now, leaseUntil: now.addingTimeInterval(30), limit: 10)
        #expect(b.isEmpty)
        // Only the holder records an outcome.
        #expect(try await store.finishWebhookDelivery(id: first.id, owner: "b", outcome: .delivered(status: 200, at: now)) == nil)
        let updated = try await store.finishWebhookDelivery(id: first.id, owner: "a", outcome: .retry(status: 500, error: "HTTP 500", next: now.addingTimeInterval(3600)))
        #expect(updated?.failingSince != nil)
        // Retrying later: the saga's next event waits behind it.
        #expect(try await store.claimWebhookDeliveries(owner: "b", now: now, leaseUntil: now.addingTimeInterval(30), limit: 10).isEmpty)
        // A lease that expired is taken by another worker.
        let later = now.addingTimeInterval(7200)
        let c = try await store.claimWebhookDeliveries(owner: "c", now: later, leaseUntil: later.addingTimeInterval(30), limit: 10)
        #expect(c.map(\.id) == [first.id])
        _ = try await store.finishWebhookDelivery(id: try #require(c.first).id, owner: "c", outcome: .failed(status: 500, error: "gave up"))
        let d = try await store.claimWebhookDeliveries(owner: "d", now: later, leaseUntil: later.addingTimeInterval(30), limit: 10)
        #expect(d.map(\.type) == [.sagaCompensating])
        let done = try await store.finishWebhookDelivery(id: try #require(d.first).id, owner: "d", outcome: .delivered(status: 204, at: later))
        #expect(done?.failingSince == nil && done?.lastSuccessAt != nil)

        let failed = try await store.webhookDeliveries(.init(states: [.failed]))
        #expect(failed.map(\.id) == [first.id])
        #expect(failed.first?.attempts == 2 && failed.first?.lastError == "gave up")
        #expect(try await store.replayWebhookDeliveries(ids: [first.id], since: nil, now: later) == 1)
        #expect(try await store.webhookDeliveries(.init(states: [.failed])).isEmpty)
        #expect(try await store.replayWebhookDeliveries(ids: ["msg_nope"], since: nil, now: later) == 0)

        try await store.setWebhookSubscriptionState(id: sub.id, state: .paused, reason: "by hand")
        #expect(try await store.claimWebhookDeliveries(owner: "e", now: later, leaseUntil: later.addingTimeInterval(30), limit: 10).isEmpty)
        await #expect(throws: SagaError.self) { try await store.setWebhookSubscriptionState(id: "wh_nope", state: .active, reason: nil) }
        try await store.removeWebhookSubscription(id: sub.id)
        #expect(try await store.webhookDeliveries(.init()).isEmpty)
        #expect(try await store.webhookSubscriptions().isEmpty)
    }

    @Test(arguments: Kind.local)
    func theServiceDeliversEachSubscriptionItsEventsInOrder(_ kind: Kind) async throws {
        let (store, cleanup) = try await Self.makeStore(kind)
        defer { cleanup() }
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        defer { Task { try? await receiver.stop() } }
        let secret = WebhookReceiver.makeSecret()
        receiver.expect(secrets: [secret], for: "/all")
        receiver.expect(secrets: [secret], for: "/orders")
        let webhooks = try SagaWebhooks(store: store)
        _ = try await webhooks.add(url: "http://127.0.0.1:\(port)/all", secrets: [secret])
        _ = try await webhooks.add(
            url: "http://127.0.0.1:\(port)/orders", secrets: [secret], eventTypes: [.sagaCompleted, .interventionOpened],
            workflow: "order"
        )
        var plans: [(id: String, workflow: String, types: [SagaEventType])] = []
        for n in 0..<30 {
            let types: [SagaEventType] = switch n % 3 {
            case 0: [.sagaCompleted]
            case 1: [.sagaCompensating, .sagaCompensated]
            default: [.sagaCompensating, .sagaNeedsIntervention]
            }
            plans.append(("s\(n)", n % 2 == 0 ? "order" : "other", types))
        }
        let service = SagaWebhookService(store: store, configuration: .init(owner: "svc", pollInterval: .milliseconds(20)), logger: Self.logger)
        let running = Task { try await service.run() }
        for plan in plans { try await Self.journal(store, id: plan.id, workflow: plan.workflow, plan.types) }
        try await service.drain(timeout: .seconds(60))
        running.cancel()
        _ = try? await running.value

        #expect(receiver.received.allSatisfy { $0.validFor == [secret] })
        #expect(Set(receiver.received.map(\.id)).count == receiver.received.count)
        for plan in plans {
            var published: [String] = ["saga.started"]
            for t in plan.types { published += t == .sagaNeedsIntervention ? ["saga.needs_intervention", "intervention.opened"] : [t.rawValue] }
            #expect(receiver.received(path: "/all").filter { $0.sagaID == plan.id }.map(\.type) == published)
            let orders = plan.workflow == "order" ? published.filter { ["saga.completed", "intervention.opened"].contains($0) } : []
            #expect(receiver.received(path: "/orders").filter { $0.sagaID == plan.id }.compactMap(\.type) == orders)
        }
        #expect(try await store.webhookBacklog(now: Date()) == (0, 0))
    }
}
