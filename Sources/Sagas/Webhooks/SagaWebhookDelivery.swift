public import Foundation

/// One lifecycle event queued for one subscription: the unit that is POSTed, retried, failed and replayed.
public struct SagaWebhookDelivery: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Waiting for its next attempt (``SagaWebhookDelivery/nextAttemptAt``).
        case pending
        /// A receiver answered 2xx.
        case delivered
        /// Every attempt of the retry schedule failed, or the subscription was disabled: kept, and replayable.
        case failed
    }

    /// The `webhook-id` header: `msg_` + a digest of subscription, saga, event number and type; the same across
    /// retries and replays, so a receiver can drop a duplicate.
    public var id: String
    public var subscriptionID: String
    /// The position of the journal event in the commit order.
    public var position: Int64
    /// Which of the lifecycle events derived from that journal event (0, 1): orders two events of one position.
    public var ordinal: Int
    public var sagaID: String
    /// The journal event's number within its saga.
    public var seq: Int
    public var type: SagaWebhookEventType
    /// The JSON body, fixed when the event was queued (every retry sends the same bytes).
    public var body: String
    public var state: State
    /// Attempts made so far.
    public var attempts: Int
    public var nextAttemptAt: Date
    public var createdAt: Date
    public var deliveredAt: Date?
    /// The HTTP status of the last attempt, if it got an answer.
    public var lastStatus: Int?
    /// What went wrong in the last attempt.
    public var lastError: String?

    public init(
        id: String,
        subscriptionID: String,
        position: Int64,
        ordinal: Int = 0,
        sagaID: String,
        seq: Int,
        type: SagaWebhookEventType,
        body: String,
        state: State = .pending,
        attempts: Int = 0,
        nextAttemptAt: Date,
        createdAt: Date,
        deliveredAt: Date? = nil,
        lastStatus: Int? = nil,
        lastError: String? = nil
    ) {
        self.id = id
        self.subscriptionID = subscriptionID
        self.position = position
        self.ordinal = ordinal
        self.sagaID = sagaID
        self.seq = seq
        self.type = type
        self.body = body
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
        self.lastStatus = lastStatus
        self.lastError = lastError
    }

    /// How an attempt ended, as the delivery service reports it to the store.
    public enum Outcome: Sendable, Hashable {
        /// 2xx.
        case delivered(status: Int, at: Date)
        /// Try again at `next`.
        case retry(status: Int?, error: String, next: Date)
        /// No more attempts (schedule exhausted, or 410).
        case failed(status: Int?, error: String)
    }
}

/// Which deliveries `SagaStoreWebhooks.webhookDeliveries` returns, newest first.
public struct SagaWebhookDeliveryQuery: Sendable, Hashable {
    public var states: [SagaWebhookDelivery.State]
    public var subscriptionID: String?
    /// Queued at or after this time.
    public var since: Date?
    public var limit: Int

    public init(
        states: [SagaWebhookDelivery.State] = [],
        subscriptionID: String? = nil,
        since: Date? = nil,
        limit: Int = 100
    ) {
        self.states = states
        self.subscriptionID = subscriptionID
        self.since = since
        self.limit = limit
    }
}
