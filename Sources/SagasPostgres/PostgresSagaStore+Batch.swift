import Foundation
import PostgresNIO
import Sagas

// Group commit (issue 16): appends of several sagas in one statement, so one commit. Each saga's fence (its owner,
// the lease epoch this store claimed it with, its last event number) is checked in the statement's UPDATE, row by
// row: a saga whose fence fails is not updated, its events are not inserted, and the statement returns the sagas it
// did take. The others commit; the refused one is answered alone (`append` then reads it to say why).
extension PostgresSagaStore {
    /// Writes `append` through the group commit. Returns `true` when it was written, `false` when its fence failed
    /// (nothing written).
    ///
    /// - Throws: The mapped error of the statement when it failed (nothing of it was written, or, when its answer
    ///   was lost, all of it: `append`'s retry finds the events already journaled). A batch of several that failed
    ///   is run again with this append alone, so that one saga's error is its own.
    func appendBatched(_ append: PostgresAppend) async throws -> Bool {
        guard configuration.groupCommit else { return try await !writeBatch([append]).isEmpty }
        switch await appendBatcher.submit(append, flush: { [self] batch in try await writeBatch(batch) }) {
        case .taken:
            return true
        case .refused:
            return false
        case .failed(let error, let batchSize):
            guard batchSize > 1, error.code != .databaseUnavailable else { throw error }
            return try await !writeBatch([append]).isEmpty
        }
    }

    /// How the journal's appends went since the store was made: `commits` statements (each its own commit) wrote
    /// `appends` appends with `eventRows` journal rows in `seconds` (summed over statements in flight); `largest`
    /// appends shared the largest statement. Creations, claims and renewals are not counted.
    public func appendStatistics() -> (commits: Int, appends: Int, eventRows: Int, seconds: Double, largest: Int) {
        let s = appendBatcher.statistics
        return (s.commits, s.appends, s.eventRows, s.seconds, s.largest)
    }

    /// One statement that appends each of `batch` whose fence holds, and returns the indices of those it wrote.
    func writeBatch(_ batch: [PostgresAppend]) async throws -> Set<Int> {
        guard !batch.isEmpty else { return [] }
        var s = PostgresStatement()
        var inputs: [String] = []
        var journal: [String] = []
        var anyTerminal = false
        for (index, append) in batch.enumerated() {
            let terminal = append.progress.status.isTerminal
            anyTerminal = anyTerminal || terminal
            let first = Int64(append.events.first?.seq ?? 1)
            let last = Int64(append.events.last?.seq ?? 0)
            let updatedAt: Int64? = append.events.last.map { SagaTime.milliseconds($0.at) }
            let lease: Int64? = append.leaseUntil.map(SagaTime.milliseconds)
            let values: [String] = [
                "\(s.bind(Int64(index)))::bigint", "\(s.bind(append.sagaID))::text", "\(s.bind(append.owner))::text",
                "\(s.bind(append.epoch))::bigint", "\(s.bind(first - 1))::bigint", "\(s.bind(last))::bigint",
                "\(s.bind(append.progress.status.rawValue))::text", "\(s.bind(append.progress.currentStep))::text",
                "\(s.bind(append.progress.lastError))::text", "\(s.bind(updatedAt))::bigint",
                "\(s.bind(lease))::bigint", "\(s.bind(terminal))::boolean",
            ]
            inputs.append("(" + values.joined(separator: ", ") + ")")
            journal.append(PostgresRows.values(append.events, sagaID: append.sagaID, into: &s))
        }
        let lockKeys = anyTerminal ? " AND (NOT i.terminal OR \(schema.schema).saga_lock_keys(s.id))" : ""
        let releaseKeys = anyTerminal
            ? ", CASE WHEN u.terminal THEN \(schema.schema).saga_release_keys(u.id) ELSE 0 END" : ""
        // As `writeSummary` for one saga: the keys of a saga made terminal are locked before its row (in the
        // UPDATE's condition) and released after (in the main query), under the same advisory locks.
        s.append(
            """
            WITH input (idx, id, owner, epoch, prev_seq, last_seq, status, step, error, updated_at, lease, terminal)
            AS (VALUES \(inputs.joined(separator: ", "))),
            updated AS (
                UPDATE \(schema.sagas) AS s SET
                    status = i.status,
                    current_step = COALESCE(i.step, s.current_step),
                    last_error = COALESCE(i.error, s.last_error),
                    updated_at = COALESCE(i.updated_at, s.updated_at),
                    last_seq = i.last_seq,
                    owner = CASE WHEN i.lease IS NULL THEN NULL ELSE s.owner END,
                    lease_expires_at = i.lease
                FROM input AS i
                WHERE s.id = i.id AND s.owner = i.owner AND (i.epoch IS NULL OR s.lease_epoch = i.epoch)
                  AND s.last_seq = i.prev_seq\(lockKeys)
                RETURNING i.idx, s.id, i.terminal
            ), journal AS (
                INSERT INTO \(schema.events) (saga_id, seq, at, type, step, payload)
                SELECT v.* FROM (VALUES \(journal.joined(separator: ", "))) AS v (saga_id, seq, at, type, step, payload)
                WHERE v.saga_id IN (SELECT id FROM updated)
                RETURNING 1
            )
            SELECT u.idx\(releaseKeys) FROM updated AS u
            """
        )
        let began = ContinuousClock.now
        var taken = Set<Int>()
        for row in try await rows(s) {
            let index = try decoded { try PostgresRandomAccessRow(row)[0].decode(Int64.self) }
            taken.insert(Int(index))
        }
        let rowsWritten = taken.reduce(0) { $0 + batch[$1].events.count }
        appendBatcher.record(
            size: batch.count, appends: taken.count, eventRows: rowsWritten,
            seconds: SagaDuration.seconds(ContinuousClock.now - began)
        )
        return taken
    }
}
