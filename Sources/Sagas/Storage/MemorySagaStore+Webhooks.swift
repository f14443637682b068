public import Foundation

/// What `MemorySagaStore` keeps for webhooks: the lifecycle events in commit order, subscriptions, deliveries.
struct MemoryWebhookState: Sendable {
    struct FeedRow: Sendable {
        var position: Int64
        var sagaID: String
        var event: SagaEvent
    }

    struct Lease: Sendable {
        var owner: String
        var until: Date
    }

    var lastPosition: Int64 = 0
    var feed: [FeedRow] = []
    var subscriptions: [SagaWebhookSubscription] = []
    var deliveries: [String: SagaWebhookDelivery] = [:]
    var deliveryOrder: [String] = []
    var leases: [String: Lease] = [:]

    /// Gives each lifecycle journal event (`saga.*`, `intervention.*`) the next position: called with each write.
    mutating func recordCommitted(_ events: [SagaEvent], sagaID: String) {
        for event in events where event.type.rawValue.hasPrefix("saga.") || event.type.rawValue.hasPrefix("intervention.") {
            lastPosition += 1
            feed.append(FeedRow(position: lastPosition, sagaID: sagaID, event: event))
        }
    }

    /// Whether purging the saga would lose an event a subscription that is not disabled has not received.
    func holdsBack(sagaID: String) -> Bool {
        let behind = subscriptions.filter { $0.state != .disabled }.map(\.position).min() ?? Int64.max
        if feed.contains(where: { $0.sagaID == sagaID && $0.position > behind }) { return true }
        return deliveries.values.contains { $0.sagaID == sagaID && $0.state == .pending }
    }

    mutating func forget(sagaIDs: Set<String>) {
        feed.removeAll { sagaIDs.contains($0.sagaID) }
    }

    func index(of id: String) -> Int? {
        subscriptions.firstIndex { $0.id == id }
    }

    static func noSubscription(_ id: String) -> SagaError {
        SagaError(.webhookNotFound, "no webhook subscription has id '\(EchoedText.clip(id))'")
    }
}

// Webhooks in memory: the same contract as the SQLite store (`SagaStoreWebhooks`).
extension MemorySagaStore: SagaStoreWebhooks {
    public func addWebhookSubscription(_ subscription: SagaWebhookSubscription) -> SagaWebhookSubscription {
        var added = subscription
        added.position = webhooks.lastPosition
        webhooks.subscriptions.append(added)
        return added
    }

    public func webhookSubscriptions() -> [SagaWebhookSubscription] {
        webhooks.subscriptions
    }

    public func removeWebhookSubscription(id: String) throws {
        guard let i = webhooks.index(of: id) else { throw MemoryWebhookState.noSubscription(id) }
        webhooks.subscriptions.remove(at: i)
        let gone = Set(webhooks.deliveries.values.filter { $0.subscriptionID == id }.map(\.id))
        for d in gone {
            webhooks.deliveries[d] = nil
            webhooks.leases[d] = nil
        }
        webhooks.deliveryOrder.removeAll { gone.contains($0) }
    }

    public func setWebhookSubscriptionState(id: String, state: SagaWebhookSubscription.State, reason: String?) throws {
        guard let i = webhooks.index(of: id) else { throw MemoryWebhookState.noSubscription(id) }
        webhooks.subscriptions[i].state = state
        webhooks.subscriptions[i].stateReason = reason
        if state == .active { webhooks.subscriptions[i].failingSince = nil }
    }

    public func setWebhookSecrets(id: String, secrets: [String]) throws {
        guard let i = webhooks.index(of: id) else { throw MemoryWebhookState.noSubscription(id) }
        webhooks.subscriptions[i].secrets = secrets
    }

    public func webhookFeed(after position: Int64, limit: Int) -> (entries: [SagaWebhookFeedEntry], end: Int64) {
        var out: [SagaWebhookFeedEntry] = []
        var end = position
        var read = 0
        for row in webhooks.feed where row.position > position && read < limit {
            read += 1
            end = row.position
            guard let record = saga(id: row.sagaID) else { continue }
            out.append(SagaWebhookFeedEntry(
                position: row.position, sagaID: row.sagaID, workflow: record.workflow, version: record.version,
                key: record.key, status: record.status, event: row.event
            ))
        }
        return (out, end)
    }

    public func enqueueWebhookDeliveries(
        _ deliveries: [SagaWebhookDelivery],
        subscriptionID: String,
        from: Int64,
        to: Int64,
        now: Date
    ) -> Bool {
        guard let i = webhooks.index(of: subscriptionID), webhooks.subscriptions[i].position == from,
            webhooks.subscriptions[i].state != .disabled
        else { return false }
        webhooks.subscriptions[i].position = to
        for d in deliveries where webhooks.deliveries[d.id] == nil {
            var queued = d
            queued.subscriptionID = subscriptionID
            queued.state = .pending
            queued.attempts = 0
            webhooks.deliveries[d.id] = queued
            webhooks.deliveryOrder.append(d.id)
        }
        return true
    }

    public func claimWebhookDeliveries(owner: String, now: Date, leaseUntil: Date, limit: Int) -> [SagaWebhookDelivery] {
        let active = Set(webhooks.subscriptions.filter { $0.state == .active }.map(\.id))
        let pending = webhooks.deliveryOrder.compactMap { webhooks.deliveries[$0] }.filter { $0.state == .pending }
            .sorted { ($0.position, $0.ordinal) < ($1.position, $1.ordinal) }
        var firstOfSaga: Set<String> = []
        var claimed: [SagaWebhookDelivery] = []
        for d in pending {
            let key = d.subscriptionID + "\u{0}" + d.sagaID
            guard firstOfSaga.insert(key).inserted else { continue }
            guard claimed.count < limit, active.contains(d.subscriptionID), d.nextAttemptAt <= now else { continue }
            if let lease = webhooks.leases[d.id], lease.until > now { continue }
            webhooks.leases[d.id] = .init(owner: owner, until: leaseUntil)
            claimed.append(d)
        }
        return claimed
    }

    public func finishWebhookDelivery(id: String, owner: String, outcome: SagaWebhookDelivery.Outcome)
        -> SagaWebhookSubscription?
    {
        guard var d = webhooks.deliveries[id], d.state == .pending, webhooks.leases[id]?.owner == owner,
            let i = webhooks.index(of: d.subscriptionID)
        else { return nil }
        webhooks.leases[id] = nil
        d.attempts += 1
        switch outcome {
        case .delivered(let status, let at):
            d.state = .delivered
            d.deliveredAt = at
            d.lastStatus = status
            d.lastError = nil
            webhooks.subscriptions[i].failingSince = nil
            webhooks.subscriptions[i].lastSuccessAt = at
        case .retry(let status, let error, let next):
            d.nextAttemptAt = next
            d.lastStatus = status
            d.lastError = error
            if webhooks.subscriptions[i].failingSince == nil { webhooks.subscriptions[i].failingSince = Date() }
        case .failed(let status, let error):
            d.state = .failed
            d.lastStatus = status
            d.lastError = error
            if webhooks.subscriptions[i].failingSince == nil { webhooks.subscriptions[i].failingSince = Date() }
        }
        webhooks.deliveries[id] = d
        return webhooks.subscriptions[i]
    }

    public func webhookDeliveries(_ query: SagaWebhookDeliveryQuery) -> [SagaWebhookDelivery] {
        let matching = webhooks.deliveryOrder.reversed().compactMap { webhooks.deliveries[$0] }.filter { d in
            (query.states.isEmpty || query.states.contains(d.state))
                && (query.subscriptionID == nil || query.subscriptionID == d.subscriptionID)
                && (query.since.map { d.createdAt >= $0 } ?? true)
        }
        return Array(matching.prefix(query.limit))
    }

    public func replayWebhookDeliveries(ids: [String], since: Date?, now: Date) -> Int {
        var count = 0
        for id in webhooks.deliveryOrder {
            guard var d = webhooks.deliveries[id], d.state != .pending else { continue }
            guard ids.contains(id) || since.map({ d.createdAt >= $0 }) == true else { continue }
            d.state = .pending
            d.attempts = 0
            d.nextAttemptAt = now
            d.deliveredAt = nil
            webhooks.deliveries[id] = d
            webhooks.leases[id] = nil
            count += 1
        }
        return count
    }

    public func webhookBacklog(now: Date) -> (due: Int, unqueued: Int) {
        let active = Set(webhooks.subscriptions.filter { $0.state == .active }.map(\.id))
        let pending = webhooks.deliveryOrder.compactMap { webhooks.deliveries[$0] }.filter { $0.state == .pending }
            .sorted { ($0.position, $0.ordinal) < ($1.position, $1.ordinal) }
        var firstOfSaga: Set<String> = []
        var due = 0
        for d in pending where firstOfSaga.insert(d.subscriptionID + "\u{0}" + d.sagaID).inserted {
            if active.contains(d.subscriptionID) && d.nextAttemptAt <= now { due += 1 }
        }
        let behind = webhooks.subscriptions.filter { $0.state == .active }.map(\.position).min()
        let unqueued = behind.map { b in webhooks.feed.filter { $0.position > b }.count } ?? 0
        return (due, unqueued)
    }
}
