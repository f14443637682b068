import SagasPostgres
import Synchronization

/// Runs the PostgreSQL client of the store a command opened, for the rest of the process.
///
/// A library would run `PostgresSagaStore` in its `ServiceGroup` or use `PostgresSagaStore.withStore`; a CLI command
/// opens its store in one place (`GlobalOptions.openStore`) and uses it until the process exits, so the client runs
/// in a task the process owns, cancelled by `stop()` or ended with the process.
enum PostgresClientRunner {
    private static let tasks = Mutex<[Task<Void, Never>]>([])

    /// Starts running the store's client.
    static func start(_ store: PostgresSagaStore) {
        let task = Task<Void, Never> { _ = try? await store.run() }
        tasks.withLock { $0.append(task) }
    }

    /// Stops every client started here.
    static func stop() {
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }
}
