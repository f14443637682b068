public import Foundation
import PostgresNIO
import Synchronization
public import Sagas

// The `SagaStore` methods. Each write is one statement whose checks (lease, epoch, last event number) are in its
// `WHERE` clause: atomic, and a write that fails its check changes nothing. Only then is the saga read, to tell
// which check failed.
extension PostgresSagaStore {
    /// Journals a new saga with its first events, or returns the existing saga with that id.
    ///
    /// - Throws: `.sagaConflict` when the id exists with another workflow, version or input (inputs compare by
    ///   their canonical JSON text); storage errors.
    public func create(_ saga: SagaRecord, events: [SagaEvent]) async throws -> SagaCreation {
        var record = saga
        record.status = .pending
        record.owner = nil
        record.leaseExpiresAt = nil
        record.lastSeq = events.last?.seq ?? 0
        return try await insertNew(record, events: events, epoch: 0)
    }

    /// Inserts a saga and its events in one statement, or returns the saga that has its id (writing nothing).
    func insertNew(_ record: SagaRecord, events: [SagaEvent], epoch: Int64) async throws -> SagaCreation {
        var s = PostgresStatement()
        let inputText = record.input.jsonString
        let values = [
            s.bind(record.id), s.bind(record.workflow), s.bind(Int64(record.version)), s.bind(record.definition),
            s.bind(record.baseDirectory), s.bind(inputText), s.bind(record.status.rawValue),
            s.bind(SagaTime.milliseconds(record.createdAt)), s.bind(SagaTime.milliseconds(record.updatedAt)),
            s.bind(record.owner), s.bind(record.leaseExpiresAt.map(SagaTime.milliseconds)), s.bind(epoch),
            s.bind(record.currentStep), s.bind(record.lastError), s.bind(record.cancelReason),
            s.bind(record.cancelRequestedAt.map(SagaTime.milliseconds)), s.bind(Int64(record.lastSeq)),
            s.bind(record.key), s.bind(record.rerunOf),
        ] + keyWaitValue(record, into: &s)
        s.append(
            """
            WITH inserted AS (
                INSERT INTO \(schema.sagas) (id, workflow, version, definition, base_directory, input, status,
                    created_at, updated_at, owner, lease_expires_at, lease_epoch, current_step, last_error,
                    cancel_reason, cancel_requested_at, last_seq, business_key, rerun_of\(keyWaitColumn(record)))
                VALUES (\(values.joined(separator: ", ")))
                ON CONFLICT (id) DO NOTHING
                RETURNING id
            )
            """
        )
        if !events.isEmpty {
            let rows = PostgresRows.values(events, sagaID: record.id, into: &s)
            s.append(
                """
                , journal AS (
                    INSERT INTO \(schema.events) (saga_id, seq, at, type, step, payload)
                    SELECT v.* FROM inserted, (VALUES \(rows)) AS v (saga_id, seq, at, type, step, payload)
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM journal)
                """
            )
        } else {
            s.append(" SELECT (SELECT count(*) FROM inserted), 0::bigint")
        }
        var inserted: Int64 = 0
        if let row = try await rows(s).first {
            let (sagas, _) = try decoded { try row.decode((Int64, Int64).self) }
            inserted = sagas
        }
        if inserted == 1 {
            return .created(record)
        }
        var select = PostgresStatement("SELECT \(schema.columns) FROM \(schema.sagas) WHERE id = ")
        select.append(select.bind(record.id))
        guard let existing = try await records(select).first?.record else {
            throw SagaError(.storageFailure, "saga \(record.id) was neither inserted nor found", sagaID: record.id)
        }
        guard existing.workflow == record.workflow, existing.version == record.version,
            existing.input.jsonString == inputText
        else {
            throw SagaError.conflict(existing: existing, requested: record)
        }
        return .existing(existing)
    }

    /// Takes the lease of one runnable saga when nobody holds it, its lease expired, or `owner` holds it; the
    /// lease epoch is incremented.
    public func claim(sagaID: String, owner: String, now: Date, leaseUntil: Date) async throws -> SagaRecord? {
        var s = PostgresStatement()
        let ownerMark = s.bind(owner)
        let until = s.bind(SagaTime.milliseconds(leaseUntil))
        let id = s.bind(sagaID)
        let nowMark = s.bind(SagaTime.milliseconds(now))
        s.append(
            """
            UPDATE \(schema.sagas) SET owner = \(ownerMark), lease_expires_at = \(until), lease_epoch = lease_epoch + 1
            WHERE id = \(id) AND \(PostgresSchema.runnable) AND key_wait = 0
              AND (owner IS NULL OR owner = \(ownerMark) OR \(schema.lapsed(nowMark)))
            RETURNING \(schema.columns)
            """
        )
        guard let claimed = try await records(s).first else { return nil }
        remember(sagaID, owner: owner, epoch: claimed.epoch)
        return claimed.record
    }

    /// Takes the leases of up to `limit` runnable sagas nobody holds (or whose lease expired), oldest first, in one
    /// statement: rows another node is claiming at the same moment are skipped (`FOR UPDATE SKIP LOCKED`), never
    /// waited for nor taken twice.
    public func claimNext(owner: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [SagaRecord] {
        guard limit > 0 else { return [] }
        try await wakeDue(now: now)
        var s = PostgresStatement()
        let ownerMark = s.bind(owner)
        let until = s.bind(SagaTime.milliseconds(leaseUntil))
        let nowMark = s.bind(SagaTime.milliseconds(now))
        let limitMark = s.bind(Int64(limit))
        // Two candidate sets, each from its partial index: sagas nobody holds (`sagas_claimable`), and held ones
        // whose lease expired (`sagas_leased`), each oldest first. The outer query keeps the oldest `limit` of both.
        s.append(
            """
            WITH free AS (
                SELECT id, created_at, position FROM \(schema.sagas)
                WHERE owner IS NULL AND \(PostgresSchema.runnable) AND key_wait = 0
                ORDER BY created_at, position LIMIT \(limitMark) FOR UPDATE SKIP LOCKED
            ), expired AS (
                SELECT id, created_at, position FROM \(schema.sagas)
                WHERE owner IS NOT NULL AND \(PostgresSchema.runnable)
                  AND \(schema.lapsed(nowMark))
                ORDER BY created_at, position LIMIT \(limitMark) FOR UPDATE SKIP LOCKED
            ), candidates AS (
                SELECT id FROM (SELECT * FROM free UNION ALL SELECT * FROM expired) AS c
                ORDER BY created_at, position LIMIT \(limitMark)
            )
            UPDATE \(schema.sagas) AS s
            SET owner = \(ownerMark), lease_expires_at = \(until), lease_epoch = s.lease_epoch + 1
            FROM candidates WHERE s.id = candidates.id
            RETURNING \(schema.columns(alias: "s"))
            """
        )
        let claimed = try await records(s).sorted {
            ($0.record.createdAt, $0.position) < ($1.record.createdAt, $1.position)
        }
        for saga in claimed {
            remember(saga.record.id, owner: owner, epoch: saga.epoch)
        }
        return claimed.map(\.record)
    }

    /// Takes over a runnable saga from `previousOwner` if it still holds the lease; the lease epoch is incremented.
    public func takeOver(sagaID: String, from previousOwner: String, owner: String, leaseUntil: Date) async throws
        -> Bool
    {
        var s = PostgresStatement()
        let ownerMark = s.bind(owner)
        let until = s.bind(SagaTime.milliseconds(leaseUntil))
        let id = s.bind(sagaID)
        let previous = s.bind(previousOwner)
        s.append(
            """
            UPDATE \(schema.sagas) SET owner = \(ownerMark), lease_expires_at = \(until), lease_epoch = lease_epoch + 1
            WHERE id = \(id) AND \(PostgresSchema.runnable) AND owner = \(previous)
            RETURNING lease_epoch
            """
        )
        guard let row = try await rows(s).first else { return false }
        remember(sagaID, owner: owner, epoch: try decoded { try row.decode(Int64.self) })
        return true
    }

    /// Appends events and updates the summary in one statement that checks the owner, the lease epoch this store
    /// claimed the saga with, and the last event number.
    ///
    /// - Throws: `.sagaNotFound`; `.leaseLost` when `owner` does not hold the lease, or holds it under another epoch
    ///   (the saga was claimed again since); `.corruptJournal` when the numbers do not continue the journal.
    ///   Nothing is written when it throws.
    public func append(
        _ events: [SagaEvent],
        sagaID: String,
        owner: String,
        progress: SagaProgress,
        leaseUntil: Date
    ) async throws {
        let release = !progress.status.isRunnable
        let epoch = leases.withLock { leases -> Int64? in
            guard let lease = leases[sagaID], lease.owner == owner else { return nil }
            return lease.epoch
        }
        if !events.isEmpty, Self.consecutive(events) {
            // Group commit (PostgresSagaStore+Batch.swift): one statement with the appends of other sagas.
            let batched = PostgresAppend(sagaID: sagaID, owner: owner, epoch: epoch, events: events,
                progress: progress, leaseUntil: release ? nil : leaseUntil)
            if try await appendBatched(batched) {
                if release { leases.withLock { _ = $0.removeValue(forKey: sagaID) } }
                return
            }
        }
        // Something is wrong: say what.
        let current = try await saga(id: sagaID, withEpoch: true)
        guard let current else { throw SagaError.notFound(sagaID) }
        guard current.record.owner == owner, epoch == nil || current.epoch == epoch else {
            throw SagaError.leaseLost(sagaID, owner: owner, holder: current.record.owner)
        }
        let lastSeq = current.record.lastSeq
        if let first = events.first, let last = events.last, last.seq == lastSeq, first.seq >= 1,
            try await Array(self.events(sagaID: sagaID).dropFirst(first.seq - 1)) == events
        {
            // These very events are already journaled: an earlier attempt of this append committed, and its answer
            // was lost with the connection. The retry is a success, not a conflict.
            if release { leases.withLock { _ = $0.removeValue(forKey: sagaID) } }
            return
        }
        for (offset, event) in events.enumerated() where event.seq != lastSeq + 1 + offset {
            throw SagaError(
                .corruptJournal,
                "saga \(sagaID): event \(event.seq) does not follow event \(lastSeq + offset)",
                sagaID: sagaID
            )
        }
        if events.isEmpty {
            // Nothing to insert: only the summary and the lease.
            var s = PostgresStatement()
            let conditions = "owner = \(s.bind(owner))" + (epoch.map { " AND lease_epoch = \(s.bind($0))" } ?? "")
            if try await writeSummary(&s, events: events, sagaID: sagaID, progress: progress,
                leaseUntil: release ? nil : leaseUntil, conditions: conditions)
            {
                if release { leases.withLock { _ = $0.removeValue(forKey: sagaID) } }
                return
            }
        }
        // The saga changed between the statement and the read: the lease passed on.
        throw SagaError.leaseLost(sagaID, owner: owner, holder: current.record.owner)
    }

    /// Appends events to a saga no worker holds, if its journal still ends at `expectedLastSeq` (compare-and-set,
    /// in one statement).
    ///
    /// - Throws: `.invalidState` when a worker holds a live lease or the journal moved on; `.sagaNotFound`;
    ///   `.corruptJournal` when the events do not follow `expectedLastSeq`.
    public func appendUnowned(
        _ events: [SagaEvent],
        sagaID: String,
        expectedLastSeq: Int,
        progress: SagaProgress,
        now: Date
    ) async throws {
        let follows = events.first.map { $0.seq == expectedLastSeq + 1 } ?? true
        if follows, Self.consecutive(events) {
            var s = PostgresStatement()
            let nowMark = s.bind(SagaTime.milliseconds(now))
            let conditions = "last_seq = \(s.bind(Int64(expectedLastSeq))) "
                + "AND (owner IS NULL OR \(schema.lapsed(nowMark)))"
            if try await writeSummary(&s, events: events, sagaID: sagaID, progress: progress, leaseUntil: nil,
                conditions: conditions)
            {
                leases.withLock { _ = $0.removeValue(forKey: sagaID) }
                return
            }
        }
        guard let current = try await saga(id: sagaID) else { throw SagaError.notFound(sagaID) }
        if let holder = current.owner, let expires = current.leaseExpiresAt,
            SagaTime.milliseconds(expires) > SagaTime.milliseconds(now)
        {
            throw SagaError(.invalidState, "saga \(sagaID) is held by worker \(holder)", sagaID: sagaID)
        }
        guard current.lastSeq == expectedLastSeq else {
            throw SagaError.journalMoved(sagaID, expected: expectedLastSeq, actual: current.lastSeq)
        }
        if let first = events.first, first.seq != expectedLastSeq + 1 || !Self.consecutive(events) {
            throw SagaError(
                .corruptJournal,
                "saga \(sagaID): event \(first.seq) does not follow event \(expectedLastSeq)",
                sagaID: sagaID
            )
        }
        throw SagaError.journalMoved(sagaID, expected: expectedLastSeq, actual: current.lastSeq)
    }

    /// Whether the events are numbered one after the other.
    static func consecutive(_ events: [SagaEvent]) -> Bool {
        guard let first = events.first?.seq, first >= 1 else { return events.isEmpty }
        return events.enumerated().allSatisfy { $0.element.seq == first + $0.offset }
    }

    /// One statement: updates the saga's summary where `conditions` hold (their values already bound in `s`), and
    /// inserts `events` only if it did. The lease is extended to `leaseUntil`, or released when it is `nil`.
    ///
    /// - Returns: Whether the saga was updated (and the events inserted).
    private func writeSummary(
        _ s: inout PostgresStatement,
        events: [SagaEvent],
        sagaID: String,
        progress: SagaProgress,
        leaseUntil: Date?,
        conditions: String
    ) async throws -> Bool {
        let id = s.bind(sagaID)
        let status = s.bind(progress.status.rawValue)
        let step = s.bind(progress.currentStep)
        let error = s.bind(progress.lastError)
        let updatedAt = s.bind(events.last.map { SagaTime.milliseconds($0.at) })
        let lastSeq = events.last.map { "\(s.bind(Int64($0.seq)))::bigint" } ?? "last_seq"
        let lease: String
        if let leaseUntil {
            lease = "lease_expires_at = \(s.bind(SagaTime.milliseconds(leaseUntil)))"
        } else {
            lease = "owner = NULL, lease_expires_at = NULL"
        }
        s.append(
            """
            WITH updated AS (
                UPDATE \(schema.sagas) SET
                    status = \(status),
                    current_step = COALESCE(\(step)::text, current_step),
                    last_error = COALESCE(\(error)::text, last_error),
                    updated_at = COALESCE(\(updatedAt)::bigint, updated_at),
                    last_seq = \(lastSeq),
                    \(lease)
                WHERE id = \(id) AND \(conditions)\(keyLock(progress, id: id))
                RETURNING id
            )
            """
        )
        if events.isEmpty {
            s.append(" SELECT (SELECT count(*) FROM updated)\(keyRelease(progress))")
        } else {
            let rows = PostgresRows.values(events, sagaID: sagaID, into: &s)
            s.append(
                """
                , journal AS (
                    INSERT INTO \(schema.events) (saga_id, seq, at, type, step, payload)
                    SELECT v.* FROM updated, (VALUES \(rows)) AS v (saga_id, seq, at, type, step, payload)
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM updated) + 0 * (SELECT count(*) FROM journal)\(keyRelease(progress))
                """
            )
        }
        let count = try await rows(s).first.map { try $0.decode(Int64.self) } ?? 0
        return count == 1
    }

    /// Extends the leases `owner` holds by a heartbeat of its node: one statement that writes the node's row in
    /// `saga_nodes` (alive until `leaseUntil`) and reads, without writing them, the sagas of `sagaIDs` it still
    /// holds. Their effective lease is then `leaseUntil`: one write per node per renewal, however many sagas it
    /// runs. Returns the records in the order of `sagaIDs`.
    public func renewLeases(sagaIDs: [String], owner: String, leaseUntil: Date) async throws -> [SagaRecord] {
        guard !sagaIDs.isEmpty else { return [] }
        var s = PostgresStatement()
        let until = s.bind(SagaTime.milliseconds(leaseUntil))
        let ownerMark = s.bind(owner)
        let ids = s.bind(Array(Set(sagaIDs)))
        let serverNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
        let nowMark = s.bind(SagaTime.milliseconds(Date()))
        // The main query does not see the heartbeat's own write (one snapshot): it computes the new lease itself.
        // `orphans`: sagas the node holds but no longer renews (a drive that ended without releasing its lease),
        // whose own lease passed by this node's clock: the heartbeat must not keep them, so they are released.
        // (A data-modifying CTE runs whether or not the main query reads it.)
        s.append(
            """
            WITH orphans AS (
                UPDATE \(schema.sagas) SET owner = NULL, lease_expires_at = NULL
                WHERE owner = \(ownerMark) AND NOT (id = ANY(\(ids)::text[])) AND \(PostgresSchema.runnable)
                  AND lease_expires_at <= \(nowMark)
                RETURNING 1
            ), heartbeat AS (
                INSERT INTO \(schema.nodes) AS n (id, started_at, heartbeat_at, alive_until)
                VALUES (\(ownerMark), \(serverNow), \(serverNow), \(until))
                ON CONFLICT (id) DO UPDATE
                SET heartbeat_at = EXCLUDED.heartbeat_at, alive_until = GREATEST(n.alive_until, EXCLUDED.alive_until)
                RETURNING alive_until
            )
            SELECT \(schema.columns(lease: "GREATEST(lease_expires_at, (SELECT alive_until FROM heartbeat))"))
            FROM \(schema.sagas) WHERE owner = \(ownerMark) AND id = ANY(\(ids)::text[])
            """
        )
        var held: [String: SagaRecord] = [:]
        for saga in try await records(s) { held[saga.record.id] = saga.record }
        return sagaIDs.compactMap { held[$0] }
    }

    /// Ends node `owner`'s liveness (a node that stops cleanly): its sagas' leases are then their own again.
    public func retireNode(_ owner: String) async throws {
        var s = PostgresStatement("DELETE FROM \(schema.nodes) WHERE id = ")
        s.append(s.bind(owner))
        _ = try await rows(s)
    }

    /// Gives up `owner`'s lease on a saga; does nothing when `owner` does not hold it.
    public func release(sagaID: String, owner: String) async throws {
        var s = PostgresStatement()
        let id = s.bind(sagaID)
        let ownerMark = s.bind(owner)
        s.append(
            "UPDATE \(schema.sagas) SET owner = NULL, lease_expires_at = NULL WHERE id = \(id) AND owner = \(ownerMark)"
        )
        _ = try await rows(s)
        leases.withLock { leases in
            if leases[sagaID]?.owner == owner { leases[sagaID] = nil }
        }
    }

    /// Records a request to cancel a saga (the first request's reason and time are kept).
    ///
    /// - Throws: `.sagaNotFound`; `.invalidState` when the saga is already terminal.
    public func requestCancel(sagaID: String, reason: String, at: Date) async throws -> SagaRecord {
        var s = PostgresStatement()
        let reasonMark = s.bind(reason)
        let atMark = s.bind(SagaTime.milliseconds(at))
        let id = s.bind(sagaID)
        s.append(
            """
            UPDATE \(schema.sagas) SET cancel_reason = \(reasonMark), cancel_requested_at = \(atMark)\(Self.wakeOnCancel)
            WHERE id = \(id) AND cancel_requested_at IS NULL AND NOT \(PostgresSchema.finished)
            RETURNING \(schema.columns)
            """
        )
        if let updated = try await records(s).first { return updated.record }
        guard let record = try await saga(id: sagaID) else { throw SagaError.notFound(sagaID) }
        guard !record.status.isTerminal else {
            throw SagaError(.invalidState, "saga \(sagaID) is already \(record.status.rawValue)", sagaID: sagaID)
        }
        return record
    }

    /// The saga with that id, or `nil`.
    public func saga(id: String) async throws -> SagaRecord? {
        try await saga(id: id, withEpoch: true)?.record
    }

    func saga(id: String, withEpoch: Bool) async throws -> (record: SagaRecord, epoch: Int64)? {
        var s = PostgresStatement("SELECT \(schema.columns) FROM \(schema.sagas) WHERE id = ")
        s.append(s.bind(id))
        return try await records(s).first.map { ($0.record, $0.epoch) }
    }

    /// A saga's journal, in order (empty for an unknown saga).
    public func events(sagaID: String) async throws -> [SagaEvent] {
        var s = PostgresStatement("SELECT seq, at, type, step, payload FROM \(schema.events) WHERE saga_id = ")
        s.append(s.bind(sagaID) + " ORDER BY seq")
        return try await rows(s).map { try PostgresRows.event($0, sagaID: sagaID) }
    }

    /// How many sagas have each status (statuses with none are absent).
    public func countByStatus() async throws -> [SagaStatus: Int] {
        let s = PostgresStatement("SELECT status, count(*) FROM \(schema.sagas) GROUP BY status")
        var counts: [SagaStatus: Int] = [:]
        for row in try await rows(s) {
            let (name, count) = try decoded { try row.decode((String, Int64).self) }
            guard let status = SagaStatus(rawValue: name) else {
                throw SagaError(.databaseCorrupt, "unknown saga status '\(name)' in the database")
            }
            counts[status] = Int(count)
        }
        return counts
    }

    /// Up to `limit` sagas that are runnable and leased (read from `sagas_leased`).
    public func leasedSagas(limit: Int) async throws -> [SagaRecord] {
        guard limit > 0 else { return [] }
        var s = PostgresStatement(
            "SELECT \(schema.columns) FROM \(schema.sagas) WHERE owner IS NOT NULL AND \(PostgresSchema.runnable) "
                + "ORDER BY created_at, position LIMIT "
        )
        s.append(s.bind(Int64(limit)))
        return try await records(s).map(\.record)
    }
}
