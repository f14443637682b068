public import Foundation
import Logging
import PostgresNIO
public import Sagas

// Webhook subscriptions and deliveries on PostgreSQL (issue 19), on the tables of migration `0003-webhooks`.
//
// The feed: a trigger writes a row per lifecycle event, in the event's transaction, without a position;
// ``numberFeed()`` hands out positions to committed rows only, one pass at a time, so positions follow the commit
// order and a reader never passes a position that a late commit could still fill. Several nodes share the work:
// queuing is a compare-and-set of the subscription's position, and deliveries are claimed with
// `FOR UPDATE SKIP LOCKED`.
extension PostgresSagaStore: SagaStoreWebhooks {
    static let subscriptionColumns =
        "id, url, secrets, event_types, workflow, state, state_reason, position, created_at, failing_since, "
        + "last_success_at"
    static let deliveryColumns =
        "id, subscription_id, position, ordinal, saga_id, seq, type, body, state, attempts, next_attempt_at, "
        + "created_at, delivered_at, last_status, last_error"

    /// The delivery `d` is the earliest pending one of its saga for its subscription (a saga's events go in order).
    func firstOfSaga() -> String {
        """
        NOT EXISTS (
            SELECT 1 FROM \(schema.deliveries) e
            WHERE e.state = 'pending' AND e.subscription_id = d.subscription_id AND e.saga_id = d.saga_id
              AND (e.position < d.position OR (e.position = d.position AND e.ordinal < d.ordinal))
        )
        """
    }

    static func subscription(_ row: PostgresRow) throws -> SagaWebhookSubscription {
        let r = PostgresRandomAccessRow(row)
        let secrets = try r[2].decode(String.self)
        let types = try r[3].decode(String.self)
        return SagaWebhookSubscription(
            id: try r[0].decode(String.self),
            url: try r[1].decode(String.self),
            secrets: secrets.split(separator: " ").map(String.init),
            eventTypes: types.split(separator: ",").compactMap { SagaWebhookEventType(rawValue: String($0)) },
            workflow: try r[4].decode(String?.self),
            state: SagaWebhookSubscription.State(rawValue: try r[5].decode(String.self)) ?? .paused,
            stateReason: try r[6].decode(String?.self),
            position: try r[7].decode(Int64.self),
            createdAt: SagaTime.date(milliseconds: try r[8].decode(Int64.self)),
            failingSince: try r[9].decode(Int64?.self).map(SagaTime.date(milliseconds:)),
            lastSuccessAt: try r[10].decode(Int64?.self).map(SagaTime.date(milliseconds:))
        )
    }

    static func delivery(_ row: PostgresRow) throws -> SagaWebhookDelivery {
        let r = PostgresRandomAccessRow(row)
        return SagaWebhookDelivery(
            id: try r[0].decode(String.self),
            subscriptionID: try r[1].decode(String.self),
            position: try r[2].decode(Int64.self),
            ordinal: try r[3].decode(Int.self),
            sagaID: try r[4].decode(String.self),
            seq: try r[5].decode(Int.self),
            type: SagaWebhookEventType(rawValue: try r[6].decode(String.self)) ?? .sagaStarted,
            body: try r[7].decode(String.self),
            state: SagaWebhookDelivery.State(rawValue: try r[8].decode(String.self)) ?? .failed,
            attempts: try r[9].decode(Int.self),
            nextAttemptAt: SagaTime.date(milliseconds: try r[10].decode(Int64.self)),
            createdAt: SagaTime.date(milliseconds: try r[11].decode(Int64.self)),
            deliveredAt: try r[12].decode(Int64?.self).map(SagaTime.date(milliseconds:)),
            lastStatus: try r[13].decode(Int?.self),
            lastError: try r[14].decode(String?.self)
        )
    }

    static func noSubscription(_ id: String) -> SagaError {
        SagaError(.webhookNotFound, "no webhook subscription has id '\(EchoedText.clip(id))'")
    }

    /// Runs a statement and returns how many rows it returned (`RETURNING 1`).
    private func count(_ statement: PostgresStatement) async throws -> Int {
        try await rows(statement).count
    }

    /// Hands out feed positions to the rows that have committed, in batches of 5,000, from `event_feed_head`.
    /// Passes run one at a time: each takes an advisory transaction lock, held until it commits, before the
    /// statement that numbers, so that statement's snapshot sees every earlier pass; the rows it sees are committed,
    /// and a row that commits afterwards is numbered by a later pass, above them. A node that finds the lock taken
    /// leaves the work to its holder.
    func numberFeed() async throws {
        let client = self.client
        let logger = self.logger
        let schema = self.schema
        do {
            try await Self.withDeadline(configuration.statementTimeout, database: errors.name) {
                try await client.withTransaction(logger: logger) { connection in
                    let lock = try await connection.query(
                        PostgresQuery(unsafeSQL: "SELECT pg_try_advisory_xact_lock(\(schema.feedLockKey))"),
                        logger: logger
                    ).collect()
                    guard try lock.first?.decode(Bool.self) == true else { return }
                    // A statement after the lock: its snapshot sees every earlier numbering pass.
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: """
                                WITH head AS (SELECT last FROM \(schema.feedHead)),
                                todo AS (
                                    SELECT id, row_number() OVER (ORDER BY id) AS n FROM (
                                        SELECT id FROM \(schema.feed) WHERE position IS NULL ORDER BY id LIMIT 5000
                                    ) AS t
                                ),
                                numbered AS (
                                    UPDATE \(schema.feed) AS f SET position = head.last + todo.n
                                    FROM todo, head WHERE f.id = todo.id
                                    RETURNING 1
                                )
                                UPDATE \(schema.feedHead) SET last = last + (SELECT count(*) FROM numbered)
                                """
                        ),
                        logger: logger
                    )
                }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw errors.map(error)
        }
    }

    public func addWebhookSubscription(_ subscription: SagaWebhookSubscription) async throws -> SagaWebhookSubscription {
        try await numberFeed()
        var s = PostgresStatement()
        let values = [
            s.bind(subscription.id), s.bind(subscription.url), s.bind(subscription.secrets.joined(separator: " ")),
            s.bind(subscription.eventTypes.map(\.rawValue).joined(separator: ",")), s.bind(subscription.workflow),
            s.bind(subscription.state.rawValue), s.bind(subscription.stateReason),
            "(SELECT last FROM \(schema.feedHead))", s.bind(SagaTime.milliseconds(subscription.createdAt)),
        ]
        s.append(
            "INSERT INTO \(schema.subscriptions) (id, url, secrets, event_types, workflow, state, state_reason, "
                + "position, created_at) VALUES (\(values.joined(separator: ", "))) RETURNING position"
        )
        var added = subscription
        guard let row = try await rows(s).first else {
            throw SagaError(.storageFailure, "the webhook subscription \(subscription.id) was not stored")
        }
        added.position = try decoded { try row.decode(Int64.self) }
        return added
    }

    public func webhookSubscriptions() async throws -> [SagaWebhookSubscription] {
        let s = PostgresStatement(
            "SELECT \(Self.subscriptionColumns) FROM \(schema.subscriptions) ORDER BY created_at, id"
        )
        let found = try await rows(s)
        return try decoded { try found.map(Self.subscription) }
    }

    public func removeWebhookSubscription(id: String) async throws {
        var s = PostgresStatement("DELETE FROM \(schema.subscriptions) WHERE id = ")
        s.append(s.bind(id) + " RETURNING 1")
        if try await count(s) == 0 { throw Self.noSubscription(id) }
    }

    public func setWebhookSubscriptionState(
        id: String,
        state: SagaWebhookSubscription.State,
        reason: String?
    ) async throws {
        var s = PostgresStatement()
        let stateMark = s.bind(state.rawValue)
        let reasonMark = s.bind(reason)
        let idMark = s.bind(id)
        s.append(
            "UPDATE \(schema.subscriptions) SET state = \(stateMark), state_reason = \(reasonMark), "
                + "failing_since = CASE WHEN \(stateMark) = 'active' THEN NULL ELSE failing_since END "
                + "WHERE id = \(idMark) RETURNING 1"
        )
        if try await count(s) == 0 { throw Self.noSubscription(id) }
    }

    public func setWebhookSecrets(id: String, secrets: [String]) async throws {
        var s = PostgresStatement()
        let secretsMark = s.bind(secrets.joined(separator: " "))
        let idMark = s.bind(id)
        s.append("UPDATE \(schema.subscriptions) SET secrets = \(secretsMark) WHERE id = \(idMark) RETURNING 1")
        if try await count(s) == 0 { throw Self.noSubscription(id) }
    }

    /// Numbers the feed, then reads up to `limit` numbered rows past `position`, joined with the events and their
    /// sagas; an event that does not decode is skipped (its saga is parked by the worker that runs it), but counts
    /// in `end`.
    public func webhookFeed(after position: Int64, limit: Int) async throws
        -> (entries: [SagaWebhookFeedEntry], end: Int64)
    {
        try await numberFeed()
        var s = PostgresStatement()
        let after = s.bind(position)
        let limitMark = s.bind(Int64(max(1, limit)))
        s.append(
            """
            WITH page AS (
                SELECT position, saga_id, seq FROM \(schema.feed)
                WHERE position > \(after) ORDER BY position LIMIT \(limitMark)
            )
            SELECT e.seq, e.at, e.type, e.step, e.payload, p.position,
                   sg.id, sg.workflow, sg.version, sg.business_key, sg.status
            FROM page AS p
            LEFT JOIN \(schema.events) AS e ON e.saga_id = p.saga_id AND e.seq = p.seq
            LEFT JOIN \(schema.sagas) AS sg ON sg.id = p.saga_id
            ORDER BY p.position
            """
        )
        var end = position
        var entries: [SagaWebhookFeedEntry] = []
        for row in try await rows(s) {
            let r = PostgresRandomAccessRow(row)
            guard let at = try? r[5].decode(Int64.self) else { continue }
            end = max(end, at)
            // A damaged event (or one purged meanwhile) is skipped: `saga show` reports it.
            guard let sagaID = try? r[6].decode(String.self),
                let event = try? PostgresRows.event(row, sagaID: sagaID),
                let statusName = try? r[10].decode(String.self),
                let status = SagaStatus(rawValue: statusName),
                let workflow = try? r[7].decode(String.self),
                let version = try? r[8].decode(Int.self)
            else { continue }
            entries.append(
                SagaWebhookFeedEntry(
                    position: at,
                    sagaID: sagaID,
                    workflow: workflow,
                    version: version,
                    key: try? r[9].decode(String?.self),
                    status: status,
                    event: event
                )
            )
        }
        return (entries, end)
    }

    /// One statement: the compare-and-set of the position, and the deliveries inserted only when it moved.
    public func enqueueWebhookDeliveries(
        _ deliveries: [SagaWebhookDelivery],
        subscriptionID: String,
        from: Int64,
        to: Int64,
        now: Date
    ) async throws -> Bool {
        var s = PostgresStatement()
        let toMark = s.bind(to)
        let idMark = s.bind(subscriptionID)
        let fromMark = s.bind(from)
        s.append(
            """
            WITH moved AS (
                UPDATE \(schema.subscriptions) SET position = \(toMark)
                WHERE id = \(idMark) AND position = \(fromMark) AND state != 'disabled'
                RETURNING id
            )
            """
        )
        if !deliveries.isEmpty {
            let values = deliveries.map { d -> String in
                let marks = [
                    s.bind(d.id) + "::text", s.bind(d.position) + "::bigint", s.bind(Int64(d.ordinal)) + "::bigint",
                    s.bind(d.sagaID) + "::text", s.bind(Int64(d.seq)) + "::bigint", s.bind(d.type.rawValue) + "::text",
                    s.bind(d.body) + "::text", s.bind(SagaTime.milliseconds(d.nextAttemptAt)) + "::bigint",
                    s.bind(SagaTime.milliseconds(d.createdAt)) + "::bigint",
                ]
                return "(" + marks.joined(separator: ", ") + ")"
            }
            s.append(
                """
                , queued AS (
                    INSERT INTO \(schema.deliveries) (id, subscription_id, position, ordinal, saga_id, seq, type, body,
                        state, attempts, next_attempt_at, created_at)
                    SELECT v.id, moved.id, v.position, v.ordinal, v.saga_id, v.seq, v.type, v.body, 'pending', 0,
                        v.next_attempt_at, v.created_at
                    FROM moved, (VALUES \(values.joined(separator: ", ")))
                        AS v (id, position, ordinal, saga_id, seq, type, body, next_attempt_at, created_at)
                    ON CONFLICT (id) DO NOTHING
                    RETURNING 1
                )
                """
            )
        }
        s.append(" SELECT 1 FROM moved")
        return try await count(s) == 1
    }

    /// Leases the due deliveries that have no earlier pending delivery of the same saga for the same subscription;
    /// rows another node is claiming at the same moment are skipped, never waited for nor taken twice.
    public func claimWebhookDeliveries(owner: String, now: Date, leaseUntil: Date, limit: Int) async throws
        -> [SagaWebhookDelivery]
    {
        guard limit > 0 else { return [] }
        var s = PostgresStatement()
        let ownerMark = s.bind(owner)
        let until = s.bind(SagaTime.milliseconds(leaseUntil))
        let nowMark = s.bind(SagaTime.milliseconds(now))
        let limitMark = s.bind(Int64(limit))
        s.append(
            """
            WITH due AS (
                SELECT d.id FROM \(schema.deliveries) AS d
                JOIN \(schema.subscriptions) AS sub ON sub.id = d.subscription_id
                WHERE d.state = 'pending' AND d.next_attempt_at <= \(nowMark) AND sub.state = 'active'
                  AND (d.owner IS NULL OR d.lease_expires_at <= \(nowMark))
                  AND \(firstOfSaga())
                ORDER BY d.position, d.ordinal
                LIMIT \(limitMark)
                FOR UPDATE OF d SKIP LOCKED
            )
            UPDATE \(schema.deliveries) AS d SET owner = \(ownerMark), lease_expires_at = \(until)
            FROM due WHERE d.id = due.id
            RETURNING \(Self.deliveryColumns.split(separator: ",").map { "d." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
            """
        )
        let claimed = try await rows(s)
        return try decoded { try claimed.map(Self.delivery) }
            .sorted { ($0.position, $0.ordinal) < ($1.position, $1.ordinal) }
    }

    public func finishWebhookDelivery(id: String, owner: String, outcome: SagaWebhookDelivery.Outcome) async throws
        -> SagaWebhookSubscription?
    {
        var s = PostgresStatement()
        let idMark = s.bind(id)
        let ownerMark = s.bind(owner)
        let release = "attempts = attempts + 1, owner = NULL, lease_expires_at = NULL"
        let delivery: String
        let subscription: String
        switch outcome {
        case .delivered(let status, let at):
            let atMark = s.bind(SagaTime.milliseconds(at))
            let statusMark = s.bind(Int64(status))
            delivery = "state = 'delivered', \(release), delivered_at = \(atMark), last_status = \(statusMark), "
                + "last_error = NULL"
            subscription = "failing_since = NULL, last_success_at = \(atMark)"
        case .retry(let status, let error, let next):
            let nextMark = s.bind(SagaTime.milliseconds(next))
            let statusMark = s.bind(status.map(Int64.init))
            let errorMark = s.bind(error)
            delivery = "\(release), next_attempt_at = \(nextMark), last_status = \(statusMark), last_error = \(errorMark)"
            subscription = "failing_since = COALESCE(failing_since, \(s.bind(SagaTime.milliseconds(Date()))))"
        case .failed(let status, let error):
            let statusMark = s.bind(status.map(Int64.init))
            let errorMark = s.bind(error)
            delivery = "state = 'failed', \(release), last_status = \(statusMark), last_error = \(errorMark)"
            subscription = "failing_since = COALESCE(failing_since, \(s.bind(SagaTime.milliseconds(Date()))))"
        }
        let subColumns = Self.subscriptionColumns.split(separator: ",")
            .map { "sub." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
        s.append(
            """
            WITH d AS (
                UPDATE \(schema.deliveries) SET \(delivery)
                WHERE id = \(idMark) AND owner = \(ownerMark) AND state = 'pending'
                RETURNING subscription_id
            )
            UPDATE \(schema.subscriptions) AS sub SET \(subscription)
            FROM d WHERE sub.id = d.subscription_id
            RETURNING \(subColumns)
            """
        )
        guard let row = try await rows(s).first else { return nil }
        return try decoded { try Self.subscription(row) }
    }

    public func webhookDeliveries(_ query: SagaWebhookDeliveryQuery) async throws -> [SagaWebhookDelivery] {
        var s = PostgresStatement()
        var conditions: [String] = []
        if !query.states.isEmpty {
            conditions.append("state = ANY(\(s.bind(query.states.map(\.rawValue)))::text[])")
        }
        if let subscriptionID = query.subscriptionID {
            conditions.append("subscription_id = \(s.bind(subscriptionID))")
        }
        if let since = query.since {
            conditions.append("created_at >= \(s.bind(SagaTime.milliseconds(since)))")
        }
        let limitMark = s.bind(Int64(max(0, query.limit)))
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        s.append(
            "SELECT \(Self.deliveryColumns) FROM \(schema.deliveries) \(whereClause) "
                + "ORDER BY created_at DESC, position DESC, ordinal DESC LIMIT \(limitMark)"
        )
        let found = try await rows(s)
        return try decoded { try found.map(Self.delivery) }
    }

    public func replayWebhookDeliveries(ids: [String], since: Date?, now: Date) async throws -> Int {
        guard !ids.isEmpty || since != nil else { return 0 }
        var s = PostgresStatement()
        let nowMark = s.bind(SagaTime.milliseconds(now))
        var which: [String] = []
        if !ids.isEmpty { which.append("id = ANY(\(s.bind(ids))::text[])") }
        if let since { which.append("created_at >= \(s.bind(SagaTime.milliseconds(since)))") }
        s.append(
            "UPDATE \(schema.deliveries) SET state = 'pending', attempts = 0, next_attempt_at = \(nowMark), "
                + "owner = NULL, lease_expires_at = NULL, delivered_at = NULL "
                + "WHERE state != 'pending' AND (\(which.joined(separator: " OR "))) RETURNING 1"
        )
        return try await count(s)
    }

    /// Due deliveries, and the feed rows past the earliest active subscription's position, numbered or not yet.
    public func webhookBacklog(now: Date) async throws -> (due: Int, unqueued: Int) {
        var s = PostgresStatement()
        let nowMark = s.bind(SagaTime.milliseconds(now))
        s.append(
            """
            SELECT
                (SELECT count(*) FROM \(schema.deliveries) AS d
                 JOIN \(schema.subscriptions) AS sub ON sub.id = d.subscription_id
                 WHERE d.state = 'pending' AND d.next_attempt_at <= \(nowMark) AND sub.state = 'active'
                   AND \(firstOfSaga())),
                CASE WHEN EXISTS (SELECT 1 FROM \(schema.subscriptions) WHERE state = 'active') THEN
                    (SELECT count(*) FROM \(schema.feed) WHERE position IS NULL)
                    + (SELECT count(*) FROM \(schema.feed) WHERE position >
                        (SELECT min(position) FROM \(schema.subscriptions) WHERE state = 'active'))
                ELSE 0 END
            """
        )
        guard let row = try await rows(s).first else { return (0, 0) }
        let (due, unqueued) = try decoded { try row.decode((Int64, Int64).self) }
        return (Int(due), Int(unqueued))
    }

    /// The condition, for `saga purge`, that saga `id` (an SQL expression) has nothing a webhook still needs: no
    /// lifecycle event past the earliest position of a subscription that is not disabled (nor one not numbered
    /// yet), and no pending delivery.
    func webhookRetentionGuard(_ id: String) -> String {
        """
        NOT EXISTS (SELECT 1 FROM \(schema.feed) AS f JOIN \(schema.subscriptions) AS ws
            ON ws.state != 'disabled' AND (f.position IS NULL OR f.position > ws.position) WHERE f.saga_id = \(id))
        AND NOT EXISTS (SELECT 1 FROM \(schema.deliveries) AS wd WHERE wd.saga_id = \(id) AND wd.state = 'pending')
        """
    }
}
