public import Foundation

/// A store that keeps webhook subscriptions and deliveries, and reads its journal in commit order: an optional
/// capability (`SagaWebhookService` and `saga webhooks` need it).
///
/// The contract:
/// 1. The journal is the outbox: ``webhookFeed(after:limit:)`` returns committed journal events, in the order their
///    commits happened, each with a position; an event is never returned before its commit, and every committed
///    event that publishes lifecycle events gets a position greater than those of earlier commits.
/// 2. ``enqueueWebhookDeliveries(_:subscriptionID:from:to:now:)`` inserts deliveries and moves the subscription's
///    position atomically, and only if the position is still `from` (compare-and-set): of two workers that read
///    the same feed, one queues it. A delivery whose id exists is left as it is.
/// 3. ``claimWebhookDeliveries(owner:now:leaseUntil:limit:)`` leases due deliveries of active subscriptions, the
///    first pending one of each (subscription, saga) only, so a saga's events go out in order; a delivery leased
///    by a live worker is never handed to another.
/// 4. ``finishWebhookDelivery(id:owner:outcome:)`` records an attempt only while `owner` still holds the lease.
/// 5. Retention keeps the journal events a subscription that is not disabled has not queued yet, and the sagas of
///    pending deliveries.
///
/// A store where concurrent transactions commit in an order other than the one they were numbered in (PostgreSQL's
/// sequences) must not hand out a position before every lower one is committed: number feed rows under one lock
/// taken at commit, or read only positions below the oldest transaction still in flight.
public protocol SagaStoreWebhooks: SagaStore {
    /// Stores a new subscription; its position is the end of the journal (it receives events committed from now).
    func addWebhookSubscription(_ subscription: SagaWebhookSubscription) async throws -> SagaWebhookSubscription

    /// Every subscription, oldest first.
    func webhookSubscriptions() async throws -> [SagaWebhookSubscription]

    /// Deletes a subscription and its deliveries.
    ///
    /// - Throws: `.webhookNotFound` when there is no such subscription.
    func removeWebhookSubscription(id: String) async throws

    /// Sets a subscription's state (and why). Resuming clears `failingSince`.
    ///
    /// - Throws: `.webhookNotFound` when there is no such subscription.
    func setWebhookSubscriptionState(id: String, state: SagaWebhookSubscription.State, reason: String?) async throws

    /// Replaces a subscription's signing secrets (rotation); deliveries sent from then on are signed with them.
    ///
    /// - Throws: `.webhookNotFound` when there is no such subscription.
    func setWebhookSecrets(id: String, secrets: [String]) async throws

    /// Committed journal events that publish lifecycle events, past `position`, in commit order: those among the
    /// next `limit` positions, and the last of those positions (`end`, `position` when there are none). An event
    /// that cannot be read is left out of `entries` but not of `end`, so a subscription never stops at it.
    func webhookFeed(after position: Int64, limit: Int) async throws -> (entries: [SagaWebhookFeedEntry], end: Int64)

    /// Queues `deliveries` for a subscription and moves its position from `from` to `to`, if it is still `from`.
    ///
    /// - Returns: whether this call moved the position (`false`: another worker queued that part of the feed).
    func enqueueWebhookDeliveries(
        _ deliveries: [SagaWebhookDelivery],
        subscriptionID: String,
        from: Int64,
        to: Int64,
        now: Date
    ) async throws -> Bool

    /// Leases up to `limit` due deliveries to `owner` until `leaseUntil`, in commit order.
    func claimWebhookDeliveries(owner: String, now: Date, leaseUntil: Date, limit: Int) async throws
        -> [SagaWebhookDelivery]

    /// Records the outcome of an attempt and releases the lease; updates the subscription's `failingSince` and
    /// `lastSuccessAt`.
    ///
    /// - Returns: the subscription after the update, or `nil` when `owner` no longer held the lease (nothing
    ///   was written).
    func finishWebhookDelivery(id: String, owner: String, outcome: SagaWebhookDelivery.Outcome) async throws
        -> SagaWebhookSubscription?

    /// Deliveries matching a query, newest first.
    func webhookDeliveries(_ query: SagaWebhookDeliveryQuery) async throws -> [SagaWebhookDelivery]

    /// Makes deliveries pending again with a fresh schedule (attempts reset): those named, or those queued at or
    /// after `since`, that are `failed` or `delivered`.
    ///
    /// - Returns: how many were requeued.
    func replayWebhookDeliveries(ids: [String], since: Date?, now: Date) async throws -> Int

    /// How many deliveries are due at `now` (pending, of an active subscription, the first pending one of their
    /// saga, leased or not: an attempt in flight counts), and how many
    /// journal events some active subscription has not queued yet: `saga worker --until-idle` waits for both to
    /// be zero.
    func webhookBacklog(now: Date) async throws -> (due: Int, unqueued: Int)
}
