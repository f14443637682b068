extension PostgresSchema {
    var keyQueue: String { "\(schema).saga_key_queue" }
    var limitSlots: String { "\(schema).saga_limit_slots" }
    var limitWaiters: String { "\(schema).saga_limit_waiters" }
    var limitGrants: String { "\(schema).saga_limit_grants" }

    /// The SQLSTATE `saga_enqueue_keys` raises when `createLeased` finds a key held (mapped to `.keyBusy`).
    static let keyBusyState = "SG001"

    /// Migration `0007-limits` (issue 21): exclusive keys and named limits, shared by every node.
    ///
    /// Exclusive keys: `saga_key_queue` holds one row per saga and key, at the saga's `position` in one sequence
    /// shared by every key, taken under a transaction-level advisory lock per key (`hashtextextended`, taken in
    /// the order of the hashes, so two sagas that want the same keys never wait for each other in a cycle).
    /// `sagas.key_wait` counts the keys for which an earlier saga is queued; claiming reads only sagas with none
    /// (the partial index `sagas_claimable` is made again with `key_wait = 0`). A saga that becomes terminal leaves
    /// its queues in the statement that makes it so (`saga_release_keys`), under the same locks, which decrements
    /// the count of each key's next saga and notifies the nodes when one may run.
    ///
    /// Named limits: slots in flight, waiting requests and recent grants, changed only by `saga_limit_acquire`
    /// under an advisory lock per limit name: one round trip, and nodes that ask at once are served one by one.
    var limitsMigration: Migration {
        let runnable = PostgresSchema.runnable
        return Migration(
            name: "0007-limits",
            statements: [
                "ALTER TABLE \(sagas) ADD COLUMN key_wait INTEGER NOT NULL DEFAULT 0",
                "CREATE SEQUENCE \(schema).saga_key_order",
                """
                CREATE TABLE \(keyQueue) (
                    key TEXT NOT NULL,
                    position BIGINT NOT NULL,
                    saga_id TEXT NOT NULL,
                    -- The key's place among the saga's keys (its workflow's order).
                    ordinal INTEGER NOT NULL,
                    PRIMARY KEY (key, position)
                )
                """,
                "CREATE UNIQUE INDEX saga_key_queue_saga ON \(keyQueue) (saga_id, key)",
                "DROP INDEX \(schema).sagas_claimable",
                """
                CREATE INDEX sagas_claimable ON \(sagas) (created_at, position)
                    WHERE owner IS NULL AND \(runnable) AND key_wait = 0
                """,
                // Locks the keys of a saga already queued (before its row is locked: see `saga_release_keys`).
                """
                CREATE FUNCTION \(schema).saga_lock_keys(p_saga TEXT) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
                DECLARE
                    v_hash BIGINT;
                BEGIN
                    FOR v_hash IN
                        SELECT DISTINCT hashtextextended('\(schema).key:' || key, 0) FROM \(keyQueue)
                        WHERE saga_id = p_saga ORDER BY 1
                    LOOP
                        PERFORM pg_advisory_xact_lock(v_hash);
                    END LOOP;
                    RETURN TRUE;
                END
                $$
                """,
                // Queues a new saga for its keys and returns how many it must wait for. p_mode: 0 queues; 1 queues
                // only when every key is free (`createLeased`), raising SG001 otherwise; 2 only checks that.
                // A saga that exists already is not queued again (its INSERT does nothing).
                """
                CREATE FUNCTION \(schema).saga_enqueue_keys(p_saga TEXT, p_keys TEXT[], p_mode INTEGER)
                RETURNS INTEGER LANGUAGE plpgsql AS $$
                DECLARE
                    v_hash BIGINT;
                    v_wait INTEGER;
                    v_position BIGINT;
                BEGIN
                    IF p_keys IS NULL OR cardinality(p_keys) = 0 THEN
                        RETURN 0;
                    END IF;
                    FOR v_hash IN
                        SELECT DISTINCT hashtextextended('\(schema).key:' || k, 0) FROM unnest(p_keys) AS k ORDER BY 1
                    LOOP
                        PERFORM pg_advisory_xact_lock(v_hash);
                    END LOOP;
                    -- Each statement from here reads what committed before the locks were granted.
                    IF EXISTS (SELECT 1 FROM \(sagas) WHERE id = p_saga)
                        OR EXISTS (SELECT 1 FROM \(keyQueue) WHERE saga_id = p_saga) THEN
                        RETURN 0;
                    END IF;
                    SELECT count(DISTINCT k) INTO v_wait FROM unnest(p_keys) AS k
                    WHERE EXISTS (SELECT 1 FROM \(keyQueue) AS q WHERE q.key = k);
                    IF p_mode > 0 AND v_wait > 0 THEN
                        RAISE EXCEPTION 'saga % waits for an exclusive key an earlier saga holds; nothing was written',
                            p_saga USING ERRCODE = '\(Self.keyBusyState)';
                    END IF;
                    IF p_mode < 2 THEN
                        v_position := nextval('\(schema).saga_key_order');
                        INSERT INTO \(keyQueue) (key, position, saga_id, ordinal)
                        SELECT u.k, v_position, p_saga, min(u.o) FROM unnest(p_keys) WITH ORDINALITY AS u (k, o)
                        GROUP BY u.k;
                    END IF;
                    RETURN v_wait;
                END
                $$
                """,
                // Takes a saga that became terminal out of its queues: the next saga of each key it was first for
                // waits for one key less (a decrement, which commutes with other releases of that saga's other
                // keys), and the nodes are notified when one may run.
                """
                CREATE FUNCTION \(schema).saga_release_keys(p_saga TEXT) RETURNS INTEGER LANGUAGE plpgsql AS $$
                DECLARE
                    v_woken INTEGER;
                BEGIN
                    IF NOT EXISTS (SELECT 1 FROM \(keyQueue) WHERE saga_id = p_saga) THEN
                        RETURN 0;
                    END IF;
                    PERFORM \(schema).saga_lock_keys(p_saga);
                    WITH firsts AS (
                        SELECT m.key, m.position FROM \(keyQueue) AS m
                        WHERE m.saga_id = p_saga AND NOT EXISTS (
                            SELECT 1 FROM \(keyQueue) AS p WHERE p.key = m.key AND p.position < m.position)
                    ), nexts AS (
                        SELECT (SELECT n.saga_id FROM \(keyQueue) AS n WHERE n.key = f.key AND n.position > f.position
                            ORDER BY n.position LIMIT 1) AS id
                        FROM firsts AS f
                    ), counted AS (
                        SELECT id, count(*) AS n FROM nexts WHERE id IS NOT NULL GROUP BY id
                    ), updated AS (
                        UPDATE \(sagas) AS s SET key_wait = GREATEST(s.key_wait - c.n, 0)
                        FROM counted AS c WHERE s.id = c.id
                        RETURNING s.key_wait, s.status, s.owner
                    )
                    SELECT count(*) INTO v_woken FROM updated
                    WHERE key_wait = 0 AND owner IS NULL AND status IN ('pending', 'running', 'compensating');
                    DELETE FROM \(keyQueue) WHERE saga_id = p_saga;
                    IF v_woken > 0 THEN
                        PERFORM pg_notify('\(Self.wakeupChannel)', '\(schema)');
                    END IF;
                    RETURN v_woken;
                END
                $$
                """,
                """
                CREATE TABLE \(limitSlots) (
                    name TEXT NOT NULL,
                    saga_id TEXT NOT NULL,
                    holder TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    acquired_at BIGINT NOT NULL,
                    PRIMARY KEY (name, saga_id, holder)
                )
                """,
                """
                CREATE TABLE \(limitWaiters) (
                    name TEXT NOT NULL,
                    saga_id TEXT NOT NULL,
                    holder TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    requested_at BIGINT NOT NULL,
                    seen_at BIGINT NOT NULL,
                    PRIMARY KEY (name, saga_id, holder)
                )
                """,
                "CREATE INDEX saga_limit_waiters_order ON \(limitWaiters) (name, requested_at, saga_id, holder)",
                "CREATE INDEX saga_limit_waiters_saga ON \(limitWaiters) (saga_id)",
                "CREATE TABLE \(limitGrants) (name TEXT NOT NULL, granted_at BIGINT NOT NULL)",
                "CREATE INDEX saga_limit_grants_name ON \(limitGrants) (name, granted_at)",
                // Whether a slot or waiter of saga p_saga taken by p_owner at p_since is live at p_now: its owner
                // holds the saga's lease (its own, or its node's liveness), or the saga's row does not exist yet
                // (`createLeased` takes a first slot before it writes the saga) and p_since is within p_grace.
                """
                CREATE FUNCTION \(schema).saga_limit_live(p_saga TEXT, p_owner TEXT, p_since BIGINT, p_now BIGINT,
                    p_grace BIGINT) RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
                    SELECT COALESCE(CASE WHEN g.id IS NULL THEN p_since > p_now - p_grace
                        ELSE g.owner = p_owner AND (g.lease_expires_at > p_now OR EXISTS (
                            SELECT 1 FROM \(nodes) AS n WHERE n.id = g.owner AND n.alive_until > p_now))
                        END, FALSE)
                    FROM (SELECT 1) AS one LEFT JOIN \(sagas) AS g ON g.id = p_saga
                $$
                """,
                // One request for a slot: granted (TRUE) when the limit has room, its rate allows one more start
                // in the window and no live waiter asked first; otherwise the request waits (FALSE). Grants are
                // stamped with the server's clock, so the window is one for every node.
                """
                CREATE FUNCTION \(schema).saga_limit_acquire(p_name TEXT, p_saga TEXT, p_holder TEXT, p_owner TEXT,
                    p_concurrency INTEGER, p_rate INTEGER, p_window BIGINT, p_now BIGINT, p_stale BIGINT,
                    p_grace BIGINT) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
                DECLARE
                    v_clock BIGINT;
                    v_first RECORD;
                    v_free BOOLEAN;
                BEGIN
                    PERFORM pg_advisory_xact_lock(hashtextextended('\(schema).limit:' || p_name, 0));
                    v_clock := GREATEST(p_now, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
                    IF p_rate IS NOT NULL THEN
                        DELETE FROM \(limitGrants) WHERE name = p_name AND granted_at <= v_clock - p_window;
                    END IF;
                    IF NOT EXISTS (SELECT 1 FROM \(limitWaiters) WHERE name = p_name) THEN
                        v_free := \(schema).saga_limit_room(p_name, p_concurrency, p_rate, p_now, p_grace);
                        IF v_free THEN
                            PERFORM \(schema).saga_limit_grant(p_name, p_saga, p_holder, p_owner, p_rate, v_clock);
                            RETURN TRUE;
                        END IF;
                    END IF;
                    DELETE FROM \(limitWaiters) AS x WHERE x.name = p_name AND (x.seen_at < p_stale
                        OR NOT \(schema).saga_limit_live(x.saga_id, x.owner, x.requested_at, p_now, p_grace));
                    INSERT INTO \(limitWaiters) (name, saga_id, holder, owner, requested_at, seen_at)
                    VALUES (p_name, p_saga, p_holder, p_owner, v_clock, v_clock)
                    ON CONFLICT (name, saga_id, holder) DO UPDATE SET seen_at = EXCLUDED.seen_at, owner = EXCLUDED.owner;
                    SELECT saga_id, holder INTO v_first FROM \(limitWaiters) WHERE name = p_name
                    ORDER BY requested_at, saga_id, holder LIMIT 1;
                    IF v_first.saga_id <> p_saga OR v_first.holder <> p_holder THEN
                        RETURN FALSE;
                    END IF;
                    IF NOT \(schema).saga_limit_room(p_name, p_concurrency, p_rate, p_now, p_grace) THEN
                        RETURN FALSE;
                    END IF;
                    DELETE FROM \(limitWaiters) WHERE name = p_name AND saga_id = p_saga AND holder = p_holder;
                    PERFORM \(schema).saga_limit_grant(p_name, p_saga, p_holder, p_owner, p_rate, v_clock);
                    RETURN TRUE;
                END
                $$
                """,
                // Whether the limit has a free slot (freeing those of ended leases when it looks full) and its rate
                // allows a start. Called under the limit's lock.
                """
                CREATE FUNCTION \(schema).saga_limit_room(p_name TEXT, p_concurrency INTEGER, p_rate INTEGER,
                    p_now BIGINT, p_grace BIGINT) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
                BEGIN
                    IF p_concurrency IS NOT NULL
                        AND (SELECT count(*) FROM \(limitSlots) WHERE name = p_name) >= p_concurrency THEN
                        DELETE FROM \(limitSlots) AS x WHERE x.name = p_name
                            AND NOT \(schema).saga_limit_live(x.saga_id, x.owner, x.acquired_at, p_now, p_grace);
                        IF (SELECT count(*) FROM \(limitSlots) WHERE name = p_name) >= p_concurrency THEN
                            RETURN FALSE;
                        END IF;
                    END IF;
                    IF p_rate IS NOT NULL AND (SELECT count(*) FROM \(limitGrants) WHERE name = p_name) >= p_rate THEN
                        RETURN FALSE;
                    END IF;
                    RETURN TRUE;
                END
                $$
                """,
                """
                CREATE FUNCTION \(schema).saga_limit_grant(p_name TEXT, p_saga TEXT, p_holder TEXT, p_owner TEXT,
                    p_rate INTEGER, p_clock BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
                BEGIN
                    IF p_rate IS NOT NULL THEN
                        INSERT INTO \(limitGrants) (name, granted_at) VALUES (p_name, p_clock);
                    END IF;
                    INSERT INTO \(limitSlots) (name, saga_id, holder, owner, acquired_at)
                    VALUES (p_name, p_saga, p_holder, p_owner, p_clock)
                    ON CONFLICT (name, saga_id, holder) DO UPDATE SET owner = EXCLUDED.owner,
                        acquired_at = EXCLUDED.acquired_at;
                END
                $$
                """,
            ]
        )
    }
}
