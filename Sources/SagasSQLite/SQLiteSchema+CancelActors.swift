import GRDB

extension SQLiteSchema {
    /// Migration 11: who asked for a saga's cancel (`cancel_by`, beside `cancel_reason`), so that the worker that
    /// journals the request names them in `saga.cancel_requested` (`data.by`). Rows from before have none.
    static func registerCancelActors(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v11-cancel-by") { db in
            try db.execute(
                sql: """
                    ALTER TABLE sagas ADD COLUMN cancel_by TEXT;
                    PRAGMA user_version = 11;
                    """
            )
        }
    }
}
