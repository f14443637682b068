public import Foundation
import GRDB
public import Sagas

// Webhook subscriptions and deliveries (issue 19): tables of migration v5, and the journal read in commit order
// through `event_feed`, which a trigger on `saga_events` fills in the writing transaction.
extension SQLiteSagaStore: SagaStoreWebhooks {
    static let subscriptionColumns =
        "id, url, secrets, event_types, workflow, state, state_reason, position, created_at, failing_since, "
        + "last_success_at"
    static let deliveryColumns =
        "id, subscription_id, position, ordinal, saga_id, seq, type, body, state, attempts, next_attempt_at, "
        + "created_at, delivered_at, last_status, last_error"

    /// The delivery `d` is the earliest pending one of its saga for its subscription (a saga's events go in order).
    static let firstOfSaga = """
        NOT EXISTS (
            SELECT 1 FROM webhook_deliveries e INDEXED BY webhook_deliveries_saga
            WHERE e.state = 'pending' AND e.subscription_id = d.subscription_id AND e.saga_id = d.saga_id
              AND (e.position < d.position OR (e.position = d.position AND e.ordinal < d.ordinal))
        )
        """

    static func subscription(_ row: Row) -> SagaWebhookSubscription {
        let secrets: String = row[2]
        let types: String = row[3]
        return SagaWebhookSubscription(
            id: row[0],
            url: row[1],
            secrets: secrets.split(separator: " ").map(String.init),
            eventTypes: types.split(separator: ",").compactMap { SagaWebhookEventType(rawValue: String($0)) },
            workflow: row[4],
            state: SagaWebhookSubscription.State(rawValue: row[5]) ?? .paused,
            stateReason: row[6],
            position: row[7],
            createdAt: SagaTime.date(milliseconds: row[8]),
            failingSince: (row[9] as Int64?).map { SagaTime.date(milliseconds: $0) },
            lastSuccessAt: (row[10] as Int64?).map { SagaTime.date(milliseconds: $0) }
        )
    }

    static func delivery(_ row: Row) -> SagaWebhookDelivery {
        SagaWebhookDelivery(
            id: row[0],
            subscriptionID: row[1],
            position: row[2],
            ordinal: row[3],
            sagaID: row[4],
            seq: row[5],
            type: SagaWebhookEventType(rawValue: row[6]) ?? .sagaStarted,
            body: row[7],
            state: SagaWebhookDelivery.State(rawValue: row[8]) ?? .failed,
            attempts: row[9],
            nextAttemptAt: SagaTime.date(milliseconds: row[10]),
            createdAt: SagaTime.date(milliseconds: row[11]),
            deliveredAt: (row[12] as Int64?).map { SagaTime.date(milliseconds: $0) },
            lastStatus: row[13],
            lastError: row[14]
        )
    }

    static func fetchSubscription(_ db: Database, id: String) throws -> SagaWebhookSubscription? {
        try Row.fetchOne(
            db,
            sql: "SELECT \(subscriptionColumns) FROM webhook_subscriptions WHERE id = ?",
            arguments: [id]
        ).map(subscription)
    }

    public func addWebhookSubscription(_ subscription: SagaWebhookSubscription) async throws -> SagaWebhookSubscription {
        try await write { db in
            var added = subscription
            added.position = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(position), 0) FROM event_feed") ?? 0
            try db.execute(
                sql: "INSERT INTO webhook_subscriptions (\(Self.subscriptionColumns)) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                arguments: [
                    added.id, added.url, added.secrets.joined(separator: " "),
                    added.eventTypes.map(\.rawValue).joined(separator: ","), added.workflow, added.state.rawValue,
                    added.stateReason, added.position, SagaTime.milliseconds(added.createdAt),
                ]
            )
            return added
        }
    }

    public func webhookSubscriptions() async throws -> [SagaWebhookSubscription] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.subscriptionColumns) FROM webhook_subscriptions ORDER BY created_at, id"
            ).map(Self.subscription)
        }
    }

    public func removeWebhookSubscription(id: String) async throws {
        let removed = try await write { db in
            try db.execute(sql: "DELETE FROM webhook_subscriptions WHERE id = ?", arguments: [id])
            return db.changesCount
        }
        if removed == 0 { throw Self.noSubscription(id) }
    }

    static func noSubscription(_ id: String) -> SagaError {
        SagaError(.webhookNotFound, "no webhook subscription has id '\(EchoedText.clip(id))'")
    }

    public func setWebhookSubscriptionState(
        id: String,
        state: SagaWebhookSubscription.State,
        reason: String?
    ) async throws {
        let changed = try await write { db in
            try db.execute(
                sql: "UPDATE webhook_subscriptions SET state = ?, state_reason = ?, "
                    + "failing_since = CASE WHEN ? = 'active' THEN NULL ELSE failing_since END WHERE id = ?",
                arguments: [state.rawValue, reason, state.rawValue, id]
            )
            return db.changesCount
        }
        if changed == 0 { throw Self.noSubscription(id) }
    }

    public func setWebhookSecrets(id: String, secrets: [String]) async throws {
        let changed = try await write { db in
            try db.execute(
                sql: "UPDATE webhook_subscriptions SET secrets = ? WHERE id = ?",
                arguments: [secrets.joined(separator: " "), id]
            )
            return db.changesCount
        }
        if changed == 0 { throw Self.noSubscription(id) }
    }

    /// Reads up to `limit` rows of `event_feed` past `position`, joined with the events and their sagas; an event
    /// that does not decode is skipped (its saga is parked by the worker that runs it), but counts in `end`.
    public func webhookFeed(after position: Int64, limit: Int) async throws
        -> (entries: [SagaWebhookFeedEntry], end: Int64)
    {
        try await read { db in
            let end = try Int64.fetchOne(
                db,
                sql: "SELECT MAX(position) FROM (SELECT position FROM event_feed WHERE position > ? ORDER BY position LIMIT ?)",
                arguments: [position, limit]
            ) ?? position
            let entries = try Row.fetchAll(
                db,
                sql: """
                    SELECT e.seq, e.at, e.type, e.step, e.payload, f.position,
                           s.id, s.workflow, s.version, s.business_key, s.status
                    FROM event_feed f
                    JOIN saga_events e ON e.saga_id = f.saga_id AND e.seq = f.seq
                    JOIN sagas s ON s.id = f.saga_id
                    WHERE f.position > ? AND f.position <= ?
                    ORDER BY f.position
                    """,
                arguments: [position, end]
            ).compactMap { row -> SagaWebhookFeedEntry? in
                let sagaID: String = row[6]
                // A damaged event is skipped here: `saga show` reports it, and a worker parks its saga.
                guard let event = try? SQLiteRows.event(row, sagaID: sagaID),
                    let status = SagaStatus(rawValue: row[10])
                else { return nil }
                return SagaWebhookFeedEntry(
                    position: row[5],
                    sagaID: sagaID,
                    workflow: row[7],
                    version: row[8],
                    key: row[9],
                    status: status,
                    event: event
                )
            }
            return (entries, end)
        }
    }

    public func enqueueWebhookDeliveries(
        _ deliveries: [SagaWebhookDelivery],
        subscriptionID: String,
        from: Int64,
        to: Int64,
        now: Date
    ) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE webhook_subscriptions SET position = ? WHERE id = ? AND position = ? AND state != 'disabled'",
                arguments: [to, subscriptionID, from]
            )
            guard db.changesCount == 1 else { return false }
            let insert = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO webhook_deliveries (\(Self.deliveryColumns)) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, NULL, NULL, NULL)"
            )
            for d in deliveries {
                try insert.execute(arguments: [
                    d.id, subscriptionID, d.position, d.ordinal, d.sagaID, d.seq, d.type.rawValue, d.body,
                    SagaTime.milliseconds(d.nextAttemptAt), SagaTime.milliseconds(d.createdAt),
                ])
            }
            return true
        }
    }

    /// Leases the due deliveries that have no earlier pending delivery of the same saga for the same subscription.
    public func claimWebhookDeliveries(owner: String, now: Date, leaseUntil: Date, limit: Int) async throws
        -> [SagaWebhookDelivery]
    {
        guard limit > 0 else { return [] }
        let nowMs = SagaTime.milliseconds(now)
        let until = SagaTime.milliseconds(leaseUntil)
        return try await write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    UPDATE webhook_deliveries SET owner = ?, lease_expires_at = ?
                    WHERE id IN (
                        SELECT d.id FROM webhook_deliveries d INDEXED BY webhook_deliveries_due
                        JOIN webhook_subscriptions s ON s.id = d.subscription_id
                        WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND s.state = 'active'
                          AND (d.owner IS NULL OR d.lease_expires_at <= ?)
                          AND \(Self.firstOfSaga)
                        ORDER BY d.position, d.ordinal
                        LIMIT ?
                    )
                    RETURNING \(Self.deliveryColumns)
                    """,
                arguments: [owner, until, nowMs, nowMs, limit]
            )
            return rows.map(Self.delivery).sorted { ($0.position, $0.ordinal) < ($1.position, $1.ordinal) }
        }
    }

    public func finishWebhookDelivery(id: String, owner: String, outcome: SagaWebhookDelivery.Outcome) async throws
        -> SagaWebhookSubscription?
    {
        try await write { db in
            let subscriptionID = try String.fetchOne(
                db,
                sql: "SELECT subscription_id FROM webhook_deliveries WHERE id = ? AND owner = ? AND state = 'pending'",
                arguments: [id, owner]
            )
            guard let subscriptionID else { return nil }
            switch outcome {
            case .delivered(let status, let at):
                let ms = SagaTime.milliseconds(at)
                try db.execute(
                    sql: "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, owner = NULL, "
                        + "lease_expires_at = NULL, delivered_at = ?, last_status = ?, last_error = NULL WHERE id = ?",
                    arguments: [ms, status, id]
                )
                try db.execute(
                    sql: "UPDATE webhook_subscriptions SET failing_since = NULL, last_success_at = ? WHERE id = ?",
                    arguments: [ms, subscriptionID]
                )
            case .retry(let status, let error, let next):
                try db.execute(
                    sql: "UPDATE webhook_deliveries SET attempts = attempts + 1, owner = NULL, lease_expires_at = NULL, "
                        + "next_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?",
                    arguments: [SagaTime.milliseconds(next), status, error, id]
                )
                try Self.markFailing(db, subscriptionID: subscriptionID)
            case .failed(let status, let error):
                try db.execute(
                    sql: "UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1, owner = NULL, "
                        + "lease_expires_at = NULL, last_status = ?, last_error = ? WHERE id = ?",
                    arguments: [status, error, id]
                )
                try Self.markFailing(db, subscriptionID: subscriptionID)
            }
            return try Self.fetchSubscription(db, id: subscriptionID)
        }
    }

    private static func markFailing(_ db: Database, subscriptionID: String) throws {
        try db.execute(
            sql: "UPDATE webhook_subscriptions SET failing_since = COALESCE(failing_since, ?) WHERE id = ?",
            arguments: [SagaTime.milliseconds(Date()), subscriptionID]
        )
    }

    public func webhookDeliveries(_ query: SagaWebhookDeliveryQuery) async throws -> [SagaWebhookDelivery] {
        var conditions: [String] = []
        var arguments = StatementArguments()
        if !query.states.isEmpty {
            conditions.append("state IN (" + query.states.map { _ in "?" }.joined(separator: ", ") + ")")
            for state in query.states { _ = arguments.append(contentsOf: [state.rawValue]) }
        }
        if let subscriptionID = query.subscriptionID {
            conditions.append("subscription_id = ?")
            _ = arguments.append(contentsOf: [subscriptionID])
        }
        if let since = query.since {
            conditions.append("created_at >= ?")
            _ = arguments.append(contentsOf: [SagaTime.milliseconds(since)])
        }
        _ = arguments.append(contentsOf: [query.limit])
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql =
            "SELECT \(Self.deliveryColumns) FROM webhook_deliveries \(whereClause) "
            + "ORDER BY created_at DESC, position DESC, ordinal DESC LIMIT ?"
        let args = arguments
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: args).map(Self.delivery)
        }
    }

    public func replayWebhookDeliveries(ids: [String], since: Date?, now: Date) async throws -> Int {
        let nowMs = SagaTime.milliseconds(now)
        let sinceMs = since.map(SagaTime.milliseconds)
        return try await write { db in
            let set =
                "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, owner = NULL, "
                + "lease_expires_at = NULL, delivered_at = NULL WHERE state != 'pending' AND "
            var total = 0
            for id in ids {
                try db.execute(sql: set + "id = ?", arguments: [nowMs, id])
                total += db.changesCount
            }
            if let sinceMs {
                try db.execute(sql: set + "created_at >= ?", arguments: [nowMs, sinceMs])
                total += db.changesCount
            }
            return total
        }
    }

    public func webhookBacklog(now: Date) async throws -> (due: Int, unqueued: Int) {
        let nowMs = SagaTime.milliseconds(now)
        return try await read { db in
            let due =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM webhook_deliveries d INDEXED BY webhook_deliveries_due
                        JOIN webhook_subscriptions s ON s.id = d.subscription_id
                        WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND s.state = 'active'
                          AND \(Self.firstOfSaga)
                        """,
                    arguments: [nowMs]
                ) ?? 0
            let unqueued =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM event_feed
                        WHERE position > (SELECT MIN(position) FROM webhook_subscriptions WHERE state = 'active')
                        """
                ) ?? 0
            return (due, unqueued)
        }
    }
}
