import Foundation
import Logging
import PostgresNIO
import Sagas
import SagasPostgres
import Synchronization
import Testing

/// The PostgreSQL server the tests use: `SAGA_POSTGRES_URL`, which `.ci/run` sets after starting
/// `scripts/pg-local.sh`. Without it, the PostgreSQL suites are skipped.
enum PostgresTestDatabase {
    static let url: String? = ProcessInfo.processInfo.environment["SAGA_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static var isConfigured: Bool { url != nil }

    /// Why the suites are skipped, and how to run them.
    static let skipMessage: Comment = """
        SAGA_POSTGRES_URL is not set: run `eval "$(scripts/pg-local.sh start)"` (a private PostgreSQL on loopback) \
        to run the PostgreSQL tests
        """

    static var logger: Logger {
        var logger = Logger(label: "sagas.postgres.tests", factory: { _ in SwiftLogNoOpLogHandler() })
        logger.logLevel = .critical
        return logger
    }

    static func configuration(schema: String = "public") throws -> PostgresStoreConfiguration {
        guard let url else { throw SagaError(.invalidArgument, "SAGA_POSTGRES_URL is not set") }
        var configuration = try PostgresStoreConfiguration(url: url)
        configuration.schema = schema
        return configuration
    }

    private static let counter = Mutex(0)

    /// A schema name no other test (nor another run) uses.
    static func freshSchemaName() -> String {
        let n = counter.withLock { $0 += 1; return $0 }
        let random = UInt32.random(in: 0...UInt32.max)
        return "t_\(getpid())_\(n)_\(String(random, radix: 36))"
    }

    /// Runs `body` with a running client and a factory of stores, each in a fresh schema, migrated; the schemas
    /// are dropped afterwards.
    static func withStores<T: Sendable>(
        _ body: @Sendable (_ makeStore: @Sendable () async throws -> PostgresSagaStore) async throws -> T
    ) async throws -> T {
        let base = try configuration()
        let client = PostgresClient(
            configuration: .init(
                host: base.host, port: base.port, username: base.username, password: base.password,
                database: base.database, tls: .disable
            ),
            backgroundLogger: logger
        )
        let schemas = Mutex<[String]>([])
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let makeStore: @Sendable () async throws -> PostgresSagaStore = {
                let name = freshSchemaName()
                schemas.withLock { $0.append(name) }
                let store = try PostgresSagaStore(
                    client: client, configuration: try configuration(schema: name), logger: logger
                )
                try await store.migrate()
                return store
            }
            let result: T
            do {
                result = try await body(makeStore)
            } catch {
                await drop(schemas.withLock { $0 }, client: client)
                throw error
            }
            await drop(schemas.withLock { $0 }, client: client)
            return result
        }
    }

    /// A second store on the schema of `store`, with a client of its own: another node.
    static func otherNode<T: Sendable>(
        sharing store: PostgresSagaStore,
        _ body: @Sendable (PostgresSagaStore) async throws -> T
    ) async throws -> T {
        try await PostgresSagaStore.withStore(configuration: store.configuration, logger: logger) { other in
            try await body(other)
        }
    }

    /// Runs `body` with a store whose client runs, without its ready step (no schema needed).
    static func withRunningStore<T: Sendable>(
        _ configuration: PostgresStoreConfiguration,
        _ body: @Sendable (PostgresSagaStore) async throws -> T
    ) async throws -> T {
        let store = try PostgresSagaStore(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    private static func drop(_ schemas: [String], client: PostgresClient) async {
        for schema in schemas {
            _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"))
        }
    }
}
