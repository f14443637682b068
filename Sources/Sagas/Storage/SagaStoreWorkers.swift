public import Foundation
import Logging
import Synchronization

/// A worker as its own sightings record it: when it started, when it was last seen, until when it promised to be
/// seen again, and when it stopped (``SagaStoreWorkers``).
public struct SagaWorkerSighting: Sendable, Hashable {
    public var id: String
    public var startedAt: Date
    public var seenAt: Date
    /// The worker is seen again before this time while it runs (its next sighting is due before).
    public var aliveUntil: Date
    /// Set when it stopped gracefully.
    public var stoppedAt: Date?

    public init(id: String, startedAt: Date, seenAt: Date, aliveUntil: Date, stoppedAt: Date? = nil) {
        self.id = id
        self.startedAt = startedAt
        self.seenAt = seenAt
        self.aliveUntil = aliveUntil
        self.stoppedAt = stoppedAt
    }
}

/// A store that keeps workers' sightings, so that `saga workers` lists a worker that holds no saga right now: an
/// optional capability (issue 15).
///
/// The contract:
/// 1. ``recordWorkerSighting(_:)`` writes the worker's row: inserted at its first sighting, then `seenAt` and
///    `aliveUntil` moved (never `startedAt`); a stopped row is started again. A worker writes it when it starts and
///    at most once per lease-renewal interval after, not per saga. It never extends a lease.
/// 2. ``recordWorkerStopped(id:at:)`` marks the row stopped (graceful stop).
/// 3. ``workerSightings(seenSince:)`` returns the rows seen at or after a time, oldest start first; rows seen
///    before ``SagaWorkerSighting/retention`` ago may be deleted.
public protocol SagaStoreWorkers: SagaStore {
    func recordWorkerSighting(_ sighting: SagaWorkerSighting) async throws
    func recordWorkerStopped(id: String, at: Date) async throws
    func workerSightings(seenSince: Date) async throws -> [SagaWorkerSighting]
}

extension SagaWorkerSighting {
    /// How long a worker not seen any more stays listed by `saga workers`: one hour (stopped or vanished alike).
    public static let listedFor: TimeInterval = 3600
    /// How long a sighting is kept at all: one day.
    public static let retention: TimeInterval = 86_400
}

extension SagaWorkerSummary {
    /// The lease-derived view (`leased`) merged with the workers' sightings: a worker seen within
    /// ``SagaWorkerSighting/listedFor`` is listed even when it holds nothing. A worker holding sagas keeps the
    /// state its leases give it (`gone` wins); an idle one is `live` until its `aliveUntil`, `stopped` once it
    /// stopped gracefully, `gone` when it ran on this host and its process no longer exists, else `expired`.
    public static func merge(_ leased: [SagaWorkerSummary], sightings: [SagaWorkerSighting], now: Date)
        -> [SagaWorkerSummary]
    {
        var merged: [SagaWorkerSummary] = []
        var byID: [String: SagaWorkerSighting] = [:]
        for sighting in sightings { byID[sighting.id] = sighting }
        for var worker in leased {
            if let sighting = byID.removeValue(forKey: worker.id) {
                worker.since = sighting.startedAt
                worker.lastSeenAt = sighting.seenAt
                if worker.state == .expired && sighting.stoppedAt == nil && sighting.aliveUntil > now {
                    worker.state = .live
                }
            }
            merged.append(worker)
        }
        for sighting in byID.values.sorted(by: { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }) {
            let identity = WorkerIdentity(workerID: sighting.id)
            let state: State
            if sighting.stoppedAt != nil {
                state = .stopped
            } else if WorkerIdentity.isCertainlyGone(sighting.id) {
                state = .gone
            } else if sighting.aliveUntil > now {
                state = .live
            } else {
                state = .expired
            }
            var worker = SagaWorkerSummary(
                id: sighting.id, host: identity?.host, pid: identity?.pid, sagas: [], leaseExpiresAt: nil,
                lastProgressAt: nil, state: state
            )
            worker.since = sighting.startedAt
            worker.lastSeenAt = sighting.stoppedAt ?? sighting.seenAt
            merged.append(worker)
        }
        return merged
    }
}

/// What one worker loop (`SagaEngine.run()`) records of itself in a ``SagaStoreWorkers``: a sighting when it
/// starts, then at most one per `interval`, and its graceful stop. Failures are logged by the caller and never stop
/// the worker.
final class WorkerSightings: Sendable {
    let store: (any SagaStoreWorkers)?
    let id: String
    let interval: TimeInterval
    let startedAt: Date
    private let last = Mutex<Date?>(nil)

    init(store: any SagaStore, id: String, interval: TimeInterval, now: Date) {
        self.store = store as? any SagaStoreWorkers
        self.id = id
        self.interval = max(0.05, interval)
        self.startedAt = now
    }

    /// Records a sighting when none was recorded within `interval` (one caller at a time writes).
    func seen(now: Date) async throws {
        guard let store else { return }
        let due = last.withLock { last -> Bool in
            if let at = last, now.timeIntervalSince(at) < interval { return false }
            last = now
            return true
        }
        guard due else { return }
        try await store.recordWorkerSighting(
            SagaWorkerSighting(id: id, startedAt: startedAt, seenAt: now, aliveUntil: now.addingTimeInterval(interval * 3))
        )
    }

    func stopped(now: Date) async throws {
        try await store?.recordWorkerStopped(id: id, at: now)
    }
}

extension SagaEngine {
    /// A sighting of this worker when one is due; a failure is logged, never fatal.
    func recordSighting(_ sightings: WorkerSightings) async {
        do {
            try await sightings.seen(now: now())
        } catch {
            logger.warning("cannot record the worker's sighting: \(error)")
        }
    }
}
