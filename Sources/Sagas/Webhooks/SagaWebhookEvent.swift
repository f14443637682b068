public import Foundation

/// The lifecycle events a webhook subscription can receive (`Docs/events.md`).
public enum SagaWebhookEventType: String, Sendable, Hashable, CaseIterable, Codable {
    case sagaStarted = "saga.started"
    case sagaCompleted = "saga.completed"
    case sagaCompensating = "saga.compensating"
    case sagaCompensated = "saga.compensated"
    case sagaNeedsIntervention = "saga.needs_intervention"
    case sagaFailed = "saga.failed"
    case sagaTerminated = "saga.terminated"
    case interventionOpened = "intervention.opened"
    case interventionResolved = "intervention.resolved"

    /// The lifecycle events a journal event publishes, in order: none for step events, two for
    /// `saga.needs_intervention` (the saga's status, and the intervention it opens).
    public static func derived(from type: SagaEventType) -> [SagaWebhookEventType] {
        switch type {
        case .sagaStarted: [.sagaStarted]
        case .sagaCompleted: [.sagaCompleted]
        case .sagaCompensating: [.sagaCompensating]
        case .sagaCompensated: [.sagaCompensated]
        case .sagaNeedsIntervention: [.sagaNeedsIntervention, .interventionOpened]
        case .sagaFailed: [.sagaFailed]
        case .sagaTerminated: [.sagaTerminated]
        case .interventionResolved: [.interventionResolved]
        default: []
        }
    }

    /// Parses a comma-separated list (`saga.completed,saga.failed`).
    ///
    /// - Throws: `.invalidArgument` naming an unknown type and listing the known ones.
    public static func parseList(_ text: String) throws -> [SagaWebhookEventType] {
        try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map {
            name in
            guard let type = SagaWebhookEventType(rawValue: name) else {
                throw SagaError(
                    .invalidArgument,
                    "unknown event type '\(EchoedText.clip(name))'; expected one of "
                        + allCases.map(\.rawValue).joined(separator: ", ")
                )
            }
            return type
        }
    }
}

/// A committed journal event at its position in the commit order, with what a lifecycle event says of its saga.
public struct SagaWebhookFeedEntry: Sendable, Hashable {
    /// The position in the commit order: increasing with the commit that wrote the event.
    public var position: Int64
    public var sagaID: String
    public var workflow: String
    public var version: Int
    public var key: String?
    /// The saga's status when the entry was read.
    public var status: SagaStatus
    public var event: SagaEvent

    public init(
        position: Int64,
        sagaID: String,
        workflow: String,
        version: Int,
        key: String?,
        status: SagaStatus,
        event: SagaEvent
    ) {
        self.position = position
        self.sagaID = sagaID
        self.workflow = workflow
        self.version = version
        self.key = key
        self.status = status
        self.event = event
    }
}

/// Builds the body and the `webhook-id` of a lifecycle event.
public enum SagaWebhookEvent {
    /// The status a lifecycle event reports: the one the event leads to, or, for `intervention.resolved`, the
    /// saga's status when the event was queued.
    static func status(of type: SagaWebhookEventType, entry: SagaWebhookFeedEntry) -> SagaStatus {
        switch type {
        case .sagaStarted: .pending
        case .sagaCompleted: .completed
        case .sagaCompensating: .compensating
        case .sagaCompensated: .compensated
        case .sagaNeedsIntervention, .interventionOpened: .needsIntervention
        case .sagaFailed, .sagaTerminated: .failed
        case .interventionResolved: entry.status
        }
    }

    /// The JSON body of a lifecycle event: `type`, `timestamp` (when the journal event was written) and `data`
    /// (the saga's identity, status, step and reason, and its link). Keys are sorted, so the text is stable.
    public static func body(_ type: SagaWebhookEventType, entry: SagaWebhookFeedEntry) -> String {
        let event = entry.event
        var data: [String: JSONValue] = [
            "sagaId": .string(entry.sagaID),
            "workflow": .string(entry.workflow),
            "version": .integer(entry.version),
            "status": .string(status(of: type, entry: entry).rawValue),
            "seq": .integer(event.seq),
            "link": .string("/v1/sagas/\(percentEncoded(entry.sagaID))"),
        ]
        if let key = entry.key { data["businessKey"] = .string(key) }
        if let step = event.step { data["step"] = .string(step) }
        if let reason = event.error { data["reason"] = .string(reason) }
        if type == .interventionResolved, let how = event.data {
            for name in ["action", "by", "note"] {
                if let value = how[name] { data[name] = value }
            }
        }
        let body: JSONValue = .object([
            "type": .string(type.rawValue),
            "timestamp": .string(SagaTime.format(event.at)),
            "data": .object(data),
        ])
        return body.jsonString
    }

    /// The deliveries `entry` makes for `subscription` (none when it does not want them), queued at `now`.
    public static func deliveries(
        for subscription: SagaWebhookSubscription,
        entry: SagaWebhookFeedEntry,
        now: Date
    ) -> [SagaWebhookDelivery] {
        SagaWebhookEventType.derived(from: entry.event.type).enumerated().compactMap { ordinal, type in
            guard subscription.wants(type, workflow: entry.workflow) else { return nil }
            return SagaWebhookDelivery(
                id: messageID(subscriptionID: subscription.id, sagaID: entry.sagaID, seq: entry.event.seq, type: type),
                subscriptionID: subscription.id,
                position: entry.position,
                ordinal: ordinal,
                sagaID: entry.sagaID,
                seq: entry.event.seq,
                type: type,
                body: body(type, entry: entry),
                nextAttemptAt: now,
                createdAt: now
            )
        }
    }

    /// `msg_` and 32 hex digits: two FNV-1a hashes of subscription, saga, event number and type. The same inputs
    /// always give the same id, whichever worker queues the event and however often it is retried.
    public static func messageID(subscriptionID: String, sagaID: String, seq: Int, type: SagaWebhookEventType) -> String {
        let text = Array("\(subscriptionID)\u{0}\(sagaID)\u{0}\(seq)\u{0}\(type.rawValue)".utf8)
        func fnv(_ basis: UInt64) -> String {
            var hash = basis
            for byte in text {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            let hex = String(hash, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
        return "msg_" + fnv(0xcbf2_9ce4_8422_2325) + fnv(0x6c62_272e_07bb_0142)
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
