import Foundation
import GRDB
import Sagas
import Synchronization

/// The database schema: named migrations that are never edited once landed, and the version they lead to.
enum SQLiteSchema {
    /// The schema version this code writes in `PRAGMA user_version`; a database with a higher one is refused.
    static let version = 11

    /// `PRAGMA application_id` of a Sagas database ("SAGA" in ASCII): tells our files from other applications'.
    static let applicationID: Int32 = 0x5341_4741

    /// The migrations, in order. Each ends by setting `user_version` to the version it leads to.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-sagas") { db in
            try db.execute(
                sql: """
                    CREATE TABLE sagas (
                        id TEXT NOT NULL PRIMARY KEY,
                        workflow TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        definition TEXT NOT NULL,
                        base_directory TEXT,
                        input TEXT NOT NULL,
                        status TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        owner TEXT,
                        lease_expires_at INTEGER,
                        current_step TEXT,
                        last_error TEXT,
                        cancel_reason TEXT,
                        cancel_requested_at INTEGER,
                        last_seq INTEGER NOT NULL DEFAULT 0
                    ) STRICT;

                    -- Claiming: runnable sagas, oldest first. Only non-terminal sagas are in it, so it stays small.
                    CREATE INDEX sagas_runnable ON sagas (created_at)
                        WHERE status IN ('pending', 'running', 'compensating');
                    -- Listing by status, newest first, and counting by status.
                    CREATE INDEX sagas_status_created ON sagas (status, created_at);
                    -- Listing by workflow, newest first.
                    CREATE INDEX sagas_workflow_created ON sagas (workflow, created_at);

                    CREATE TABLE saga_events (
                        saga_id TEXT NOT NULL REFERENCES sagas (id) ON DELETE CASCADE,
                        seq INTEGER NOT NULL CHECK (seq >= 1),
                        at INTEGER NOT NULL,
                        type TEXT NOT NULL,
                        step TEXT,
                        payload TEXT NOT NULL,
                        PRIMARY KEY (saga_id, seq)
                    ) STRICT, WITHOUT ROWID;

                    PRAGMA application_id = \(applicationID);
                    PRAGMA user_version = 1;
                    """
            )
        }
        migrator.registerMigration("v2-shared-definitions") { db in
            // A pinned definition (several KB) was in every saga's row, and SQLite rewrites a whole row, overflow
            // pages and all, on each update: once per step. Definitions now live once each in `saga_definitions`,
            // named by the SHA-256 of their text, and a saga's row names its definition by that digest.
            // GRDB runs a migration with foreign keys off and checks them all before it commits.
            let digests = Mutex<[String: String]>([:])
            db.add(
                function: DatabaseFunction("saga_definition_digest", argumentCount: 1, pure: true) { values in
                    guard let text = String.fromDatabaseValue(values[0]) else { return nil }
                    if let digest = digests.withLock({ $0[text] }) { return digest }
                    let digest = SQLiteDefinitionDigest.hex(text)
                    digests.withLock { $0[text] = digest }
                    return digest
                }
            )
            try db.execute(
                sql: """
                    CREATE TABLE saga_definitions (
                        digest TEXT NOT NULL PRIMARY KEY,
                        text TEXT NOT NULL
                    ) STRICT;
                    INSERT INTO saga_definitions (digest, text)
                        SELECT saga_definition_digest(definition), definition
                        FROM (SELECT DISTINCT definition FROM sagas);

                    CREATE TABLE sagas_v2 (
                        id TEXT NOT NULL PRIMARY KEY,
                        workflow TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        definition_digest TEXT NOT NULL REFERENCES saga_definitions (digest),
                        base_directory TEXT,
                        input TEXT NOT NULL,
                        status TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        owner TEXT,
                        lease_expires_at INTEGER,
                        current_step TEXT,
                        last_error TEXT,
                        cancel_reason TEXT,
                        cancel_requested_at INTEGER,
                        last_seq INTEGER NOT NULL DEFAULT 0
                    ) STRICT;
                    INSERT INTO sagas_v2 (rowid, id, workflow, version, definition_digest, base_directory, input,
                            status, created_at, updated_at, owner, lease_expires_at, current_step, last_error,
                            cancel_reason, cancel_requested_at, last_seq)
                        SELECT rowid, id, workflow, version, saga_definition_digest(definition), base_directory, input,
                            status, created_at, updated_at, owner, lease_expires_at, current_step, last_error,
                            cancel_reason, cancel_requested_at, last_seq
                        FROM sagas ORDER BY rowid;
                    DROP TABLE sagas;
                    ALTER TABLE sagas_v2 RENAME TO sagas;

                    CREATE INDEX sagas_runnable ON sagas (created_at)
                        WHERE status IN ('pending', 'running', 'compensating');
                    CREATE INDEX sagas_status_created ON sagas (status, created_at);
                    CREATE INDEX sagas_workflow_created ON sagas (workflow, created_at);

                    PRAGMA user_version = 2;
                    """
            )
            db.remove(function: DatabaseFunction("saga_definition_digest", argumentCount: 1, pure: true) { _ in nil })
        }
        migrator.registerMigration("v3-runnable-index-without-in") { db in
            // SQLite evaluates `status IN (three constants)` by building a temporary b-tree, and it evaluates a
            // partial index's condition for every row a statement inserts or whose status it changes: about 10 µs
            // each time, in the one writer. The same condition spelled with OR costs next to nothing.
            try db.execute(
                sql: """
                    DROP INDEX sagas_runnable;
                    CREATE INDEX sagas_runnable ON sagas (created_at)
                        WHERE status = 'pending' OR status = 'running' OR status = 'compensating';
                    PRAGMA user_version = 3;
                    """
            )
        }
        migrator.registerMigration("v4-business-keys-and-reruns") { db in
            // A saga's business key (the workflow's `key` template) and the saga it reruns. Adding columns rewrites
            // no row. `saga list --key` reads the key's index newest first.
            try db.execute(
                sql: """
                    ALTER TABLE sagas ADD COLUMN business_key TEXT;
                    ALTER TABLE sagas ADD COLUMN rerun_of TEXT;
                    CREATE INDEX sagas_key_created ON sagas (business_key, created_at) WHERE business_key IS NOT NULL;
                    CREATE INDEX sagas_reruns ON sagas (rerun_of, created_at) WHERE rerun_of IS NOT NULL;
                    -- Finished sagas by the time they finished (`saga purge`, `saga stats`). A running saga's row is
                    -- not in it, so the per-step update of updated_at writes no index entry.
                    CREATE INDEX sagas_finished ON sagas (updated_at)
                        WHERE status = 'completed' OR status = 'compensated' OR status = 'failed';
                    PRAGMA user_version = 4;
                    """
            )
        }
        migrator.registerMigration("v5-webhooks") { db in
            // The journal as outbox (issue 19). `saga_events` has no rowid, so a trigger gives every lifecycle
            // event (types saga.* and intervention.*) a position in `event_feed` in the same transaction: SQLite
            // has one writer, so positions grow with the commit order and a reader never sees a position before
            // its commit. Step events get none (they publish nothing), which keeps the hot path cheap.
            try db.execute(
                sql: """
                    CREATE TABLE event_feed (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        saga_id TEXT NOT NULL,
                        seq INTEGER NOT NULL
                    ) STRICT;
                    CREATE INDEX event_feed_saga ON event_feed (saga_id);
                    CREATE TRIGGER saga_events_feed AFTER INSERT ON saga_events
                        WHEN substr(NEW.type, 1, 5) = 'saga.' OR substr(NEW.type, 1, 13) = 'intervention.'
                        BEGIN
                            INSERT INTO event_feed (saga_id, seq) VALUES (NEW.saga_id, NEW.seq);
                        END;

                    CREATE TABLE webhook_subscriptions (
                        id TEXT NOT NULL PRIMARY KEY,
                        url TEXT NOT NULL,
                        secrets TEXT NOT NULL,
                        event_types TEXT NOT NULL,
                        workflow TEXT,
                        state TEXT NOT NULL,
                        state_reason TEXT,
                        position INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        failing_since INTEGER,
                        last_success_at INTEGER
                    ) STRICT;

                    CREATE TABLE webhook_deliveries (
                        id TEXT NOT NULL PRIMARY KEY,
                        subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
                        position INTEGER NOT NULL,
                        ordinal INTEGER NOT NULL,
                        saga_id TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        type TEXT NOT NULL,
                        body TEXT NOT NULL,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at INTEGER NOT NULL,
                        owner TEXT,
                        lease_expires_at INTEGER,
                        created_at INTEGER NOT NULL,
                        delivered_at INTEGER,
                        last_status INTEGER,
                        last_error TEXT
                    ) STRICT;
                    -- Claiming: pending deliveries by due time.
                    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
                    -- Order per saga: the earliest pending delivery of each (subscription, saga).
                    CREATE INDEX webhook_deliveries_saga ON webhook_deliveries (subscription_id, saga_id, position, ordinal)
                        WHERE state = 'pending';
                    CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
                    PRAGMA user_version = 5;
                    """
            )
        }
        migrator.registerMigration("v6-waits") { db in
            // Waiting sagas (issue 20): status 'waiting', no owner, and a wake time, in an index of waiting sagas
            // only. They are not in `sagas_runnable`, so claiming never reads them until they are due.
            try db.execute(
                sql: """
                    ALTER TABLE sagas ADD COLUMN wake_at INTEGER;
                    CREATE INDEX sagas_waiting ON sagas (wake_at) WHERE status = 'waiting';
                    PRAGMA user_version = 6;
                    """
            )
        }
        registerLimitsMigration(&migrator)
        migrator.registerMigration("v8-workers") { db in
            // Workers' sightings (issue 15): a row per worker, written when it starts and at most once per lease
            // renewal interval, so that `saga workers` lists a worker that holds no saga right now.
            try db.execute(
                sql: """
                    CREATE TABLE workers (
                        id TEXT NOT NULL PRIMARY KEY,
                        started_at INTEGER NOT NULL,
                        seen_at INTEGER NOT NULL,
                        alive_until INTEGER NOT NULL,
                        stopped_at INTEGER
                    ) STRICT;
                    PRAGMA user_version = 8;
                    """
            )
        }
        registerStatusCounts(&migrator)
        registerCancelActors(&migrator)
        return migrator
    }
}

extension SQLiteSagaStore {
    /// Checks the file before anything opens it for writing; throws rather than modify a file that is not ours.
    static func preflight(path: String, configuration: Configuration, errors: SQLiteErrorMapper) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
            if !configuration.createIfMissing || configuration.readOnly {
                throw SagaError(.databaseNotFound, "database \(path) does not exist", file: path)
            }
            let folder = (path as NSString).deletingLastPathComponent
            let dir = folder.isEmpty ? "." : folder
            var folderIsDirectory: ObjCBool = false
            guard fm.fileExists(atPath: dir, isDirectory: &folderIsDirectory), folderIsDirectory.boolValue else {
                throw SagaError(
                    .storageFailure,
                    "cannot create database \(path): folder \(dir) does not exist",
                    file: path
                )
            }
            guard access(dir, W_OK) == 0 else {
                throw SagaError(
                    .databaseReadOnly,
                    "cannot create database \(path): folder \(dir) is read-only",
                    file: path
                )
            }
            return
        }
        guard !isDirectory.boolValue else {
            throw SagaError(.storageFailure, "database \(path) is a folder, not a file", file: path)
        }
        if !configuration.readOnly, access(path, W_OK) != 0 {
            throw SagaError(
                .databaseReadOnly,
                "database \(path) is read-only (open it read-only to read it)",
                file: path
            )
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SagaError(.storageFailure, "cannot read database \(path)", file: path)
        }
        let header = (try? handle.read(upToCount: 100)) ?? Data()
        try? handle.close()
        if header.isEmpty {
            return  // An empty file: SQLite makes it a new database.
        }
        guard header.count == 100, header.prefix(16) == Data("SQLite format 3\0".utf8) else {
            throw errors.corrupt()
        }

        // A SQLite database: read its identity with a read-only connection, which writes nothing.
        var grdb = GRDB.Configuration()
        grdb.readonly = true
        grdb.busyMode = .timeout(configuration.busyTimeout.seconds)
        let identity: (applicationID: Int32, version: Int, objects: Int)
        do {
            let queue = try DatabaseQueue(path: path, configuration: grdb)
            identity = try queue.read { db in
                (
                    try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
                    try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master") ?? 0
                )
            }
            try queue.close()
        } catch {
            throw errors.map(error)
        }
        if identity.applicationID != SQLiteSchema.applicationID {
            guard identity.applicationID == 0, identity.objects == 0, identity.version == 0 else {
                throw SagaError(
                    .databaseCorrupt,
                    "database \(path) is a SQLite database of another application, not a Sagas database; "
                        + "it was not modified",
                    file: path
                )
            }
            return  // An empty SQLite database: ours to set up.
        }
        if identity.version > SQLiteSchema.version {
            throw SagaError(
                .schemaTooNew,
                "database \(path) has schema version \(identity.version), newer than this version of Sagas knows "
                    + "(\(SQLiteSchema.version)); upgrade Sagas. The file was not modified",
                file: path
            )
        }
    }

    /// Applies the migrations this database lacks, checking again (inside the migration's writes) that the
    /// schema is not newer than this code's.
    static func migrate(_ pool: DatabasePool, path: String, errors: SQLiteErrorMapper) throws {
        let current = try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
        if current > SQLiteSchema.version {
            throw SagaError(
                .schemaTooNew,
                "database \(path) has schema version \(current), newer than this version of Sagas knows "
                    + "(\(SQLiteSchema.version)); upgrade Sagas. The file was not modified",
                file: path
            )
        }
        if current < SQLiteSchema.version {
            try SQLiteSchema.migrator.migrate(pool)
        }
    }
}
