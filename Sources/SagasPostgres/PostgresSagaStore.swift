public import Logging
import NIOCore
import NIOPosix
import NIOSSL
public import PostgresNIO
public import Sagas
public import ServiceLifecycle
import Synchronization

/// A durable `SagaStore` on PostgreSQL, which several engine nodes (processes, machines) share.
///
/// The store keeps the `SagaStore` contract exactly as `SQLiteSagaStore` does, and:
/// 1. Every write is one statement (its checks in its `WHERE` clause), so it is atomic and acknowledged after its
///    commit, with the server's durability settings (`fsync`, `synchronous_commit`).
/// 2. Claims take several runnable sagas per round trip with `FOR UPDATE SKIP LOCKED`: two nodes claiming at once
///    never get the same saga, and neither waits for the other.
/// 3. Fencing: every claim and take-over increments the saga's lease epoch, and an append checks the owner and the
///    epoch its claim got in the same statement. A worker whose lease passed to another can never append, even one
///    that uses the same worker id (a node restarted under the same name).
/// 4. The tables live in one schema (`Configuration.schema`), created by the store's own named migrations
///    (`saga_migrations`); a schema written by a newer Sagas is refused before anything is written.
/// 5. Every error is a `SagaError` whose message names the database by its URL without the password.
///
/// The store uses a `PostgresClient`, a ServiceLifecycle `Service` that must run for queries to be served: run the
/// store itself as a service (it then runs the client it made), use ``withStore(configuration:logger:migrate:_:)``,
/// or pass a client that you run. Then call ``migrate()`` (or ``checkSchema()`` to only read) before using it.
public final class PostgresSagaStore: SagaStore, Service {
    /// Where the store connects; built from a URL with `PostgresStoreConfiguration(url:)`.
    public typealias Configuration = PostgresStoreConfiguration

    /// How the store connects.
    public let configuration: Configuration
    /// The connection pool the store queries through.
    public let client: PostgresClient

    let ownsClient: Bool
    let schema: PostgresSchema
    let errors: PostgresErrorMapper
    let logger: Logger
    /// The lease epoch each saga had when this store's worker last claimed or took it over, and the owner it
    /// claimed it for: what `append` checks.
    let leases = Mutex<[String: (owner: String, epoch: Int64)]>([:])
    /// Group commit of appends (`PostgresSagaStore+Batch.swift`).
    let appendBatcher: PostgresAppendBatcher

    /// A store with a client of its own, which ``run()`` runs. No connection is made until the client runs.
    ///
    /// - Throws: `.storageFailure` when the TLS configuration cannot be made; `.invalidArgument` for a bad schema.
    public convenience init(configuration: Configuration, logger: Logger) throws {
        let client = PostgresClient(
            configuration: try Self.clientConfiguration(configuration),
            backgroundLogger: logger
        )
        try self.init(client: client, configuration: configuration, ownsClient: true, logger: logger)
    }

    /// A store on a client that the caller runs (several stores, in several schemas, may share one client).
    ///
    /// - Parameter configuration: The database the client connects to (for messages and ``migrate()``'s own
    ///   connection) and the schema of the tables.
    /// - Throws: `.invalidArgument` when the schema is not a plain identifier.
    public convenience init(client: PostgresClient, configuration: Configuration, logger: Logger) throws {
        try self.init(client: client, configuration: configuration, ownsClient: false, logger: logger)
    }

    private init(client: PostgresClient, configuration: Configuration, ownsClient: Bool, logger: Logger) throws {
        try PostgresStoreConfiguration.checkIdentifier(configuration.schema)
        self.client = client
        self.configuration = configuration
        self.ownsClient = ownsClient
        self.schema = PostgresSchema(schema: configuration.schema)
        let errors = PostgresErrorMapper(configuration: configuration)
        self.errors = errors
        self.appendBatcher = PostgresAppendBatcher(
            maximumInFlight: PostgresAppendBatcher.flushes(connections: configuration.maximumConnections),
            errors: errors
        )
        var logger = logger
        logger[metadataKey: "postgres.database"] = "\(configuration.redactedURL)"
        self.logger = logger
    }

    /// Runs the client the store made (until cancelled or shut down gracefully); with a client passed in, waits
    /// for cancellation or graceful shutdown.
    public func run() async throws {
        if ownsClient {
            await client.run()
        } else {
            try? await gracefulShutdown()
        }
    }

    /// Runs `body` with a store whose client runs in a child task, after the ready step: ``migrate()`` (or, with
    /// `migrate: false`, ``checkSchema()``). The client stops when `body` returns or throws.
    ///
    /// - Throws: What the ready step throws (`.databaseUnavailable`, `.authenticationFailed`, `.schemaTooNew`, …),
    ///   and what `body` throws.
    public static func withStore<Result: Sendable>(
        configuration: Configuration,
        logger: Logger,
        migrate: Bool = true,
        _ body: @Sendable (PostgresSagaStore) async throws -> Result
    ) async throws -> Result {
        let store = try PostgresSagaStore(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.client.run() }
            defer { group.cancelAll() }
            if migrate {
                try await store.migrate()
            } else {
                try await store.checkSchema()
            }
            return try await body(store)
        }
    }

    /// The client configuration for `configuration`: TLS as its `sslmode` asks.
    static func clientConfiguration(_ configuration: Configuration) throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch configuration.tls {
        case .disable:
            tls = .disable
        case .prefer:
            tls = .prefer(unverifiedTLS)
        case .require:
            tls = .require(unverifiedTLS)
        case .verifyFull:
            tls = .require(.makeClientConfiguration())
        }
        var client = PostgresClient.Configuration(
            host: configuration.host,
            port: configuration.port,
            username: configuration.username,
            password: configuration.password,
            database: configuration.database,
            tls: tls
        )
        client.options.maximumConnections = max(1, configuration.maximumConnections)
        client.options.connectTimeout = configuration.connectTimeout
        client.options.additionalStartupParameters = [("application_name", configuration.applicationName)]
        return client
    }

    /// TLS without certificate checks, as libpq's `sslmode=require` and `prefer` do.
    static var unverifiedTLS: TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        return tls
    }

    /// A connection of its own (not from the pool), for the ready step: it fails at once, with the server's
    /// reason, when the database cannot be reached or refuses the credentials.
    func connect() async throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        switch configuration.tls {
        case .disable:
            tls = .disable
        case .prefer:
            tls = .prefer(try NIOSSLContext(configuration: Self.unverifiedTLS))
        case .require:
            tls = .require(try NIOSSLContext(configuration: Self.unverifiedTLS))
        case .verifyFull:
            tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var connection = PostgresConnection.Configuration(
            host: configuration.host,
            port: configuration.port,
            username: configuration.username,
            password: configuration.password,
            database: configuration.database,
            tls: tls
        )
        connection.options.additionalStartupParameters = [("application_name", configuration.applicationName)]
        connection.options.connectTimeout = .nanoseconds(Int64(configuration.connectTimeout.components.seconds) * 1_000_000_000)
        return try await PostgresConnection.connect(configuration: connection, id: 1, logger: logger)
    }

    /// Runs one statement through the pool and returns its rows. Serialization failures and deadlocks are run
    /// again (up to 5 times); every error is mapped to a `SagaError`.
    func rows(_ statement: PostgresStatement) async throws -> [PostgresRow] {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let query = statement.query
                let client = self.client
                let logger = self.logger
                return try await Self.withDeadline(configuration.statementTimeout, database: errors.name) {
                    try await client.query(query, logger: logger).collect()
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch where attempt < 5 && PostgresErrorMapper.isRetryable(error) {
                logger.debug("retrying a statement after a serialization failure", metadata: ["attempt": "\(attempt)"])
                continue
            } catch {
                throw errors.map(error)
            }
        }
    }

    /// Runs `body`, or throws `.databaseUnavailable` when it has not answered within `limit`.
    ///
    /// A statement sent on a connection that the server dropped (an immediate shutdown, a restart), or waiting for a
    /// connection while the server is down, can wait for ever in the client; a worker would then hold its sagas
    /// without driving them. The statement runs in a task of its own, so that giving up on it does not wait for it
    /// (it is cancelled, and its result, if one ever comes, is dropped).
    static func withDeadline<T: Sendable>(
        _ limit: Duration,
        database: String,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let gate = DeadlineGate<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                gate.wait(with: continuation)
                let task = Task {
                    do {
                        gate.finish(.success(try await body()))
                    } catch {
                        gate.finish(.failure(error))
                    }
                }
                gate.track(task)
                Task {
                    try? await Task.sleep(for: limit)
                    task.cancel()
                    gate.finish(.failure(SagaError(
                        .databaseUnavailable,
                        "database \(database) did not answer within \(limit.components.seconds)s",
                        file: database
                    )))
                }
            }
        } onCancel: {
            gate.cancel()
        }
    }

    /// Runs one statement and decodes its rows as saga records.
    func records(_ statement: PostgresStatement) async throws -> [(record: SagaRecord, epoch: Int64, position: Int64)] {
        try await rows(statement).map(PostgresRows.record)
    }

    /// Remembers the epoch of a lease this store's worker took.
    func remember(_ sagaID: String, owner: String, epoch: Int64) {
        leases.withLock { $0[sagaID] = (owner, epoch) }
    }
}

extension SagaStore where Self == PostgresSagaStore {
    /// A PostgreSQL store with a client of its own: `try .postgres(url: "postgres://…", logger: logger)`. Run it as
    /// a service (or use `PostgresSagaStore.withStore`), and call `migrate()` before using it.
    ///
    /// - Throws: `.invalidArgument` for a malformed URL; what `PostgresSagaStore.init(configuration:logger:)` throws.
    public static func postgres(url: String, logger: Logger) throws -> PostgresSagaStore {
        try PostgresSagaStore(configuration: PostgresStoreConfiguration(url: url), logger: logger)
    }
}

/// The one continuation of `PostgresSagaStore.withDeadline`, resumed once, by whichever comes first: the statement's
/// result, the deadline, or cancellation.
private final class DeadlineGate<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, task: Task<Void, Never>?)>((nil, nil))

    func wait(with continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func track(_ task: Task<Void, Never>) {
        state.withLock { $0.task = task }
    }

    func finish(_ result: Result<T, any Error>) {
        let continuation = state.withLock { value -> CheckedContinuation<T, any Error>? in
            defer { value.continuation = nil }
            return value.continuation
        }
        continuation?.resume(with: result)
    }

    func cancel() {
        state.withLock { $0.task }?.cancel()
        finish(.failure(CancellationError()))
    }
}
