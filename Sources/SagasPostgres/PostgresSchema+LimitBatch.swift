extension PostgresSchema {
    /// Migration `0009-limit-batch` (issue 21): `saga_limit_acquire_all` asks again for the waiting requests of a
    /// worker's parked sagas in one round trip (`SagaStoreLimits.acquireWaiting`), so that PostgreSQL parks limit
    /// waiters out of the worker slots as SQLite does.
    ///
    /// It takes the advisory locks of every limit named, in the order of their hashes (as exclusive keys do), so
    /// that two nodes whose batches name the same limits never wait for each other in a cycle. Then every request
    /// waits, in one upsert (a new one queues at the server's clock, one already queued keeps its place and is seen
    /// again), and for each limit the first waiters are granted while they belong to the batch and the limit has
    /// room (`saga_limit_room`, as `saga_limit_acquire`). Its cost grows with the limits named and the grants, not
    /// with the number of parked requests. It returns the 1-based positions of the requests granted. A concurrency
    /// or rate of -1 means none.
    var limitBatchMigration: Migration {
        Migration(
            name: "0009-limit-batch",
            statements: [
                """
                CREATE FUNCTION \(schema).saga_limit_acquire_all(p_names TEXT[], p_sagas TEXT[], p_holders TEXT[],
                    p_owners TEXT[], p_concurrency BIGINT[], p_rate BIGINT[], p_window BIGINT[], p_now BIGINT,
                    p_stale BIGINT, p_grace BIGINT) RETURNS SETOF INTEGER LANGUAGE plpgsql AS $$
                DECLARE
                    v_hash BIGINT;
                    v_clock BIGINT;
                    v_limit RECORD;
                    v_first RECORD;
                    v_index INTEGER;
                BEGIN
                    IF COALESCE(cardinality(p_names), 0) = 0 THEN
                        RETURN;
                    END IF;
                    FOR v_hash IN
                        SELECT DISTINCT hashtextextended('\(schema).limit:' || n, 0) FROM unnest(p_names) AS n
                        ORDER BY 1
                    LOOP
                        PERFORM pg_advisory_xact_lock(v_hash);
                    END LOOP;
                    v_clock := GREATEST(p_now, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
                    -- Every request waits (or keeps waiting, its place kept): one statement for all of them.
                    INSERT INTO \(limitWaiters) (name, saga_id, holder, owner, requested_at, seen_at)
                    SELECT DISTINCT ON (r.n, r.s, r.h) r.n, r.s, r.h, r.o, v_clock, v_clock
                    FROM unnest(p_names, p_sagas, p_holders, p_owners) AS r (n, s, h, o)
                    ORDER BY r.n, r.s, r.h
                    ON CONFLICT (name, saga_id, holder) DO UPDATE SET seen_at = EXCLUDED.seen_at,
                        owner = EXCLUDED.owner;
                    -- Then, limit by limit, the first waiters are granted while they are this batch's and the limit
                    -- has room.
                    FOR v_limit IN
                        SELECT DISTINCT ON (r.n) r.n AS name, NULLIF(r.c, -1)::INTEGER AS concurrency,
                            NULLIF(r.k, -1)::INTEGER AS rate, NULLIF(r.w, -1) AS win
                        FROM unnest(p_names, p_concurrency, p_rate, p_window) AS r (n, c, k, w) ORDER BY r.n
                    LOOP
                        IF v_limit.rate IS NOT NULL THEN
                            DELETE FROM \(limitGrants) WHERE name = v_limit.name AND granted_at <= v_clock - v_limit.win;
                        END IF;
                        DELETE FROM \(limitWaiters) AS x WHERE x.name = v_limit.name AND (x.seen_at < p_stale
                            OR NOT \(schema).saga_limit_live(x.saga_id, x.owner, x.requested_at, p_now, p_grace));
                        LOOP
                            SELECT saga_id, holder INTO v_first FROM \(limitWaiters) WHERE name = v_limit.name
                            ORDER BY requested_at, saga_id, holder LIMIT 1;
                            EXIT WHEN NOT FOUND;
                            SELECT i INTO v_index FROM generate_subscripts(p_names, 1) AS i
                            WHERE p_names[i] = v_limit.name AND p_sagas[i] = v_first.saga_id
                                AND p_holders[i] = v_first.holder
                            LIMIT 1;
                            EXIT WHEN v_index IS NULL;
                            EXIT WHEN NOT \(schema).saga_limit_room(v_limit.name, v_limit.concurrency, v_limit.rate,
                                p_now, p_grace);
                            DELETE FROM \(limitWaiters)
                            WHERE name = v_limit.name AND saga_id = v_first.saga_id AND holder = v_first.holder;
                            PERFORM \(schema).saga_limit_grant(v_limit.name, v_first.saga_id, v_first.holder,
                                p_owners[v_index], v_limit.rate, v_clock);
                            RETURN NEXT v_index;
                        END LOOP;
                    END LOOP;
                    RETURN;
                END
                $$
                """
            ]
        )
    }
}
