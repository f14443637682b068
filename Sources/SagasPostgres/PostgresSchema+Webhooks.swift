// The webhook tables on PostgreSQL (issue 19): the journal as outbox, read in an order that never skips an event
// that commits late. See Docs/storage.md, "Webhooks on PostgreSQL".
extension PostgresSchema {
    var feed: String { "\(schema).event_feed" }
    var feedHead: String { "\(schema).event_feed_head" }
    var subscriptions: String { "\(schema).webhook_subscriptions" }
    var deliveries: String { "\(schema).webhook_deliveries" }

    /// The advisory lock key of this schema's feed numbering (one numbering pass at a time).
    var feedLockKey: String { "hashtext('sagas.event_feed.\(schema)')" }

    /// Migration `0003-webhooks`.
    ///
    /// A trigger gives every lifecycle event (types `saga.*` and `intervention.*`) a row in `event_feed` in the
    /// writing transaction, without a position. Positions are handed out afterwards, by numbering passes that run
    /// one at a time (an advisory lock held until the pass commits) and number only the rows their snapshot sees:
    /// committed ones. A row that commits later is numbered by a later pass, above every position handed out
    /// before, so positions follow the commit order and a reader that moved past a position never misses a row.
    var webhookMigration: Migration {
        Migration(
            name: "0003-webhooks",
            statements: [
                """
                CREATE TABLE \(feed) (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    position BIGINT,
                    saga_id TEXT NOT NULL,
                    seq BIGINT NOT NULL,
                    FOREIGN KEY (saga_id, seq) REFERENCES \(events) (saga_id, seq) ON DELETE CASCADE
                )
                """,
                "CREATE UNIQUE INDEX event_feed_position ON \(feed) (position) WHERE position IS NOT NULL",
                "CREATE INDEX event_feed_unnumbered ON \(feed) (id) WHERE position IS NULL",
                "CREATE INDEX event_feed_saga ON \(feed) (saga_id, seq)",
                // The last position handed out (purging the newest rows must not let a position be handed out twice).
                "CREATE TABLE \(feedHead) (last BIGINT NOT NULL)",
                "INSERT INTO \(feedHead) (last) VALUES (0)",
                """
                CREATE FUNCTION \(schema).saga_events_feed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO \(feed) (saga_id, seq) VALUES (NEW.saga_id, NEW.seq);
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER saga_events_feed AFTER INSERT ON \(events)
                    FOR EACH ROW WHEN (NEW.type LIKE 'saga.%' OR NEW.type LIKE 'intervention.%')
                    EXECUTE FUNCTION \(schema).saga_events_feed()
                """,
                """
                CREATE TABLE \(subscriptions) (
                    id TEXT NOT NULL PRIMARY KEY,
                    url TEXT NOT NULL,
                    secrets TEXT NOT NULL,
                    event_types TEXT NOT NULL,
                    workflow TEXT,
                    state TEXT NOT NULL,
                    state_reason TEXT,
                    position BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    failing_since BIGINT,
                    last_success_at BIGINT
                )
                """,
                """
                CREATE TABLE \(deliveries) (
                    id TEXT NOT NULL PRIMARY KEY,
                    subscription_id TEXT NOT NULL REFERENCES \(subscriptions) (id) ON DELETE CASCADE,
                    position BIGINT NOT NULL,
                    ordinal BIGINT NOT NULL,
                    saga_id TEXT NOT NULL,
                    seq BIGINT NOT NULL,
                    type TEXT NOT NULL,
                    body TEXT NOT NULL,
                    state TEXT NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL,
                    owner TEXT,
                    lease_expires_at BIGINT,
                    created_at BIGINT NOT NULL,
                    delivered_at BIGINT,
                    last_status BIGINT,
                    last_error TEXT
                )
                """,
                // Claiming: pending deliveries by due time.
                "CREATE INDEX webhook_deliveries_due ON \(deliveries) (next_attempt_at) WHERE state = 'pending'",
                // Order per saga: the earliest pending delivery of each (subscription, saga).
                """
                CREATE INDEX webhook_deliveries_saga ON \(deliveries) (subscription_id, saga_id, position, ordinal)
                    WHERE state = 'pending'
                """,
                "CREATE INDEX webhook_deliveries_created ON \(deliveries) (created_at)",
                "CREATE INDEX webhook_deliveries_pending_saga ON \(deliveries) (saga_id) WHERE state = 'pending'",
            ]
        )
    }
}
