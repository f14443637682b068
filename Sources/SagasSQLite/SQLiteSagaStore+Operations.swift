public import Foundation
import GRDB
import Synchronization
public import Sagas

// The `SagaStore` methods. Writes run through the group-commit batcher, in a shared immediate transaction (each in
// a savepoint of its own only when the batch is run again because one write failed); every check a write makes
// happens inside that transaction, and a write that fails its check leaves nothing behind.
extension SQLiteSagaStore {
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
        return try await insertNew(record, events: events)
    }

    /// Encodes a new saga outside the shared transaction, inserts it (`insertNew(_:inputText:definition:events:db:)`)
    /// and, once that committed, remembers that its definition is stored.
    func insertNew(_ record: SagaRecord, events: [SagaEvent]) async throws -> SagaCreation {
        let inputText = record.input.jsonString
        let digest = SQLiteRows.digest(ofDefinition: record.definition)
        let definition = (digest: digest, known: storedDefinitions.withLock { $0.contains(digest) })
        let encoded = events.map(SQLiteRows.EncodedEvent.init)
        let creation = try await write(events: events.count) { db in
            try Self.insertNew(record, inputText: inputText, definition: definition, events: encoded, db: db)
        }
        if !definition.known, case .created = creation {
            storedDefinitions.withLock { _ = $0.insert(digest) }
        }
        return creation
    }

    /// Inserts a new saga and its first events, or returns the saga that has its id (writing nothing) when the
    /// workflow, version and input match: what `create` and `createLeased` share, inside their transaction.
    ///
    /// - Parameter definition: The digest of the pinned definition, and whether this store already committed it
    ///   (then it is not inserted again).
    /// - Throws: `.sagaConflict` when they differ (inputs compare by canonical JSON text).
    static func insertNew(
        _ record: SagaRecord,
        inputText: String,
        definition: (digest: String, known: Bool),
        events: [SQLiteRows.EncodedEvent],
        db: Database
    ) throws
        -> SagaCreation
    {
        let exists = try SQLiteRaw(db, "SELECT 1 FROM sagas WHERE id = ?")
        try exists.bind(1, record.id)
        let found = try exists.step()
        exists.reset()
        if found, let existing = try SQLiteRows.fetchSaga(db, id: record.id) {
            let existingInput =
                try String.fetchOne(db, sql: "SELECT input FROM sagas WHERE id = ?", arguments: [record.id]) ?? ""
            guard existing.workflow == record.workflow, existing.version == record.version,
                existingInput == inputText
            else {
                throw SagaError.conflict(existing: existing, requested: record)
            }
            return .existing(existing)
        }
        if !definition.known {
            try SQLiteRows.storeDefinition(record.definition, digest: definition.digest, db: db)
        }
        try SQLiteRows.insertSaga(record, definitionDigest: definition.digest, inputText: inputText, db: db)
        try SQLiteRows.insert(events, sagaID: record.id, db: db)
        try enqueueExclusiveKeys(record, db: db)
        if record.owner != nil, !record.exclusiveKeys.isEmpty { try checkKeysFree(record, db: db) }
        return .created(record)
    }

    /// Takes the lease of one runnable saga when nobody holds it, its lease expired, or `owner` holds it.
    public func claim(sagaID: String, owner: String, now: Date, leaseUntil: Date) async throws -> SagaRecord? {
        let now = SagaTime.milliseconds(now)
        let until = SagaTime.milliseconds(leaseUntil)
        let horizon = SagaRecord.leaseHorizon(now: now)
        return try await write { db in
            try SQLiteRows.fetchOneRecord(
                db,
                sql: """
                    UPDATE sagas SET owner = ?, lease_expires_at = ?
                    WHERE id = ? AND \(SQLiteRows.runnable) AND key_wait = 0
                      AND (owner IS NULL OR owner = ? OR lease_expires_at IS NULL OR lease_expires_at <= ?
                           OR lease_expires_at > ?)
                    RETURNING \(SQLiteRows.columns)
                    """,
                arguments: [owner, until, sagaID, owner, now, horizon]
            )
        }
    }

    /// Takes the leases of up to `limit` runnable sagas nobody holds (or whose lease expired), oldest first.
    public func claimNext(owner: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [SagaRecord] {
        guard limit > 0 else { return [] }
        let now = SagaTime.milliseconds(now)
        let until = SagaTime.milliseconds(leaseUntil)
        let horizon = SagaRecord.leaseHorizon(now: now)
        return try await write { db in
            try SQLiteSagaStore.wakeDue(db, now: now)
            // The subquery walks the partial index `sagas_claimable` (runnable sagas that wait for no exclusive
            // key) in creation order and stops at `limit`: left to itself, SQLite would rather read every runnable
            // saga from `sagas_status_created` and sort them.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    UPDATE sagas SET owner = ?, lease_expires_at = ?
                    WHERE rowid IN (
                        SELECT rowid FROM sagas INDEXED BY sagas_claimable
                        WHERE \(SQLiteRows.runnable) AND key_wait = 0
                          AND (owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= ?
                               OR lease_expires_at > ?)
                        ORDER BY created_at, rowid
                        LIMIT ?
                    )
                    RETURNING \(SQLiteRows.columns), rowid AS row_order
                    """,
                arguments: [owner, until, now, horizon, limit]
            )
            // RETURNING gives no order: sort as the subquery did.
            return try rows.map { (try SQLiteRows.record($0, db: db), $0[SQLiteRows.columnCount] as Int64) }
                .sorted { ($0.0.createdAt, $0.1) < ($1.0.createdAt, $1.1) }
                .map(\.0)
        }
    }

    /// Takes over a runnable saga from `previousOwner` if it still holds the lease.
    public func takeOver(sagaID: String, from previousOwner: String, owner: String, leaseUntil: Date) async throws
        -> Bool
    {
        let until = SagaTime.milliseconds(leaseUntil)
        return try await write { db in
            let update = try SQLiteRaw(
                db,
                "UPDATE sagas SET owner = ?, lease_expires_at = ? WHERE id = ? AND \(SQLiteRows.runnable) AND owner = ?"
            )
            try update.bind(1, owner)
            try update.bind(2, until)
            try update.bind(3, sagaID)
            try update.bind(4, previousOwner)
            try update.run()
            return update.changes > 0
        }
    }

    /// Appends events and updates the summary atomically, after checking the lease and the event numbers.
    ///
    /// - Throws: `.sagaNotFound`; `.leaseLost` when `owner` does not hold the lease; `.corruptJournal` when the
    ///   numbers do not continue the journal. Nothing is written when it throws.
    public func append(
        _ events: [SagaEvent],
        sagaID: String,
        owner: String,
        progress: SagaProgress,
        leaseUntil: Date
    ) async throws {
        let until = SagaTime.milliseconds(leaseUntil)
        let updatedAt = events.last.map { SagaTime.milliseconds($0.at) }
        let release = !progress.status.isRunnable
        let encoded = events.map(SQLiteRows.EncodedEvent.init)
        // Most appends keep the status and continue a journal whose numbers follow: then one conditional UPDATE
        // checks the lease and the numbers and writes the summary. Otherwise (or when it changes no row) the saga
        // is read first, to report what is wrong or to change its status.
        // (Numbers out of range, which the engine never writes, take the other path and its error.)
        let first = encoded.first?.seq ?? 0
        let direct =
            !release && !encoded.isEmpty && first >= 1 && first <= Int.max - encoded.count
            && encoded.enumerated().allSatisfy { $0.element.seq == first + $0.offset }
        try await write(events: events.count, saga: sagaID) { db in
            if direct {
                let continued = try Self.updateSummary(
                    db, sagaID: sagaID, progress: progress, updatedAt: updatedAt,
                    lastSeq: first - 1 + encoded.count, leaseUntil: until,
                    expecting: (owner: owner, lastSeq: first - 1, status: progress.status.rawValue)
                )
                if continued {
                    try SQLiteRows.insert(encoded, sagaID: sagaID, db: db)
                    return
                }
            }
            let select = try SQLiteRaw(db, "SELECT owner, last_seq, status FROM sagas WHERE id = ?")
            defer { select.reset() }
            try select.bind(1, sagaID)
            guard try select.step() else { throw SagaError.notFound(sagaID) }
            let holder = select.text(0)
            guard holder == owner else { throw SagaError.leaseLost(sagaID, owner: owner, holder: holder) }
            let lastSeq = Int(select.int64(1))
            let status = select.text(2) ?? ""
            select.reset()
            try Self.continueJournal(
                db, sagaID: sagaID, after: lastSeq, status: status, with: encoded, progress: progress,
                updatedAt: updatedAt, leaseUntil: release ? nil : until
            )
        }
    }

    /// Writes a saga's summary after events that keep its status: current step, last error and time (each when
    /// given), last event number and lease expiry. Leaving `status` and `owner` out of the SET list spares SQLite
    /// the status indexes. With `expecting`, only if the saga still has that owner, last number and status.
    ///
    /// - Returns: Whether it updated the saga.
    private static func updateSummary(
        _ db: Database,
        sagaID: String,
        progress: SagaProgress,
        updatedAt: Int64?,
        lastSeq: Int,
        leaseUntil: Int64,
        expecting: (owner: String, lastSeq: Int, status: String)?
    ) throws -> Bool {
        let update = try SQLiteRaw(
            db,
            """
            UPDATE sagas SET
                current_step = COALESCE(?, current_step),
                last_error = COALESCE(?, last_error),
                updated_at = COALESCE(?, updated_at),
                last_seq = ?,
                lease_expires_at = ?
            WHERE id = ?
            """ + (expecting == nil ? "" : " AND owner = ? AND last_seq = ? AND status = ?")
        )
        try update.bind(1, progress.currentStep)
        try update.bind(2, progress.lastError)
        try update.bind(3, updatedAt)
        try update.bind(4, lastSeq)
        try update.bind(5, leaseUntil)
        try update.bind(6, sagaID)
        if let expecting {
            try update.bind(7, expecting.owner)
            try update.bind(8, expecting.lastSeq)
            try update.bind(9, expecting.status)
        }
        try update.run()
        return update.changes == 1
    }

    /// Checks that `events` continue a journal that ends at `lastSeq`, inserts them and updates the saga's
    /// summary; the lease is extended to `leaseUntil`, or released when it is `nil`. What `append` and
    /// `appendUnowned` share, inside their transaction.
    private static func continueJournal(
        _ db: Database,
        sagaID: String,
        after lastSeq: Int,
        status: String,
        with events: [SQLiteRows.EncodedEvent],
        progress: SagaProgress,
        updatedAt: Int64?,
        leaseUntil: Int64?
    ) throws {
        // A `last_seq` the journal cannot continue (a damaged row): refused, not an overflow.
        guard lastSeq >= 0, lastSeq <= Int(Int32.max) else {
            throw SagaError(.corruptJournal, "saga \(sagaID): its last_seq \(lastSeq) is out of range", sagaID: sagaID)
        }
        for (offset, event) in events.enumerated() where event.seq != lastSeq + 1 + offset {
            throw SagaError(
                .corruptJournal,
                "saga \(sagaID): event \(event.seq) does not follow event \(lastSeq + offset)",
                sagaID: sagaID
            )
        }
        try SQLiteRows.insert(events, sagaID: sagaID, db: db)
        if let leaseUntil, status == progress.status.rawValue {
            // Most writes: the status stays, the lease is extended.
            _ = try updateSummary(
                db, sagaID: sagaID, progress: progress, updatedAt: updatedAt, lastSeq: lastSeq + events.count,
                leaseUntil: leaseUntil, expecting: nil
            )
            return
        }
        let release = leaseUntil == nil
        let update = try SQLiteRaw(
            db,
            """
            UPDATE sagas SET
                status = ?,
                current_step = COALESCE(?, current_step),
                last_error = COALESCE(?, last_error),
                updated_at = COALESCE(?, updated_at),
                last_seq = ?,
                owner = CASE WHEN ? THEN NULL ELSE owner END,
                lease_expires_at = CASE WHEN ? THEN NULL ELSE ? END
            WHERE id = ?
            """
        )
        try update.bind(1, progress.status.rawValue)
        try update.bind(2, progress.currentStep)
        try update.bind(3, progress.lastError)
        try update.bind(4, updatedAt)
        try update.bind(5, lastSeq + events.count)
        try update.bind(6, release ? 1 : 0)
        try update.bind(7, release ? 1 : 0)
        try update.bind(8, leaseUntil)
        try update.bind(9, sagaID)
        try update.run()
        if progress.status.isTerminal { try SQLiteSagaStore.releaseExclusiveKeys(sagaID: sagaID, db: db) }
        if progress.status.isTerminal { try SQLiteSagaStore.freeLimitSlots(sagaID: sagaID, db: db) }
    }

    /// Appends events to a saga no worker holds, if its journal still ends at `expectedLastSeq` (compare-and-set).
    ///
    /// - Throws: `.invalidState` when a worker holds a live lease or the journal moved on; `.sagaNotFound`.
    public func appendUnowned(
        _ events: [SagaEvent],
        sagaID: String,
        expectedLastSeq: Int,
        progress: SagaProgress,
        now: Date
    ) async throws {
        let nowMillis = SagaTime.milliseconds(now)
        let updatedAt = events.last.map { SagaTime.milliseconds($0.at) }
        let encoded = events.map(SQLiteRows.EncodedEvent.init)
        try await write(events: events.count) { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT owner, lease_expires_at, last_seq, status FROM sagas WHERE id = ?",
                    arguments: [sagaID]
                )
            else {
                throw SagaError.notFound(sagaID)
            }
            let holder: String? = row[0]
            let expires: Int64? = row[1]
            if let holder, let expires, expires > nowMillis, expires <= SagaRecord.leaseHorizon(now: nowMillis) {
                throw SagaError(.invalidState, "saga \(sagaID) is held by worker \(holder)", sagaID: sagaID)
            }
            let lastSeq: Int = row[2]
            guard lastSeq == expectedLastSeq else {
                throw SagaError.journalMoved(sagaID, expected: expectedLastSeq, actual: lastSeq)
            }
            try Self.continueJournal(
                db, sagaID: sagaID, after: lastSeq, status: row[3], with: encoded, progress: progress,
                updatedAt: updatedAt, leaseUntil: nil
            )
        }
    }

    /// Extends the leases `owner` holds on `sagaIDs`; returns the records of those it still holds, in the order
    /// of `sagaIDs`.
    public func renewLeases(sagaIDs: [String], owner: String, leaseUntil: Date) async throws -> [SagaRecord] {
        guard !sagaIDs.isEmpty else { return [] }
        let until = SagaTime.milliseconds(leaseUntil)
        let held = try await write { db in
            var held: [String: SagaRecord] = [:]
            let unique = Array(Set(sagaIDs))
            for start in stride(from: 0, to: unique.count, by: 500) {
                let chunk = Array(unique[start..<min(start + 500, unique.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                let rows = try Row.fetchAll(
                    db,
                    sql: "UPDATE sagas SET lease_expires_at = ? WHERE owner = ? AND id IN (\(marks)) "
                        + "RETURNING \(SQLiteRows.columns)",
                    arguments: StatementArguments([until, owner] as [any DatabaseValueConvertible])
                        + StatementArguments(chunk)
                )
                for row in rows {
                    let record = try SQLiteRows.record(row, db: db)
                    held[record.id] = record
                }
            }
            return held
        }
        return sagaIDs.compactMap { held[$0] }
    }

    /// Gives up `owner`'s lease on a saga; does nothing when `owner` does not hold it.
    public func release(sagaID: String, owner: String) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE sagas SET owner = NULL, lease_expires_at = NULL WHERE id = ? AND owner = ?",
                arguments: [sagaID, owner]
            )
        }
    }

    /// Records a request to cancel a saga (the first request's reason and time are kept).
    ///
    /// - Throws: `.sagaNotFound`; `.invalidState` when the saga is already terminal.
    public func requestCancel(sagaID: String, reason: String, at: Date) async throws -> SagaRecord {
        let at = SagaTime.milliseconds(at)
        return try await write { db in
            guard let record = try SQLiteRows.fetchSaga(db, id: sagaID) else { throw SagaError.notFound(sagaID) }
            guard !record.status.isTerminal else {
                throw SagaError(
                    .invalidState,
                    "saga \(sagaID) is already \(record.status.rawValue)",
                    sagaID: sagaID
                )
            }
            guard record.cancelRequestedAt == nil else { return record }
            return try SQLiteRows.fetchOneRecord(
                db,
                sql: "UPDATE sagas SET cancel_reason = ?, cancel_requested_at = ?\(SQLiteSagaStore.wakeOnCancel) WHERE id = ? "
                    + "RETURNING \(SQLiteRows.columns)",
                arguments: [reason, at, sagaID]
            ) ?? record
        }
    }

    /// The saga with that id, or `nil`.
    public func saga(id: String) async throws -> SagaRecord? {
        try await read { db in try SQLiteRows.fetchSaga(db, id: id) }
    }

    /// A saga's journal, in order (empty for an unknown saga).
    public func events(sagaID: String) async throws -> [SagaEvent] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT seq, at, type, step, payload FROM saga_events WHERE saga_id = ? ORDER BY seq"),
                arguments: [sagaID]
            ).map { try SQLiteRows.event($0, sagaID: sagaID) }
        }
    }

    /// Sagas matching a query, newest first (by creation time, then creation order).
    ///
    /// Every filter is served by an index: `rerunOf` by `sagas_reruns`; `key` by `sagas_key_created`; `stuckAt` by `sagas_runnable`; otherwise
    /// each status is read from the `(status, created_at)` index newest first, at most `limit` rows each, and the
    /// results merged: fast however many finished sagas the database holds. `after` is a keyset cursor: the
    /// position (creation time, creation order) of the saga it names.
    public func list(_ query: SagaQuery) async throws -> [SagaRecord] {
        guard query.limit > 0 else { return [] }
        let unknownStatus = SQLiteStatusCounts.unknownStatus
        return try await read { db in
            var cursor: (createdAt: Int64, row: Int64)?
            if let after = query.after {
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: "SELECT created_at, rowid FROM sagas WHERE id = ?",
                        arguments: [after]
                    )
                else {
                    throw SagaError(.sagaNotFound, "no saga \(after) to list after", sagaID: after)
                }
                cursor = (row[0], row[1])
            }
            // The filters every branch shares, after the indexed column's own condition.
            func common(_ arguments: inout StatementArguments, skipStatus: Bool) -> String {
                var filter = ""
                if query.rerunOf != nil, let key = query.key {
                    filter += " AND business_key = ?"
                    arguments += [key]
                }
                if !skipStatus, !query.statuses.isEmpty {
                    // One placeholder per distinct status: a status given twice used to leave a placeholder unbound.
                    let wanted = Array(Set(query.statuses))
                    var condition = "status IN (\(wanted.map { _ in "?" }.joined(separator: ", ")))"
                    if wanted.contains(.needsIntervention) { condition += " OR \(unknownStatus)" }
                    filter += " AND (\(condition))"
                    arguments += StatementArguments(wanted.map(\.rawValue))
                }
                if let workflow = query.workflow {
                    filter += " AND workflow = ?"
                    arguments += [workflow]
                }
                if let version = query.version {
                    filter += " AND version = ?"
                    arguments += [version]
                }
                if let since = query.createdSince {
                    filter += " AND created_at >= ?"
                    arguments += [SagaTime.milliseconds(since)]
                }
                if let until = query.createdUntil {
                    filter += " AND created_at < ?"
                    arguments += [SagaTime.milliseconds(until)]
                }
                if let stuckAt = query.stuckAt {
                    let now = SagaTime.milliseconds(stuckAt)
                    filter += " AND (owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= ?)"
                    filter += " AND updated_at < ?"
                    arguments += [now, now - Int64(SagaQuery.stuckAfter * 1000)]
                }
                if let cursor {
                    filter += " AND (created_at < ? OR (created_at = ? AND rowid < ?))"
                    arguments += [cursor.createdAt, cursor.createdAt, cursor.row]
                }
                return filter
            }
            let order = "ORDER BY created_at DESC, rowid DESC LIMIT ?"
            var arguments = StatementArguments()
            let sql: String
            if let rerunOf = query.rerunOf {
                arguments += [rerunOf]
                let filter = common(&arguments, skipStatus: false)
                sql = "SELECT \(SQLiteRows.columns) FROM sagas INDEXED BY sagas_reruns "
                    + "WHERE rerun_of = ?\(filter) \(order)"
            } else if let key = query.key {
                arguments += [key]
                let filter = common(&arguments, skipStatus: false)
                sql = "SELECT \(SQLiteRows.columns) FROM sagas INDEXED BY sagas_key_created "
                    + "WHERE business_key = ?\(filter) \(order)"
            } else if query.stuckAt != nil {
                let filter = common(&arguments, skipStatus: false)
                sql = "SELECT \(SQLiteRows.columns) FROM sagas INDEXED BY sagas_runnable "
                    + "WHERE \(SQLiteRows.runnable)\(filter) \(order)"
            } else {
                let statuses = query.statuses.isEmpty ? SagaStatus.allCases : Array(Set(query.statuses))
                // A status this version does not know (a damaged row) reads as `needs_intervention`: listed with
                // those, and in every unfiltered listing, never hidden.
                var statusFilters: [(sql: String, arguments: StatementArguments)] = statuses.map {
                    ("status = ?", [$0.rawValue])
                }
                if statuses.contains(.needsIntervention) { statusFilters.append((unknownStatus, [])) }
                var parts: [String] = []
                for (statusFilter, statusArguments) in statusFilters {
                    arguments += statusArguments
                    let filter = common(&arguments, skipStatus: true)
                    parts.append(
                        "SELECT * FROM (SELECT \(SQLiteRows.columns), rowid AS row_order FROM sagas "
                            + "WHERE \(statusFilter)\(filter) \(order))"
                    )
                    arguments += [query.limit]
                }
                sql = "SELECT * FROM (\(parts.joined(separator: " UNION ALL "))) "
                    + "ORDER BY created_at DESC, row_order DESC LIMIT ?"
            }
            arguments += [query.limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { try SQLiteRows.record($0, db: db) }
        }
    }

    /// How many sagas have each status (statuses with none are absent): `SQLiteStatusCounts.byStatus`.
    public func countByStatus() async throws -> [SagaStatus: Int] {
        try await read { db in try SQLiteStatusCounts.byStatus(db) }
    }

    /// Up to `limit` sagas that are runnable and leased.
    public func leasedSagas(limit: Int) async throws -> [SagaRecord] {
        guard limit > 0 else { return [] }
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(SQLiteRows.columns) FROM sagas INDEXED BY sagas_runnable "
                    + "WHERE \(SQLiteRows.runnable) AND owner IS NOT NULL "
                    + "ORDER BY created_at LIMIT ?",
                arguments: [limit]
            ).map { try SQLiteRows.record($0, db: db) }
        }
    }
}
