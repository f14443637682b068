import GRDB

extension SQLiteSchema {
    /// The finished statuses, in the SQL of the triggers below.
    private static let finishedList = "('completed', 'compensated', 'failed')"

    /// Migration 9: finished sagas counted as they finish, so that `saga stats`, the dashboard's overview and the
    /// metrics gauges read a few rows instead of every saga (2 s at 1,000,000 sagas before). Only the finished
    /// statuses are counted: a saga enters one once (one upsert in the commit that finishes it) and leaves it only
    /// when purged; the other statuses hold the sagas in flight, few in a healthy system, and are counted from
    /// `sagas_status_created` as before. Triggers keep the counts in the same transaction as the status change,
    /// whatever writes it (the engine, `saga purge`, a repair in `sqlite3`).
    static func registerStatusCounts(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v9-finished-counts") { db in
            try db.execute(
                sql: """
                    CREATE TABLE saga_finished_counts (
                        workflow TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        n INTEGER NOT NULL,
                        PRIMARY KEY (workflow, version, status)
                    ) STRICT, WITHOUT ROWID;
                    INSERT INTO saga_finished_counts (workflow, version, status, n)
                        SELECT workflow, version, status, COUNT(*) FROM sagas INDEXED BY sagas_finished
                        WHERE status = 'completed' OR status = 'compensated' OR status = 'failed'
                        GROUP BY workflow, version, status;
                    CREATE TRIGGER sagas_finished_count_insert AFTER INSERT ON sagas
                        WHEN new.status IN \(finishedList)
                    BEGIN
                        INSERT INTO saga_finished_counts (workflow, version, status, n)
                            VALUES (new.workflow, new.version, new.status, 1)
                            ON CONFLICT DO UPDATE SET n = n + 1;
                    END;
                    CREATE TRIGGER sagas_finished_count_update AFTER UPDATE OF status ON sagas
                        WHEN old.status IS NOT new.status
                            AND (old.status IN \(finishedList) OR new.status IN \(finishedList))
                    BEGIN
                        UPDATE saga_finished_counts SET n = n - 1
                            WHERE workflow = old.workflow AND version = old.version AND status = old.status;
                        INSERT INTO saga_finished_counts (workflow, version, status, n)
                            SELECT new.workflow, new.version, new.status, 1 WHERE new.status IN \(finishedList)
                            ON CONFLICT DO UPDATE SET n = n + 1;
                    END;
                    CREATE TRIGGER sagas_finished_count_delete AFTER DELETE ON sagas
                        WHEN old.status IN \(finishedList)
                    BEGIN
                        UPDATE saga_finished_counts SET n = n - 1
                            WHERE workflow = old.workflow AND version = old.version AND status = old.status;
                    END;
                    PRAGMA user_version = 9;
                    """
            )
        }
    }
}
