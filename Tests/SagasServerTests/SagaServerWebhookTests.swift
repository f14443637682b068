import Foundation
import HTTPTypes
import Sagas
import SagasServer
import Testing

/// `/v1/webhooks` (issue 19): subscriptions and deliveries through the API, admin for changes and any token for
/// reads, secrets never returned, changes refused in read-only mode.
@Suite(.timeLimit(.minutes(1)))
struct SagaServerWebhookTests {
    static let secret = "whsec_" + Data((0..<32).map { UInt8($0 * 7 % 256) }).base64EncodedString()

    static func addBody(_ url: String = "http://127.0.0.1:9/hook", events: String = #"["saga.completed"]"#) -> String {
        #"{"url": "\#(url)", "secrets": ["\#(secret)"], "events": \#(events), "workflow": "pay"}"#
    }

    @Test func adminAddsViewersReadAndSecretsAreNeverReturned() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { api in
            #expect(try await api.post("/v1/webhooks", Self.addBody(), token: nil).status == .unauthorized)
            let byViewer = try await api.post("/v1/webhooks", Self.addBody(), token: ServerFixture.viewerToken)
            #expect(byViewer.status == .forbidden && byViewer.errorCode == "forbidden", "\(byViewer.text)")
            let byOperator = try await api.post("/v1/webhooks", Self.addBody(), token: ServerFixture.operatorToken)
            #expect(byOperator.status == .forbidden, "\(byOperator.text)")

            let added = try await api.post("/v1/webhooks", Self.addBody(), token: ServerFixture.adminToken)
            #expect(added.status == .created, "\(added.text)")
            #expect(!added.text.contains(Self.secret))
            let id = try #require(added.json?["id"]?.stringValue)
            #expect(added.json?["events"] == ["saga.completed"])
            #expect(added.json?["workflow"] == "pay")
            #expect(added.json?["secrets"]?.arrayValue?.first?.stringValue?.hasPrefix("whsec_…") == true)

            let list = try await api.get("/v1/webhooks", token: ServerFixture.viewerToken)
            #expect(list.status == .ok)
            #expect(list.json?["webhooks"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])
            #expect(!list.text.contains(Self.secret))
            #expect(try await api.get("/v1/webhooks", token: nil).status == .unauthorized)

            // Pause records who did it; resume clears it.
            let paused = try await api.post("/v1/webhooks/\(id)/pause", #"{"reason": "receiver down"}"#, token: ServerFixture.adminToken)
            #expect(paused.status == .ok, "\(paused.text)")
            #expect(paused.json?["state"] == "paused")
            #expect(paused.json?["stateReason"] == "receiver down (by ada)")
            #expect(try await api.post("/v1/webhooks/\(id)/pause", nil, token: ServerFixture.operatorToken).status == .forbidden)
            let resumed = try await api.post("/v1/webhooks/\(id)/resume", nil, token: ServerFixture.adminToken)
            #expect(resumed.status == .ok && resumed.json?["state"] == "active", "\(resumed.text)")

            let removed = try await api.request(.delete, "/v1/webhooks/\(id)", token: ServerFixture.adminToken)
            #expect(removed.status == .noContent, "\(removed.text)")
            let again = try await api.request(.delete, "/v1/webhooks/\(id)", token: ServerFixture.adminToken)
            #expect(again.status == .notFound && again.errorCode == "webhook_not_found", "\(again.text)")
            #expect(try await api.post("/v1/webhooks/wh_nope/resume", nil, token: ServerFixture.adminToken).status == .notFound)
            #expect(try await api.get("/v1/webhooks").json?["webhooks"] == [])
        }
    }

    @Test func badSubscriptionsAreRefused() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { api in
            let admin = ServerFixture.adminToken
            let bodies = [
                #"{"url": "http://127.0.0.1:9/x"}"#,
                #"{"url": "http://127.0.0.1:9/x", "secrets": "whsec_abc"}"#,
                #"{"url": "http://127.0.0.1:9/x", "secrets": ["not-a-secret"]}"#,
                #"{"url": "ftp://127.0.0.1/x", "secrets": ["\#(Self.secret)"]}"#,
                #"{"url": "http://127.0.0.1:9/x", "secrets": ["\#(Self.secret)"], "events": ["saga.nope"]}"#,
                #"{"url": "http://127.0.0.1:9/x", "secrets": ["\#(Self.secret)"], "color": "red"}"#,
            ]
            for body in bodies {
                let response = try await api.post("/v1/webhooks", body, token: admin)
                #expect(response.status == .badRequest, "\(body) → \(response.status) \(response.text)")
                #expect(!response.text.contains(Self.secret))
            }
            #expect(try await api.get("/v1/webhooks/deliveries?limit=0").status == .badRequest)
            #expect(try await api.get("/v1/webhooks/deliveries?failed=maybe").status == .badRequest)
            #expect(try await api.get("/v1/webhooks/deliveries?color=red").status == .badRequest)
            #expect(try await api.post("/v1/webhooks/replay", "{}", token: admin).status == .badRequest)
            #expect(try await api.get("/v1/webhooks").json?["webhooks"] == [])
        }
    }

    @Test func aReadOnlyServerRefusesChanges() async throws {
        let fixture = try ServerFixture(readOnly: true)
        try await fixture.test { api in
            let response = try await api.post("/v1/webhooks", Self.addBody(), token: ServerFixture.adminToken)
            #expect(response.status == .forbidden && response.errorCode == "read_only", "\(response.text)")
            #expect(try await api.get("/v1/webhooks").status == .ok)
        }
    }

    @Test func failedDeliveriesAreListedAndReplayed() async throws {
        let fixture = try ServerFixture()
        let store = try #require(fixture.engine.store as? any SagaStoreWebhooks)
        try await fixture.test { api in
            let admin = ServerFixture.adminToken
            let added = try await api.post("/v1/webhooks", Self.addBody(), token: admin)
            let subscription = try #require(try await store.webhookSubscriptions().first)
            #expect(added.json?["id"]?.stringValue == subscription.id)
            try await fixture.runSaga(["orderId": "o-1"], id: "s-1")
            // Queue the feed as the delivery service would, and fail the delivery for good.
            let feed = try await store.webhookFeed(after: subscription.position, limit: 100)
            let now = Date()
            let deliveries = feed.entries.flatMap { SagaWebhookEvent.deliveries(for: subscription, entry: $0, now: now) }
            #expect(deliveries.map(\.type) == [.sagaCompleted])
            #expect(try await store.enqueueWebhookDeliveries(deliveries, subscriptionID: subscription.id, from: subscription.position, to: feed.end, now: now))
            let claimed = try await store.claimWebhookDeliveries(owner: "t", now: now, leaseUntil: now.addingTimeInterval(30), limit: 10)
            let delivery = try #require(claimed.first)
            _ = try await store.finishWebhookDelivery(id: delivery.id, owner: "t", outcome: .failed(status: 500, error: "HTTP 500"))

            let all = try await api.get("/v1/webhooks/deliveries")
            #expect(all.status == .ok, "\(all.text)")
            #expect(all.json?["deliveries"]?.arrayValue?.count == 1)
            let failed = try await api.get("/v1/webhooks/deliveries?failed=true&subscription=\(subscription.id)")
            let item = try #require(failed.json?["deliveries"]?.arrayValue?.first)
            #expect(item["id"]?.stringValue == delivery.id)
            #expect(item["state"] == "failed" && item["sagaId"] == "s-1" && item["lastStatus"] == 500)

            #expect(try await api.post("/v1/webhooks/deliveries/\(delivery.id)/replay", nil, token: ServerFixture.operatorToken).status == .forbidden)
            let replayed = try await api.post("/v1/webhooks/deliveries/\(delivery.id)/replay", nil, token: admin)
            #expect(replayed.status == .ok && replayed.json?["replayed"] == 1, "\(replayed.text)")
            #expect(try await api.get("/v1/webhooks/deliveries?failed=true").json?["deliveries"] == [])
            // Still pending: replaying it again finds nothing to replay.
            let twice = try await api.post("/v1/webhooks/deliveries/\(delivery.id)/replay", nil, token: admin)
            #expect(twice.status == .notFound, "\(twice.text)")
            let since = try await api.post("/v1/webhooks/replay", #"{"since": "1h"}"#, token: admin)
            #expect(since.status == .ok && since.json?["replayed"] == 0, "\(since.text)")
        }
    }
}
