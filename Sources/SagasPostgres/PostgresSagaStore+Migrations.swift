import Logging
import PostgresNIO
public import Sagas

// The ready step: the store's own named migrations, recorded in `saga_migrations`, run on a connection of their own
// under an advisory lock, so that several nodes starting at once migrate once.
extension PostgresSagaStore {
    /// The names of the migrations this code knows, in order.
    public static var migrationNames: [String] {
        PostgresSchema(schema: "public").migrations.map(\.name)
    }

    /// Creates the schema and applies the migrations it lacks, in one transaction; a database already at this
    /// schema is left unchanged. Call it once before using the store.
    ///
    /// - Throws: `.schemaTooNew` (nothing is written) when the database records a migration this code does not
    ///   know; `.databaseUnavailable`, `.authenticationFailed`, `.databaseNotFound`, `.databaseReadOnly`,
    ///   `.storageFailure`.
    public func migrate() async throws {
        try await withOwnConnection { connection in
            // Read first: a newer schema is refused before anything is written.
            try self.refuseNewer(try await self.applied(on: connection))
            if try await !self.schemaExists(on: connection) {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(self.schema.schema)"), logger: self.logger)
            }
            let logger = self.logger
            let schema = self.schema
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock(hashtext('sagas.migrations.\(schema.schema)'))"),
                    logger: logger
                )
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "CREATE TABLE IF NOT EXISTS \(schema.migrationsTable) "
                            + "(name TEXT NOT NULL PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                    ),
                    logger: logger
                )
                let done = try await self.applied(on: connection) ?? []
                try self.refuseNewer(done)
                for migration in schema.migrations where !done.contains(migration.name) {
                    logger.info("applying migration", metadata: ["postgres.migration": "\(migration.name)"])
                    for sql in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                    }
                    var insert = PostgresStatement("INSERT INTO \(schema.migrationsTable) (name) VALUES (")
                    insert.append(insert.bind(migration.name) + ")")
                    try await connection.query(insert.query, logger: logger)
                }
            }
        }
    }

    /// Checks, without writing, that the database has exactly this code's schema: what a read-only command does
    /// instead of ``migrate()``.
    ///
    /// - Throws: `.databaseNotFound` when the schema has no Sagas tables; `.schemaTooNew`; `.storageFailure` for an
    ///   older schema (run `saga migrate`); connection errors.
    public func checkSchema() async throws {
        try await withOwnConnection { connection in
            guard let done = try await self.applied(on: connection) else {
                throw SagaError(
                    .databaseNotFound,
                    "database \(self.errors.name) has no Sagas tables in schema \(self.schema.schema); "
                        + "run a command that writes (saga worker, saga migrate) to create them",
                    file: self.errors.name
                )
            }
            try self.refuseNewer(done)
            let missing = Self.migrationNames.filter { !done.contains($0) }
            guard missing.isEmpty else {
                throw SagaError(
                    .storageFailure,
                    "database \(self.errors.name) lacks the migrations \(missing.joined(separator: ", ")); "
                        + "run saga migrate",
                    file: self.errors.name
                )
            }
        }
    }

    /// The migrations the database records, oldest first (empty before ``migrate()``).
    public func appliedMigrations() async throws -> [String] {
        guard try await tableExists() else { return [] }
        let statement = PostgresStatement("SELECT name FROM \(schema.migrationsTable) ORDER BY name")
        return try await rows(statement).map { try $0.decode(String.self) }
    }

    private func tableExists() async throws -> Bool {
        var statement = PostgresStatement("SELECT to_regclass(")
        statement.append(statement.bind(schema.migrationsTable) + ")::text")
        return try await rows(statement).first.map { try $0.decode(String?.self) != nil } ?? false
    }

    /// The recorded migration names, or `nil` when the table does not exist.
    private func applied(on connection: PostgresConnection) async throws -> Set<String>? {
        var exists = PostgresStatement("SELECT to_regclass(")
        exists.append(exists.bind(schema.migrationsTable) + ")::text")
        let found = try await connection.query(exists.query, logger: logger).collect()
        guard try found.first?.decode(String?.self) != nil else { return nil }
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT name FROM \(schema.migrationsTable)"),
            logger: logger
        ).collect()
        return Set(try rows.map { try $0.decode(String.self) })
    }

    private func schemaExists(on connection: PostgresConnection) async throws -> Bool {
        var statement = PostgresStatement("SELECT 1 FROM pg_namespace WHERE nspname = ")
        statement.append(statement.bind(schema.schema))
        return try await !connection.query(statement.query, logger: logger).collect().isEmpty
    }

    private func refuseNewer(_ applied: Set<String>?) throws {
        let known = Set(Self.migrationNames)
        let unknown = (applied ?? []).subtracting(known).sorted()
        guard unknown.isEmpty else {
            throw SagaError(
                .schemaTooNew,
                "database \(errors.name) has migrations this version of Sagas does not know "
                    + "(\(unknown.joined(separator: ", "))): it was written by a newer Sagas; upgrade Sagas. "
                    + "Nothing was written",
                file: errors.name
            )
        }
    }

    /// Runs `body` on a connection of its own (closed afterwards), mapping its errors to `SagaError`s.
    private func withOwnConnection(_ body: (PostgresConnection) async throws -> Void) async throws {
        let connection = try await mapped { try await self.connect() }
        do {
            try await mapped { try await body(connection) }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    /// Runs `body` (a row's decoding), mapping its errors to `SagaError`s.
    func decoded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw errors.map(error)
        }
    }

    /// Runs `body`, mapping its errors to `SagaError`s.
    func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw errors.map(error)
        }
    }
}
