public import Foundation

/// A saga as one row: what `saga list --json` prints per saga, `GET /v1/sagas` returns in `sagas`, and the saga
/// commands (`cancel`, `terminate`, `rerun`, `resolve`) print after acting. One shape, documented in Docs/cli.md;
/// absent optional values are `null`, except `damaged` and the cancel request, which appear only when there is one.
public struct SagaSummaryView: Codable, Sendable, Hashable {
    public var id: String
    public var workflow: String
    public var version: Int
    public var status: SagaStatus
    public var createdAt: Date
    public var updatedAt: Date
    /// Runnable with nobody working on it (``SagaRecord/isStuck(now:threshold:)``), when the view was made.
    public var stuck: Bool
    public var currentStep: String?
    public var lastError: String?
    /// The worker that holds (or last held) the lease.
    public var owner: String?
    /// The business key.
    public var key: String?
    /// The saga this one reruns (`saga rerun`).
    public var rerunOf: String?
    /// Why the stored row could not be read whole (a damaged row): then the other fields are what could be read.
    public var damaged: String?
    public var cancelRequestedAt: Date?
    public var cancelReason: String?
    /// Who asked for the cancel (`saga cancel --by`, the API token's name); absent for requests journaled before
    /// it was recorded.
    public var cancelBy: String?

    /// The view of a saga's record at `now`.
    public init(_ record: SagaRecord, now: Date) {
        id = record.id
        workflow = record.workflow
        version = record.version
        status = record.status
        createdAt = record.createdAt
        updatedAt = record.updatedAt
        stuck = record.isStuck(now: now)
        currentStep = record.currentStep
        lastError = record.lastError
        owner = record.owner
        key = record.key
        rerunOf = record.rerunOf
        damaged = record.damage
        cancelRequestedAt = record.cancelRequestedAt
        cancelReason = record.cancelReason
        cancelBy = record.cancelBy
    }

    enum CodingKeys: String, CodingKey {
        case id, workflow, version, status, createdAt, updatedAt, stuck, currentStep, lastError, owner, key, rerunOf
        case damaged, cancelRequestedAt, cancelReason, cancelBy
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(workflow, forKey: .workflow)
        try c.encode(version, forKey: .version)
        try c.encode(status.rawValue, forKey: .status)
        try c.encode(SagaTime.format(createdAt), forKey: .createdAt)
        try c.encode(SagaTime.format(updatedAt), forKey: .updatedAt)
        try c.encode(stuck, forKey: .stuck)
        try c.encode(currentStep, forKey: .currentStep)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(owner, forKey: .owner)
        try c.encode(key, forKey: .key)
        try c.encode(rerunOf, forKey: .rerunOf)
        try c.encodeIfPresent(damaged, forKey: .damaged)
        if let cancelRequestedAt {
            try c.encode(SagaTime.format(cancelRequestedAt), forKey: .cancelRequestedAt)
            try c.encode(cancelReason, forKey: .cancelReason)
            try c.encodeIfPresent(cancelBy, forKey: .cancelBy)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        workflow = try c.decode(String.self, forKey: .workflow)
        version = try c.decode(Int.self, forKey: .version)
        status = try c.decode(SagaStatus.self, forKey: .status)
        createdAt = try SagaTime.decode(c, .createdAt)
        updatedAt = try SagaTime.decode(c, .updatedAt)
        stuck = try c.decode(Bool.self, forKey: .stuck)
        currentStep = try c.decodeIfPresent(String.self, forKey: .currentStep)
        lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
        owner = try c.decodeIfPresent(String.self, forKey: .owner)
        key = try c.decodeIfPresent(String.self, forKey: .key)
        rerunOf = try c.decodeIfPresent(String.self, forKey: .rerunOf)
        damaged = try c.decodeIfPresent(String.self, forKey: .damaged)
        cancelRequestedAt = try SagaTime.decodeIfPresent(c, .cancelRequestedAt)
        cancelReason = try c.decodeIfPresent(String.self, forKey: .cancelReason)
        cancelBy = try c.decodeIfPresent(String.self, forKey: .cancelBy)
    }
}

extension SagaTime {
    /// A time a view wrote with ``format(_:)``.
    static func decode<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> Date {
        let text = try container.decode(String.self, forKey: key)
        guard let date = SagaTimer.parseTime(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container, debugDescription: "'\(text)' is not an ISO 8601 time"
            )
        }
        return date
    }

    static func decodeIfPresent<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> Date? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        return try decode(container, key)
    }
}

extension SagaRecord {
    /// The object `saga list --json` prints for a saga: ``SagaSummaryView``.
    public func summaryJSON(now: Date) -> JSONValue {
        (try? JSONValueEncoder().encode(SagaSummaryView(self, now: now))) ?? .null
    }
}
