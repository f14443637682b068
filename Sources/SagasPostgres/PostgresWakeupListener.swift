public import Logging
import PostgresNIO
public import Sagas
public import ServiceLifecycle

extension PostgresSchema {
    /// The channel of wake-up notifications; the payload is the schema, so nodes of other schemas ignore them.
    static let wakeupChannel = "saga_wakeup"

    /// Migration `0005-wakeups` (issue 16): a notification when a saga becomes claimable, a new one nobody holds
    /// or one released while runnable, sent at the commit. Only a hint: nodes poll as well.
    var wakeupMigration: Migration {
        Migration(
            name: "0005-wakeups",
            statements: [
                """
                CREATE FUNCTION \(schema).saga_wakeup() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('\(Self.wakeupChannel)', TG_TABLE_SCHEMA);
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER sagas_wakeup_insert AFTER INSERT ON \(sagas)
                    FOR EACH ROW WHEN (NEW.owner IS NULL AND NEW.status IN ('pending', 'running', 'compensating'))
                    EXECUTE FUNCTION \(schema).saga_wakeup()
                """,
                """
                CREATE TRIGGER sagas_wakeup_release AFTER UPDATE OF owner ON \(sagas)
                    FOR EACH ROW WHEN (NEW.owner IS NULL AND OLD.owner IS NOT NULL
                        AND NEW.status IN ('pending', 'running', 'compensating'))
                    EXECUTE FUNCTION \(schema).saga_wakeup()
                """,
            ]
        )
    }
}

/// Listens for the store's wake-up notifications (`LISTEN saga_wakeup` on a connection of its own) and calls
/// `onWake` for those of its schema: a node then claims a saga another node submitted at once rather than at its
/// next poll. Only a hint: when the connection is lost it connects again (after a second), waking once when it is
/// back, and polling goes on meanwhile. Behind a pooler in transaction mode (PgBouncer), LISTEN does not work: run
/// without this service (`saga worker --postgres-poll-only`).
public struct PostgresWakeupListener: Service {
    let store: PostgresSagaStore
    let logger: Logger
    let onWake: @Sendable () -> Void

    public init(store: PostgresSagaStore, logger: Logger, onWake: @escaping @Sendable () -> Void) {
        self.store = store
        self.logger = logger
        self.onWake = onWake
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.listenOnce()
                } catch is CancellationError {
                    return
                } catch {
                    if Task.isCancelled { return }
                    self.logger.debug("wake-up listener lost its connection; polling meanwhile: \(error)")
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func listenOnce() async throws {
        let connection = try await store.connect()
        do {
            let schema = store.schema.schema
            let onWake = self.onWake
            try await connection.listen(on: PostgresSchema.wakeupChannel) { notifications in
                // Anything that became claimable while the connection was down.
                onWake()
                for try await notification in notifications where notification.payload == schema {
                    onWake()
                }
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }
}
