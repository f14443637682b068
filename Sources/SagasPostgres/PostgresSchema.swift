/// The store's tables: named migrations, never edited once landed, recorded in `saga_migrations`.
///
/// A database whose `saga_migrations` names a migration this code does not know was written by a newer Sagas, and
/// is refused (`.schemaTooNew`) before anything is written to it.
struct PostgresSchema: Sendable {
    /// The schema (namespace) the tables are in, already checked to be a plain identifier.
    let schema: String

    var sagas: String { "\(schema).sagas" }
    var events: String { "\(schema).saga_events" }
    var migrationsTable: String { "\(schema).saga_migrations" }
    var nodes: String { "\(schema).saga_nodes" }

    /// The `sagas` columns a `SagaRecord` is read from, in the order `PostgresRows.record(_:)` reads them, then the
    /// lease epoch and the creation position. `lease_expires_at` is the effective lease: the saga's own, or its
    /// owner node's liveness (`saga_nodes.alive_until`) when that is later. With `alias`, every column is qualified
    /// by it (for `UPDATE … FROM`); `lease` replaces the effective-lease expression.
    func columns(alias: String? = nil, lease: String? = nil) -> String {
        let p = alias.map { "\($0)." } ?? ""
        let effective =
            lease
            ?? "CASE WHEN \(p)owner IS NULL THEN NULL ELSE GREATEST(\(p)lease_expires_at, "
            + "(SELECT n.alive_until FROM \(nodes) AS n WHERE n.id = \(p)owner)) END"
        return [
            "id", "workflow", "version", "definition", "base_directory", "input", "status", "created_at", "updated_at",
            "owner",
        ].map { p + $0 }.joined(separator: ", ") + ", \(effective), "
            + [
                "current_step", "last_error", "cancel_reason", "cancel_requested_at", "last_seq", "business_key",
                "rerun_of", "lease_epoch", "position", "cancel_by",
            ].map { p + $0 }.joined(separator: ", ")
    }

    var columns: String { columns() }

    /// The condition that a held saga's lease has lapsed at `now` (a bound placeholder): its own lease passed, and
    /// its owner node has not heartbeaten past `now` either.
    func lapsed(_ now: String) -> String {
        "((lease_expires_at IS NULL OR lease_expires_at <= \(now)) AND NOT EXISTS "
            + "(SELECT 1 FROM \(nodes) AS n WHERE n.id = owner AND n.alive_until > \(now)))"
    }

    /// A named migration: statements run in one transaction, with the name recorded in the same transaction.
    struct Migration: Sendable {
        let name: String
        let statements: [String]
    }

    /// The migrations, in order.
    var migrations: [Migration] {
        [
            Migration(
                name: "0001-sagas-and-events",
                statements: [
                    """
                    CREATE TABLE \(sagas) (
                        id TEXT NOT NULL PRIMARY KEY,
                        -- Creation order: breaks ties of created_at for claiming and keyset paging.
                        position BIGINT GENERATED ALWAYS AS IDENTITY,
                        workflow TEXT NOT NULL,
                        version BIGINT NOT NULL,
                        definition TEXT NOT NULL,
                        base_directory TEXT,
                        input TEXT NOT NULL,
                        status TEXT NOT NULL,
                        created_at BIGINT NOT NULL,
                        updated_at BIGINT NOT NULL,
                        owner TEXT,
                        lease_expires_at BIGINT,
                        -- Fencing: incremented by every claim and take-over; appends check it.
                        lease_epoch BIGINT NOT NULL DEFAULT 0,
                        current_step TEXT,
                        last_error TEXT,
                        cancel_reason TEXT,
                        cancel_requested_at BIGINT,
                        last_seq BIGINT NOT NULL DEFAULT 0,
                        business_key TEXT,
                        rerun_of TEXT
                    )
                    """,
                    // Claiming: runnable sagas that no worker holds, oldest first. Most runnable sagas of a busy
                    // database are held, so the claim reads only the few that wait.
                    """
                    CREATE INDEX sagas_claimable ON \(sagas) (created_at, position)
                        WHERE owner IS NULL AND status IN ('pending', 'running', 'compensating')
                    """,
                    // Expired leases (a dead worker's sagas), and `leasedSagas`: runnable sagas that are held.
                    """
                    CREATE INDEX sagas_leased ON \(sagas) (lease_expires_at)
                        WHERE owner IS NOT NULL AND status IN ('pending', 'running', 'compensating')
                    """,
                    // Listing: newest first, overall and by status, workflow, key and rerun.
                    "CREATE INDEX sagas_created ON \(sagas) (created_at, position)",
                    "CREATE INDEX sagas_status_created ON \(sagas) (status, created_at, position)",
                    "CREATE INDEX sagas_workflow_created ON \(sagas) (workflow, created_at, position)",
                    """
                    CREATE INDEX sagas_key_created ON \(sagas) (business_key, created_at, position)
                        WHERE business_key IS NOT NULL
                    """,
                    """
                    CREATE INDEX sagas_reruns ON \(sagas) (rerun_of, created_at, position)
                        WHERE rerun_of IS NOT NULL
                    """,
                    // Finished sagas by the time they finished (`saga purge`, `saga stats`).
                    """
                    CREATE INDEX sagas_finished ON \(sagas) (updated_at)
                        WHERE status IN ('completed', 'compensated', 'failed')
                    """,
                    """
                    CREATE TABLE \(events) (
                        saga_id TEXT NOT NULL REFERENCES \(sagas) (id) ON DELETE CASCADE,
                        seq BIGINT NOT NULL CHECK (seq >= 1),
                        at BIGINT NOT NULL,
                        type TEXT NOT NULL,
                        step TEXT,
                        payload TEXT NOT NULL,
                        PRIMARY KEY (saga_id, seq)
                    )
                    """,
                ]
            ),
            Migration(
                name: "0002-node-liveness",
                statements: [
                    // One row per engine node (worker id, new at every start): renewing a node's leases writes
                    // this row, not one row per saga. A saga held by a node whose row is alive is not taken over.
                    """
                    CREATE TABLE \(nodes) (
                        id TEXT NOT NULL PRIMARY KEY,
                        started_at BIGINT NOT NULL,
                        heartbeat_at BIGINT NOT NULL,
                        alive_until BIGINT NOT NULL
                    )
                    """,
                    // A node's own sagas (the heartbeat releases those it no longer renews).
                    """
                    CREATE INDEX sagas_owner ON \(sagas) (owner, lease_expires_at)
                        WHERE owner IS NOT NULL AND status IN ('pending', 'running', 'compensating')
                    """,
                ]
            ),
            webhookMigration,
            workersMigration,
            wakeupMigration,
            waitsMigration,
            limitsMigration,
            cancelActorsMigration,
            limitBatchMigration,
        ]
    }

    /// The runnable statuses, spelled as the partial indexes' conditions so that the planner can use them.
    static let runnable = "status IN ('pending', 'running', 'compensating')"
    /// The finished statuses, spelled as `sagas_finished`'s condition.
    static let finished = "status IN ('completed', 'compensated', 'failed')"
}
