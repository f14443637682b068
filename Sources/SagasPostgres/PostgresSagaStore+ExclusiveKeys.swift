import PostgresNIO
public import Sagas

// Exclusive keys (issue 21): `saga_key_queue` and `sagas.key_wait` (migration 0007-limits). The queue changes only
// inside the statements that create a saga (`saga_enqueue_keys`, in its INSERT) and make one terminal
// (`saga_lock_keys` in the UPDATE's condition, `saga_release_keys` after it), each under the advisory locks of the
// saga's keys: one commit per change, as for a saga without keys.
extension PostgresSagaStore: SagaStoreExclusiveKeys {
    /// `, key_wait` for the INSERT of a saga with exclusive keys; nothing for one without.
    func keyWaitColumn(_ record: SagaRecord) -> String {
        record.exclusiveKeys.isEmpty ? "" : ", key_wait"
    }

    /// The value of `key_wait` for a saga with exclusive keys: the call that queues it, evaluated before its row is
    /// inserted. A saga created leased (or already past pending) must have every key at once (`.keyBusy`
    /// otherwise, and nothing is written); one created terminal only checks, since it would release them at once.
    func keyWaitValue(_ record: SagaRecord, into s: inout PostgresStatement) -> [String] {
        guard !record.exclusiveKeys.isEmpty else { return [] }
        let mode: Int32
        if record.status.isTerminal {
            mode = 2
        } else if record.owner != nil || record.status != .pending {
            mode = 1
        } else {
            mode = 0
        }
        let id = s.bind(record.id)
        let keys = s.bind(record.exclusiveKeys)
        let modeMark = s.bind(mode)
        return ["\(schema.schema).saga_enqueue_keys(\(id)::text, \(keys)::text[], \(modeMark)::integer)"]
    }

    /// The condition that locks a saga's keys before its row, in the UPDATE that makes it terminal (so that a
    /// release of an earlier saga, which updates this saga's row under the same locks, never waits for it in a
    /// cycle). Nothing for a write that leaves it runnable or parked.
    func keyLock(_ progress: SagaProgress, id: String) -> String {
        progress.status.isTerminal ? " AND \(schema.schema).saga_lock_keys(\(id)::text)" : ""
    }

    /// The term that releases the keys of a saga the UPDATE `updated` made terminal (adds 0 to the count).
    func keyRelease(_ progress: SagaProgress) -> String {
        progress.status.isTerminal
            ? " + 0 * COALESCE((SELECT \(schema.schema).saga_release_keys(id) FROM updated), 0)" : ""
    }

    public func keys(of sagaID: String) async throws -> [SagaKeyHold] {
        var s = PostgresStatement()
        let id = s.bind(sagaID)
        s.append(
            """
            SELECT q.key,
                (SELECT h.saga_id FROM \(schema.keyQueue) AS h WHERE h.key = q.key ORDER BY h.position LIMIT 1),
                (SELECT count(*) FROM \(schema.keyQueue) AS p WHERE p.key = q.key AND p.position < q.position)
            FROM \(schema.keyQueue) AS q WHERE q.saga_id = \(id) ORDER BY q.ordinal
            """
        )
        return try await rows(s).map { row in
            let (key, holder, ahead) = try decoded { try row.decode((String, String?, Int64).self) }
            return SagaKeyHold(key: key, sagaID: sagaID, holder: holder ?? sagaID, ahead: Int(ahead))
        }
    }

    public func keyHolders(limit: Int) async throws -> [(hold: SagaKeyHold, waiting: Int)] {
        var s = PostgresStatement()
        let limitMark = s.bind(Int64(max(0, limit)))
        s.append(
            """
            SELECT q.key, count(*) - 1 AS waiting,
                (SELECT h.saga_id FROM \(schema.keyQueue) AS h WHERE h.key = q.key ORDER BY h.position LIMIT 1)
            FROM \(schema.keyQueue) AS q GROUP BY q.key ORDER BY waiting DESC, q.key LIMIT \(limitMark)
            """
        )
        return try await rows(s).map { row in
            let (key, waiting, holder) = try decoded { try row.decode((String, Int64, String).self) }
            return (SagaKeyHold(key: key, sagaID: holder, holder: holder, ahead: 0), Int(waiting))
        }
    }
}
