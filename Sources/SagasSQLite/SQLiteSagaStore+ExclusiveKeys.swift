import GRDB
public import Sagas

// Exclusive keys (issue 21): the queue table `saga_key_queue` and the count `sagas.key_wait` (migration 7).
extension SQLiteSagaStore: SagaStoreExclusiveKeys {
    /// Queues a new saga for each of its keys, after every saga queued before it, and counts the keys it must wait
    /// for. Inside the transaction that inserts the saga.
    static func enqueueExclusiveKeys(_ record: SagaRecord, db: Database) throws {
        guard !record.exclusiveKeys.isEmpty else { return }
        let insert = try db.cachedStatement(sql: "INSERT INTO saga_key_queue (key, saga_id) VALUES (?, ?)")
        for key in record.exclusiveKeys {
            try insert.execute(arguments: [key, record.id])
        }
        try updateKeyWait(sagaID: record.id, db: db)
    }

    /// `createLeased` of a saga with exclusive keys: throws `.keyBusy` (rolling its write back) when an earlier saga
    /// holds one of them, since a saga that waits for a key must hold no lease.
    static func checkKeysFree(_ record: SagaRecord, db: Database) throws {
        let wait = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT key_wait FROM sagas WHERE id = ?"), arguments: [record.id]) ?? 0
        guard wait == 0 else {
            throw SagaError(
                .keyBusy, "saga \(record.id) waits for an exclusive key an earlier saga holds; nothing was written",
                sagaID: record.id)
        }
    }

    /// Sets a saga's `key_wait` to the number of its keys for which an earlier saga is queued.
    static func updateKeyWait(sagaID: String, db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE sagas SET key_wait = (
                    SELECT COUNT(*) FROM saga_key_queue q
                    WHERE q.saga_id = ?1 AND EXISTS (
                        SELECT 1 FROM saga_key_queue p WHERE p.key = q.key AND p.position < q.position
                    )
                )
                WHERE id = ?1
                """
        ).execute(arguments: [sagaID])
    }

    /// Takes a saga that became terminal out of its queues, and recounts the waits of the sagas now first in
    /// them. Inside the transaction that makes it terminal; a saga without keys costs one lookup of an index.
    static func releaseExclusiveKeys(sagaID: String, db: Database) throws {
        let keys = try String.fetchAll(
            db.cachedStatement(sql: "DELETE FROM saga_key_queue WHERE saga_id = ? RETURNING key"),
            arguments: [sagaID]
        )
        guard !keys.isEmpty else { return }
        var next: Set<String> = []
        for key in keys {
            if let head = try String.fetchOne(
                db.cachedStatement(sql: "SELECT saga_id FROM saga_key_queue WHERE key = ? ORDER BY position LIMIT 1"),
                arguments: [key]
            ) {
                next.insert(head)
            }
        }
        for sagaID in next.sorted() {
            try updateKeyWait(sagaID: sagaID, db: db)
        }
    }

    public func keys(of sagaID: String) async throws -> [SagaKeyHold] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT q.key,
                        (SELECT h.saga_id FROM saga_key_queue h WHERE h.key = q.key ORDER BY h.position LIMIT 1),
                        (SELECT COUNT(*) FROM saga_key_queue p WHERE p.key = q.key AND p.position < q.position)
                    FROM saga_key_queue q WHERE q.saga_id = ? ORDER BY q.position
                    """,
                arguments: [sagaID]
            )
            return rows.map { row in
                SagaKeyHold(key: row[0], sagaID: sagaID, holder: row[1] ?? sagaID, ahead: row[2])
            }
        }
    }

    public func keyHolders(limit: Int) async throws -> [(hold: SagaKeyHold, waiting: Int)] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT q.key, COUNT(*) - 1 AS waiting,
                        (SELECT h.saga_id FROM saga_key_queue h WHERE h.key = q.key ORDER BY h.position LIMIT 1)
                    FROM saga_key_queue q GROUP BY q.key ORDER BY waiting DESC, q.key LIMIT ?
                    """,
                arguments: [max(0, limit)]
            )
            return rows.map { row in
                let holder: String = row[2]
                return (SagaKeyHold(key: row[0], sagaID: holder, holder: holder, ahead: 0), row[1])
            }
        }
    }
}
