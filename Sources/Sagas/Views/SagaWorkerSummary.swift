public import Foundation

/// A worker as the journal sees it: a lease holder, with the sagas it holds (`saga workers`, `GET /v1/workers`).
///
/// Workers are known by their leases, and on a store that keeps sightings (`SagaStoreWorkers`) by those too: a
/// worker that holds no saga right now is listed when it was seen within the last hour. A worker whose leases all
/// expired is listed as `expired` (it stopped renewing: frozen, cut off, or dead) until another worker takes its
/// sagas over; one that ran on this machine and whose process is gone is listed as `gone`.
public struct SagaWorkerSummary: Codable, Sendable, Hashable {
    /// How a worker's leases look, as of a given time.
    public enum State: String, Codable, Sendable, Hashable, CaseIterable {
        /// At least one of its leases has not expired.
        case live
        /// All of its leases expired: the sagas pass to another worker at its next claim.
        case expired
        /// It ran on this host, in this PID namespace, and its process no longer exists (`WorkerIdentity`).
        case gone
        /// It stopped gracefully (known from its sightings, `SagaStoreWorkers`).
        case stopped
    }

    /// The worker id its leases carry (`HOST:PID:NONCE:…`, or a name chosen by hand).
    public var id: String
    /// The host and process the id names, when it is in the `WorkerIdentity` form.
    public var host: String?
    public var pid: Int32?
    /// The sagas it holds, oldest first.
    public var sagas: [String]
    /// When its latest lease ends.
    public var leaseExpiresAt: Date?
    /// The latest progress it journaled (the newest `updatedAt` of its sagas).
    public var lastProgressAt: Date?
    public var state: State
    /// When it started, and when it was last seen, from its sightings (`SagaStoreWorkers`); `nil` on a store that
    /// keeps none.
    public var since: Date?
    public var lastSeenAt: Date?

    public init(
        id: String,
        host: String?,
        pid: Int32?,
        sagas: [String],
        leaseExpiresAt: Date?,
        lastProgressAt: Date?,
        state: State
    ) {
        self.id = id
        self.host = host
        self.pid = pid
        self.sagas = sagas
        self.leaseExpiresAt = leaseExpiresAt
        self.lastProgressAt = lastProgressAt
        self.state = state
    }

    /// The `--json` / HTTP shape (its `Encodable` encoding): `{"id", "host", "pid", "state", "sagas": [...],
    /// "held", "leaseExpiresAt", "lastProgressAt", "since", "lastSeenAt"}`.
    public func json(now: Date) -> JSONValue {
        (try? JSONValueEncoder().encode(self)) ?? .null
    }

    enum CodingKeys: String, CodingKey {
        case id, host, pid, state, held, sagas, leaseExpiresAt, lastProgressAt, since, lastSeenAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(host, forKey: .host)
        try c.encode(pid.map { Int($0) }, forKey: .pid)
        try c.encode(state.rawValue, forKey: .state)
        try c.encode(sagas.count, forKey: .held)
        try c.encode(sagas, forKey: .sagas)
        try c.encode(leaseExpiresAt.map(SagaTime.format), forKey: .leaseExpiresAt)
        try c.encode(lastProgressAt.map(SagaTime.format), forKey: .lastProgressAt)
        try c.encode(since.map(SagaTime.format), forKey: .since)
        try c.encode(lastSeenAt.map(SagaTime.format), forKey: .lastSeenAt)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        pid = try c.decodeIfPresent(Int32.self, forKey: .pid)
        state = try c.decode(State.self, forKey: .state)
        sagas = try c.decode([String].self, forKey: .sagas)
        leaseExpiresAt = try SagaTime.decodeIfPresent(c, .leaseExpiresAt)
        lastProgressAt = try SagaTime.decodeIfPresent(c, .lastProgressAt)
        since = try SagaTime.decodeIfPresent(c, .since)
        lastSeenAt = try SagaTime.decodeIfPresent(c, .lastSeenAt)
    }

    /// The workers that hold leases on runnable sagas, from `leased` (the store's `leasedSagas`), most sagas first.
    public static func collect(_ leased: [SagaRecord], now: Date) -> [SagaWorkerSummary] {
        var byOwner: [String: [SagaRecord]] = [:]
        for record in leased {
            guard let owner = record.owner else { continue }
            byOwner[owner, default: []].append(record)
        }
        var workers: [SagaWorkerSummary] = []
        for (owner, records) in byOwner {
            let identity = WorkerIdentity(workerID: owner)
            let expiries: [Date] = records.compactMap(\.leaseExpiresAt)
            let latest: Date? = expiries.max()
            let live: Bool = records.contains { $0.hasLiveLease(now: now) }
            let state: State
            if WorkerIdentity.isCertainlyGone(owner) {
                state = .gone
            } else if live {
                state = .live
            } else {
                state = .expired
            }
            workers.append(
                SagaWorkerSummary(
                    id: owner,
                    host: identity?.host,
                    pid: identity?.pid,
                    sagas: records.sorted { $0.createdAt < $1.createdAt }.map(\.id),
                    leaseExpiresAt: latest,
                    lastProgressAt: records.map(\.updatedAt).max(),
                    state: state
                )
            )
        }
        return workers.sorted { ($0.sagas.count, $1.id) > ($1.sagas.count, $0.id) }
    }
}

extension SagaStore {
    /// The workers that hold leases now (``SagaWorkerSummary``), from at most `limit` leased sagas; on a store
    /// that keeps sightings (`SagaStoreWorkers`), also those seen within the last hour that hold nothing.
    public func workers(now: Date, limit: Int = 100_000) async throws -> [SagaWorkerSummary] {
        let leased = SagaWorkerSummary.collect(try await leasedSagas(limit: limit), now: now)
        guard let sightings = self as? any SagaStoreWorkers else { return leased }
        let seen = try await sightings.workerSightings(seenSince: now.addingTimeInterval(-SagaWorkerSighting.listedFor))
        return SagaWorkerSummary.merge(leased, sightings: seen, now: now)
    }
}
