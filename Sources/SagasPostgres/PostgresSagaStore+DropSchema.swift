import PostgresNIO
public import Sagas

extension PostgresSagaStore {
    /// Drops the store's schema with every table in it (`DROP SCHEMA … CASCADE`): what `saga bench --ab` does after
    /// each run on a schema of its own. Never call it on a schema that holds sagas you keep.
    public func dropSchema() async throws {
        _ = try await rows(PostgresStatement("DROP SCHEMA IF EXISTS \(schema.schema) CASCADE"))
    }
}
