public import Foundation

/// A store that keeps everything in memory: for tests, and for embedders who don't need durability.
///
/// Nothing survives the process. It keeps the same contract as the durable stores.
public actor MemorySagaStore: SagaStorePurging, SagaStoreWaits {
    var records: [String: SagaRecord] = [:]
    private var journals: [String: [SagaEvent]] = [:]
    private var order: [String] = []
    /// Webhook subscriptions, deliveries and the journal's commit order (`MemorySagaStore+Webhooks.swift`).
    var webhooks = MemoryWebhookState()
    /// Exclusive-key queues (`MemorySagaStore+ExclusiveKeys.swift`).
    var exclusiveKeys = ExclusiveKeyQueues()
    /// Named limits (`MemorySagaStore+Limits.swift`).
    var limits = MemoryLimitState()
    /// Wake times of the waiting sagas (`MemorySagaStore+Waits.swift`).
    var wakeTimes: [String: Date] = [:]

    public init() {}

    public func create(_ saga: SagaRecord, events: [SagaEvent]) throws -> SagaCreation {
        if let existing = records[saga.id] {
            guard existing.workflow == saga.workflow, existing.version == saga.version, existing.input == saga.input
            else {
                throw SagaError.conflict(existing: existing, requested: saga)
            }
            return .existing(existing)
        }
        var record = saga
        record.status = .pending
        record.owner = nil
        record.leaseExpiresAt = nil
        record.lastSeq = events.last?.seq ?? 0
        records[saga.id] = record
        journals[saga.id] = events
        webhooks.recordCommitted(events, sagaID: saga.id)
        order.append(saga.id)
        exclusiveKeys.enqueue(saga.id, keys: saga.exclusiveKeys)
        return .created(record)
    }

    public func claim(sagaID: String, owner: String, now: Date, leaseUntil: Date) throws -> SagaRecord? {
        guard var record = records[sagaID], record.status.isRunnable, exclusiveKeys.isClear(sagaID) else { return nil }
        if let current = record.owner, current != owner, let expires = record.leaseExpiresAt, expires > now {
            return nil
        }
        record.owner = owner
        record.leaseExpiresAt = leaseUntil
        records[sagaID] = record
        return record
    }

    public func claimNext(owner: String, now: Date, leaseUntil: Date, limit: Int) throws -> [SagaRecord] {
        var claimed: [SagaRecord] = []
        wakeDue(now: now)
        for id in order where claimed.count < limit {
            guard var record = records[id], record.status.isRunnable else { continue }
            if record.owner != nil, let expires = record.leaseExpiresAt, expires > now { continue }
            if !exclusiveKeys.isEmpty && !exclusiveKeys.isClear(id) { continue }
            record.owner = owner
            record.leaseExpiresAt = leaseUntil
            records[id] = record
            claimed.append(record)
        }
        return claimed
    }

    public func takeOver(sagaID: String, from previousOwner: String, owner: String, leaseUntil: Date) throws -> Bool {
        guard var record = records[sagaID], record.status.isRunnable, record.owner == previousOwner else {
            return false
        }
        record.owner = owner
        record.leaseExpiresAt = leaseUntil
        records[sagaID] = record
        return true
    }

    public func append(
        _ events: [SagaEvent],
        sagaID: String,
        owner: String,
        progress: SagaProgress,
        leaseUntil: Date
    ) throws {
        guard var record = records[sagaID] else { throw SagaError.notFound(sagaID) }
        guard record.owner == owner else { throw SagaError.leaseLost(sagaID, owner: owner, holder: record.owner) }
        var expected = record.lastSeq + 1
        for event in events {
            guard event.seq == expected else {
                throw SagaError(
                    .corruptJournal,
                    "saga \(sagaID): event \(event.seq) does not follow event \(expected - 1)",
                    sagaID: sagaID
                )
            }
            expected += 1
        }
        journals[sagaID, default: []].append(contentsOf: events)
        webhooks.recordCommitted(events, sagaID: sagaID)
        record.lastSeq = expected - 1
        record.status = progress.status
        record.currentStep = progress.currentStep ?? record.currentStep
        record.lastError = progress.lastError ?? record.lastError
        record.updatedAt = events.last?.at ?? record.updatedAt
        if progress.status.isRunnable {
            record.leaseExpiresAt = leaseUntil
        } else {
            record.owner = nil
            record.leaseExpiresAt = nil
        }
        records[sagaID] = record
        if progress.status.isTerminal { exclusiveKeys.release(sagaID) }
    }

    public func appendUnowned(
        _ events: [SagaEvent],
        sagaID: String,
        expectedLastSeq: Int,
        progress: SagaProgress,
        now: Date
    ) throws {
        guard var record = records[sagaID] else { throw SagaError.notFound(sagaID) }
        if record.owner != nil, let expires = record.leaseExpiresAt, expires > now {
            throw SagaError(.invalidState, "saga \(sagaID) is held by worker \(record.owner!)", sagaID: sagaID)
        }
        guard record.lastSeq == expectedLastSeq else {
            throw SagaError.journalMoved(sagaID, expected: expectedLastSeq, actual: record.lastSeq)
        }
        for (offset, event) in events.enumerated() where event.seq != expectedLastSeq + 1 + offset {
            throw SagaError(.corruptJournal, "saga \(sagaID): event \(event.seq) does not follow", sagaID: sagaID)
        }
        journals[sagaID, default: []].append(contentsOf: events)
        webhooks.recordCommitted(events, sagaID: sagaID)
        record.lastSeq = expectedLastSeq + events.count
        record.status = progress.status
        record.currentStep = progress.currentStep ?? record.currentStep
        record.lastError = progress.lastError ?? record.lastError
        record.updatedAt = events.last?.at ?? record.updatedAt
        record.owner = nil
        record.leaseExpiresAt = nil
        records[sagaID] = record
        if progress.status.isTerminal { exclusiveKeys.release(sagaID) }
    }

    public func renewLeases(sagaIDs: [String], owner: String, leaseUntil: Date) throws -> [SagaRecord] {
        var held: [SagaRecord] = []
        for id in sagaIDs {
            guard var record = records[id], record.owner == owner else { continue }
            record.leaseExpiresAt = leaseUntil
            records[id] = record
            held.append(record)
        }
        return held
    }

    public func release(sagaID: String, owner: String) throws {
        guard var record = records[sagaID], record.owner == owner else { return }
        record.owner = nil
        record.leaseExpiresAt = nil
        records[sagaID] = record
    }

    public func requestCancel(sagaID: String, reason: String, at: Date) throws -> SagaRecord {
        guard var record = records[sagaID] else { throw SagaError.notFound(sagaID) }
        guard !record.status.isTerminal else {
            throw SagaError(.invalidState, "saga \(sagaID) is already \(record.status.rawValue)", sagaID: sagaID)
        }
        if record.cancelRequestedAt == nil {
            record.cancelRequestedAt = at
            record.cancelReason = reason
            records[sagaID] = record
            wake(sagaID, at: at)
            record = records[sagaID] ?? record
        }
        return record
    }

    public func saga(id: String) -> SagaRecord? {
        records[id]
    }

    public func events(sagaID: String) -> [SagaEvent] {
        journals[sagaID] ?? []
    }

    public func list(_ query: SagaQuery) throws -> [SagaRecord] {
        var result: [SagaRecord] = []
        var ids = order.reversed()[...]
        if let after = query.after {
            guard let position = ids.firstIndex(of: after) else {
                throw SagaError(.sagaNotFound, "no saga \(after) to list after", sagaID: after)
            }
            ids = ids[ids.index(after: position)...]
        }
        for id in ids where result.count < query.limit {
            guard let record = records[id], query.matches(record) else { continue }
            result.append(record)
        }
        return result
    }

    public func purge(finishedBefore: Date, limit: Int, dryRun: Bool) -> Int {
        var doomed: [String] = []
        for id in order where doomed.count < limit {
            guard let record = records[id], record.status.isTerminal, record.updatedAt < finishedBefore,
                !webhooks.holdsBack(sagaID: id)
            else {
                continue
            }
            doomed.append(id)
        }
        if dryRun { return doomed.count }
        let gone = Set(doomed)
        for id in doomed {
            records[id] = nil
            journals[id] = nil
        }
        webhooks.forget(sagaIDs: gone)
        order.removeAll { gone.contains($0) }
        return doomed.count
    }

    public func countByStatus() -> [SagaStatus: Int] {
        var counts: [SagaStatus: Int] = [:]
        for record in records.values { counts[record.status, default: 0] += 1 }
        return counts
    }

    public func leasedSagas(limit: Int) -> [SagaRecord] {
        Array(records.values.filter { $0.status.isRunnable && $0.owner != nil }.prefix(limit))
    }
}

extension SagaStore where Self == MemorySagaStore {
    /// A new in-memory store: `SagaEngine(store: .memory, …)`.
    public static var memory: MemorySagaStore { MemorySagaStore() }
}

extension SagaError {
    /// `.sagaNotFound` for an id.
    public static func notFound(_ sagaID: String) -> SagaError {
        SagaError(.sagaNotFound, "no saga with id '\(EchoedText.clip(sagaID))'", sagaID: sagaID)
    }

    /// `.leaseLost` for a saga another worker took over.
    public static func leaseLost(_ sagaID: String, owner: String, holder: String?) -> SagaError {
        SagaError(
            .leaseLost,
            "saga \(sagaID): worker \(owner) no longer holds the lease (now held by \(holder ?? "nobody"))",
            sagaID: sagaID
        )
    }

    /// `.invalidState` for a compare-and-set append that lost the race.
    public static func journalMoved(_ sagaID: String, expected: Int, actual: Int) -> SagaError {
        SagaError(
            .invalidState,
            "saga \(sagaID) changed while this request was prepared (its journal is at event \(actual), not \(expected)); look again",
            sagaID: sagaID
        )
    }

    /// `.sagaConflict` for an id reused with another workflow or input.
    public static func conflict(existing: SagaRecord, requested: SagaRecord) -> SagaError {
        let what =
            existing.workflow != requested.workflow || existing.version != requested.version
            ? "workflow \(existing.workflow)@\(existing.version), not \(requested.workflow)@\(requested.version)"
            : "another input"
        return SagaError(
            .sagaConflict,
            "saga \(existing.id) already exists with \(what); use another --id or the same input",
            sagaID: existing.id
        )
    }
}
