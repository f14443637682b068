import GRDB

extension SQLiteSchema {
    /// Migration 7 (issue 21): exclusive keys and named limits.
    ///
    /// `saga_key_queue` queues sagas for each key in submission order (`position`, one order for every key, so two
    /// sagas that want the same keys never wait for each other). `sagas.key_wait` counts the keys a saga is not
    /// yet first for; claiming reads only sagas with none, through the partial index `sagas_claimable`, so sagas
    /// that wait cost a claim nothing. Both change in the transactions that create a saga and make it terminal.
    static func registerLimitsMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-limits") { db in
            try db.execute(
                sql: """
                    ALTER TABLE sagas ADD COLUMN key_wait INTEGER NOT NULL DEFAULT 0;
                    CREATE TABLE saga_key_queue (
                        position INTEGER PRIMARY KEY,
                        key TEXT NOT NULL,
                        saga_id TEXT NOT NULL
                    ) STRICT;
                    CREATE UNIQUE INDEX saga_key_queue_key ON saga_key_queue (key, position);
                    CREATE INDEX saga_key_queue_saga ON saga_key_queue (saga_id);
                    CREATE INDEX sagas_claimable ON sagas (created_at)
                        WHERE (status = 'pending' OR status = 'running' OR status = 'compensating') AND key_wait = 0;

                    -- Named limits: slots in flight, waiting requests (first come, first served) and recent grants
                    -- (a sliding window for rates). A slot or waiter lives while its owner holds the saga's lease.
                    CREATE TABLE saga_limit_slots (
                        name TEXT NOT NULL,
                        saga_id TEXT NOT NULL,
                        holder TEXT NOT NULL,
                        owner TEXT NOT NULL,
                        acquired_at INTEGER NOT NULL,
                        PRIMARY KEY (name, saga_id, holder)
                    ) STRICT, WITHOUT ROWID;
                    CREATE TABLE saga_limit_waiters (
                        name TEXT NOT NULL,
                        saga_id TEXT NOT NULL,
                        holder TEXT NOT NULL,
                        owner TEXT NOT NULL,
                        requested_at INTEGER NOT NULL,
                        seen_at INTEGER NOT NULL,
                        PRIMARY KEY (name, saga_id, holder)
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX saga_limit_waiters_order ON saga_limit_waiters (name, requested_at, saga_id, holder);
                    CREATE TABLE saga_limit_grants (
                        name TEXT NOT NULL,
                        granted_at INTEGER NOT NULL
                    ) STRICT;
                    CREATE INDEX saga_limit_grants_name ON saga_limit_grants (name, granted_at);
                    PRAGMA user_version = 7;
                    """
            )
        }
    }
}
