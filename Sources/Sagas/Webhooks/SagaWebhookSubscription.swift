public import Foundation

/// A webhook subscription kept in the database: where lifecycle events are POSTed, signed with which secrets.
///
/// The secrets are stored as given (`whsec_` + base64) and used to sign; they are never logged, never written to
/// the journal, and shown only masked (``maskedSecrets``).
public struct SagaWebhookSubscription: Sendable, Hashable {
    /// Whether the subscription receives events.
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Events are published and delivered.
        case active
        /// Paused by an operator (`saga webhooks pause`) or because it failed for too long: events are still
        /// queued for it (its position keeps its place) and delivered when it is resumed.
        case paused
        /// The receiver answered 410 Gone: nothing more is queued or delivered until it is resumed.
        case disabled
    }

    /// `wh_` and 16 hex digits.
    public var id: String
    /// The `http` or `https` address events are POSTed to.
    public var url: String
    /// The signing secrets (`whsec_…`); every delivery is signed with each of them (rotation).
    public var secrets: [String]
    /// The lifecycle event types it receives (``SagaWebhookEventType``); empty means all.
    public var eventTypes: [SagaWebhookEventType]
    /// Only sagas of this workflow, when set.
    public var workflow: String?
    public var state: State
    /// Why the subscription is paused or disabled (`paused by operator`, `410 Gone`, `failing since …`).
    public var stateReason: String?
    /// The position in the journal's commit order up to which events have been queued for this subscription.
    public var position: Int64
    public var createdAt: Date
    /// When deliveries to it started failing without a success since, if they are failing.
    public var failingSince: Date?
    /// The last 2xx it answered.
    public var lastSuccessAt: Date?

    public init(
        id: String,
        url: String,
        secrets: [String],
        eventTypes: [SagaWebhookEventType] = [],
        workflow: String? = nil,
        state: State = .active,
        stateReason: String? = nil,
        position: Int64 = 0,
        createdAt: Date,
        failingSince: Date? = nil,
        lastSuccessAt: Date? = nil
    ) {
        self.id = id
        self.url = url
        self.secrets = secrets
        self.eventTypes = eventTypes
        self.workflow = workflow
        self.state = state
        self.stateReason = stateReason
        self.position = position
        self.createdAt = createdAt
        self.failingSince = failingSince
        self.lastSuccessAt = lastSuccessAt
    }

    /// Whether the subscription receives events of `type` from sagas of `workflow`.
    public func wants(_ type: SagaWebhookEventType, workflow name: String) -> Bool {
        if let workflow, workflow != name { return false }
        return eventTypes.isEmpty || eventTypes.contains(type)
    }

    /// The secrets as they may be shown: `whsec_…` and their last four characters.
    public var maskedSecrets: [String] { secrets.map(Self.mask) }

    /// `whsec_…abcd`: a secret as it may be shown.
    public static func mask(_ secret: String) -> String {
        "whsec_…" + String(secret.suffix(4))
    }

    /// Checks that `secret` is `whsec_` followed by the base64 of at least 24 bytes (the Standard Webhooks form)
    /// and returns those bytes.
    ///
    /// - Throws: `.invalidArgument`, without echoing the secret.
    public static func secretBytes(_ secret: String) throws -> [UInt8] {
        guard secret.hasPrefix("whsec_"), let data = Data(base64Encoded: String(secret.dropFirst(6))) else {
            throw SagaError(
                .invalidArgument,
                "a webhook secret must be whsec_ followed by base64 (make one: echo whsec_$(openssl rand -base64 32))"
            )
        }
        guard data.count >= 24 else {
            throw SagaError(.invalidArgument, "a webhook secret must hold at least 24 bytes (32 base64 characters); "
                + "this one holds \(data.count)")
        }
        return Array(data)
    }
}
