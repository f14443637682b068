public import Foundation

/// The client API of webhook subscriptions: what `saga webhooks` does, for embedders.
///
/// ```swift
/// let webhooks = try SagaWebhooks(store: store)
/// let subscription = try await webhooks.add(url: "https://hooks.example.com/sagas", secrets: ["whsec_…"])
/// ```
public struct SagaWebhooks: Sendable {
    public let store: any SagaStoreWebhooks

    /// - Throws: `.invalidArgument` when the store keeps no webhooks.
    public init(store: any SagaStore) throws {
        guard let store = store as? any SagaStoreWebhooks else {
            throw SagaError(.invalidArgument, "this store keeps no webhook subscriptions")
        }
        self.store = store
    }

    /// Adds a subscription that receives the events committed from now on.
    ///
    /// - Parameters:
    ///   - url: An `http` or `https` address with a host.
    ///   - secrets: One or more `whsec_…` secrets (several while rotating).
    ///   - eventTypes: The events it wants; empty means all.
    ///   - workflow: Only sagas of this workflow.
    /// - Throws: `.invalidArgument` for a bad address or secret (the secret is never echoed).
    public func add(
        url: String,
        secrets: [String],
        eventTypes: [SagaWebhookEventType] = [],
        workflow: String? = nil,
        now: Date = Date()
    ) async throws -> SagaWebhookSubscription {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty
        else {
            throw SagaError(.invalidArgument, "webhook address '\(EchoedText.clip(url))' is not an http or https URL")
        }
        guard !secrets.isEmpty else { throw SagaError(.invalidArgument, "a webhook needs at least one secret") }
        for secret in secrets { _ = try SagaWebhookSubscription.secretBytes(secret) }
        var random = SystemRandomNumberGenerator()
        let hex = String(random.next() as UInt64, radix: 16)
        let subscription = SagaWebhookSubscription(
            id: "wh_" + String(repeating: "0", count: 16 - hex.count) + hex,
            url: url,
            secrets: secrets,
            eventTypes: eventTypes,
            workflow: workflow,
            createdAt: now
        )
        return try await store.addWebhookSubscription(subscription)
    }

    /// Every subscription, oldest first.
    public func list() async throws -> [SagaWebhookSubscription] {
        try await store.webhookSubscriptions()
    }

    /// Deletes a subscription and its deliveries.
    public func remove(id: String) async throws {
        try await store.removeWebhookSubscription(id: id)
    }

    /// Stops delivering to a subscription; its events keep being queued and go out on `resume`.
    public func pause(id: String, reason: String = "paused by an operator") async throws {
        try await store.setWebhookSubscriptionState(id: id, state: .paused, reason: reason)
    }

    /// Delivers to a paused or disabled subscription again.
    public func resume(id: String) async throws {
        try await store.setWebhookSubscriptionState(id: id, state: .active, reason: nil)
    }

    /// Replaces a subscription's secrets: give the new one and the old one while the receiver moves over (each
    /// request then carries both signatures), then the new one alone.
    ///
    /// - Throws: `.invalidArgument` for a bad secret (never echoed); `.webhookNotFound`.
    public func setSecrets(id: String, secrets: [String]) async throws {
        guard !secrets.isEmpty else { throw SagaError(.invalidArgument, "a webhook needs at least one secret") }
        for secret in secrets { _ = try SagaWebhookSubscription.secretBytes(secret) }
        try await store.setWebhookSecrets(id: id, secrets: secrets)
    }

    /// Deliveries, newest first.
    public func deliveries(_ query: SagaWebhookDeliveryQuery = .init()) async throws -> [SagaWebhookDelivery] {
        try await store.webhookDeliveries(query)
    }

    /// Sends a delivery again (same `webhook-id`, same body, fresh retry schedule).
    ///
    /// - Throws: `.webhookNotFound` when there is no such delivery or it is still pending.
    public func replay(deliveryID: String, now: Date = Date()) async throws {
        let count = try await store.replayWebhookDeliveries(ids: [deliveryID], since: nil, now: now)
        guard count == 1 else {
            throw SagaError(
                .webhookNotFound,
                "no delivered or failed webhook delivery has id '\(EchoedText.clip(deliveryID))'"
            )
        }
    }

    /// Sends again every delivered or failed delivery queued at or after `since`; returns how many.
    public func replay(since: Date, now: Date = Date()) async throws -> Int {
        try await store.replayWebhookDeliveries(ids: [], since: since, now: now)
    }
}
