import Sagas
import SagasSQLite

extension MigrateCommand {
    /// The exclusive keys a saga of the SQLite database is queued for, in the order its workflow named them (empty
    /// for a terminal saga, whose keys are free): `importSaga` queues them again on PostgreSQL. Sagas are copied in
    /// creation order, the order they queued in, so each keeps its place behind the saga that holds its key.
    static func queuedKeys(of sagaID: String, in source: SQLiteSagaStore) async throws -> [String] {
        try await source.keys(of: sagaID).map(\.key)
    }
}
