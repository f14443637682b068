import Foundation
import GRDB
public import Logging
public import Sagas
import Synchronization

/// A durable `SagaStore` in one SQLite file, in WAL mode, with group commit.
///
/// The store keeps the `SagaStore` contract exactly as `MemorySagaStore` does, and:
/// 1. A write is acknowledged only after the transaction that holds it committed with the configured
///    `synchronous` level (`FULL` by default: a committed write survives a power loss).
/// 2. Every write (`create`, `append`, `claim`, …) goes through one queue: writes that arrive while a transaction
///    is committing share the next transaction (group commit), each in its own savepoint, so one write refused
///    with `.leaseLost` or `.corruptJournal` writes nothing and does not fail the others.
/// 3. The file is checked before anything is written to it: a file that is not a SQLite database, a SQLite
///    database of another application, or a Sagas database of a newer schema is refused and left unmodified.
/// 4. Every error is a `SagaError` whose message names the file (see `Docs/storage.md` for the mapping).
public final class SQLiteSagaStore: SagaStore {
    /// How the store opens and writes its database.
    public struct Configuration: Sendable {
        /// How hard SQLite works to make a commit survive a power loss (`PRAGMA synchronous`).
        public enum Synchronous: Sendable, Hashable {
            /// `synchronous=FULL`: a committed transaction survives a power loss or an OS crash.
            case full
            /// `synchronous=NORMAL`: a committed transaction survives a process crash; the last transactions may
            /// roll back on a power loss or an OS crash (the database stays consistent).
            case normal

            /// The value `PRAGMA synchronous` reads back (`2` for `FULL`, `1` for `NORMAL`).
            public var pragmaValue: Int {
                switch self {
                case .full: 2
                case .normal: 1
                }
            }
        }

        /// `PRAGMA synchronous` for every connection. Default `.full`.
        public var synchronous: Synchronous
        /// How long a write waits for another process's lock before failing with `.databaseLocked`. Default 5 s.
        public var busyTimeout: Duration
        /// Whether a missing file is created. Default `true`; `false` makes a missing file `.databaseNotFound`.
        public var createIfMissing: Bool
        /// Opens the database read-only: every write fails with `.databaseReadOnly`. Default `false`.
        public var readOnly: Bool
        /// `PRAGMA max_page_count` for every connection, to simulate a full database in tests. Default `nil`.
        public var maxPageCount: Int?

        /// A configuration; every parameter has its default.
        public init(
            synchronous: Synchronous = .full,
            busyTimeout: Duration = .seconds(5),
            createIfMissing: Bool = true,
            readOnly: Bool = false,
            maxPageCount: Int? = nil
        ) {
            self.synchronous = synchronous
            self.busyTimeout = busyTimeout
            self.createIfMissing = createIfMissing
            self.readOnly = readOnly
            self.maxPageCount = maxPageCount
        }
    }

    /// Counters since the store was opened, for benchmarks and tests.
    public struct JournalStatistics: Sendable, Hashable {
        /// Write transactions committed.
        public var commits: Int
        /// Writes (`create`, `append`, `claim`, …) acknowledged, successful or refused; several share a commit.
        public var writes: Int
        /// Journal events inserted.
        public var eventRows: Int
        /// Wall-clock seconds the writer spent in write transactions, from `BEGIN` to the end of `COMMIT` (its
        /// flush included): how busy the one writer is. Writes are serial, so this bounds the throughput.
        public var transactionSeconds: Double

        /// Statistics with the given counters.
        public init(commits: Int = 0, writes: Int = 0, eventRows: Int = 0, transactionSeconds: Double = 0) {
            self.commits = commits
            self.writes = writes
            self.eventRows = eventRows
            self.transactionSeconds = transactionSeconds
        }
    }

    /// The settings the database connection reads back, to check what the store runs with.
    public struct ConnectionSettings: Sendable, Hashable {
        /// `PRAGMA journal_mode` (`wal`).
        public var journalMode: String
        /// `PRAGMA synchronous` on the writing connection (`2` is `FULL`, `1` is `NORMAL`).
        public var synchronous: Int
        /// `PRAGMA foreign_keys`.
        public var foreignKeys: Bool
        /// `PRAGMA user_version`: the schema version.
        public var schemaVersion: Int
    }

    /// The path of the database file, as given to `init`.
    public let path: String
    /// The configuration the store was opened with.
    public let configuration: Configuration

    let pool: DatabasePool
    let errors: SQLiteErrorMapper
    let batcher: SQLiteWriteBatcher
    let logger: Logger?
    /// Digests of the pinned definitions this store committed: a new saga that pins one of them does not insert
    /// it again. (Definitions are never deleted.)
    let storedDefinitions = Mutex<Set<String>>([])

    /// Opens (or creates) the database at `path`, checks it, and migrates it to the current schema.
    ///
    /// - Parameters:
    ///   - path: The database file. Its folder must exist.
    ///   - configuration: How to open and write it.
    ///   - logger: Where to log opening and migrations, at debug level; `nil` logs nothing.
    /// - Throws: `SagaError` with `.databaseNotFound` (missing file with `createIfMissing: false` or `readOnly`),
    ///   `.databaseCorrupt` (not a SQLite file, or another application's database: the file is not modified),
    ///   `.schemaTooNew` (written by a newer Sagas: not modified), `.databaseReadOnly`, `.databaseLocked`,
    ///   `.storageFailure`.
    public init(path: String, configuration: Configuration = .init(), logger: Logger? = nil) throws {
        self.path = path
        self.configuration = configuration
        self.logger = logger
        let errors = SQLiteErrorMapper(path: path, busyTimeout: configuration.busyTimeout)
        self.errors = errors

        try SQLiteSagaStore.preflight(path: path, configuration: configuration, errors: errors)

        if !configuration.readOnly {
            SQLiteSagaStore.prepareWAL(for: path)
        }

        var grdb = GRDB.Configuration()
        grdb.readonly = configuration.readOnly
        grdb.foreignKeysEnabled = true
        grdb.busyMode = .timeout(configuration.busyTimeout.seconds)
        grdb.label = "Sagas.SQLiteSagaStore"
        let synchronous = configuration.synchronous.pragmaValue
        let maxPageCount = configuration.maxPageCount
        grdb.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            if let maxPageCount {
                try db.execute(sql: "PRAGMA max_page_count = \(maxPageCount)")
            }
        }

        do {
            let pool = try DatabasePool(path: path, configuration: grdb)
            self.pool = pool
            if !configuration.readOnly {
                // GRDB sets `synchronous=NORMAL` on the writer when it turns WAL on, after `prepareDatabase`:
                // set the configured level again on the (single) writing connection, and read it back.
                let level = try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                    return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
                }
                guard level == synchronous else {
                    throw SagaError(
                        .storageFailure,
                        "database \(path): PRAGMA synchronous reads back \(level), not \(synchronous)",
                        file: path
                    )
                }
                try SQLiteSagaStore.migrate(pool, path: path, errors: errors)
            } else {
                let version = try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
                guard version == SQLiteSchema.version else {
                    throw SagaError(
                        .storageFailure,
                        "database \(path) has schema version \(version), not \(SQLiteSchema.version); "
                            + "open it once for writing to migrate it (with the CLI: saga migrate)",
                        file: path
                    )
                }
            }
        } catch {
            throw errors.map(error)
        }
        self.batcher = SQLiteWriteBatcher(pool: pool, errors: errors, readOnly: configuration.readOnly)
        logger?.debug(
            "opened saga database",
            metadata: [
                "sqlite.path": "\(path)",
                "sqlite.synchronous": "\(configuration.synchronous)",
                "sqlite.readOnly": "\(configuration.readOnly)",
            ]
        )
    }

    /// Makes sure an existing database has a non-empty `-wal` file before GRDB opens it for writing.
    ///
    /// Without one, GRDB commits a dummy `CREATE TABLE`/`DROP TABLE` at open (its issue 102) — a write to the
    /// database file itself, before any of our reads could find that the file is corrupt. A WAL file whose header
    /// is not valid (32 zero bytes) is one SQLite treats as empty, and rewrites at its first commit; a real WAL
    /// (frames not yet checkpointed) is never touched.
    static func prepareWAL(for path: String) {
        var info = stat()
        guard stat(path, &info) == 0, info.st_size > 0 else { return }  // new database: nothing to protect
        let walPath = path + "-wal"
        var walInfo = stat()
        if stat(walPath, &walInfo) == 0 && walInfo.st_size > 0 { return }
        let fd = open(walPath, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        // Only into an empty file: a WAL that gained frames meanwhile is left alone.
        if fstat(fd, &walInfo) == 0 && walInfo.st_size == 0 {
            let zeros = [UInt8](repeating: 0, count: 32)
            _ = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, 32, 0) }
        }
    }

    /// Counters of commits, writes and event rows since the store was opened.
    public func journalStatistics() async throws -> JournalStatistics {
        batcher.statistics
    }

    /// Reads back the settings of the connection that writes (journal mode, synchronous level, foreign keys,
    /// schema version).
    ///
    /// - Throws: A storage `SagaError`.
    public func connectionSettings() async throws -> ConnectionSettings {
        do {
            let read: @Sendable (Database) throws -> ConnectionSettings = { db in
                ConnectionSettings(
                    journalMode: try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                    synchronous: try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1,
                    foreignKeys: try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false,
                    schemaVersion: try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                )
            }
            if configuration.readOnly {
                return try await pool.read(read)
            }
            return try await pool.writeWithoutTransaction(read)
        } catch {
            throw errors.map(error)
        }
    }

    /// Runs a read, mapping every error to a `SagaError`.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw errors.map(error)
        }
    }

    /// Runs a write in the next group-commit transaction, and returns once it committed.
    func write<T: Sendable>(
        events: Int = 0,
        saga: String? = nil,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await batcher.submit(events: events, saga: saga, body)
    }
}

extension SagaStore where Self == SQLiteSagaStore {
    /// A SQLite store: `SagaEngine(store: try .sqlite(path: "saga.db"), …)`.
    ///
    /// - Throws: What `SQLiteSagaStore.init(path:configuration:logger:)` throws.
    public static func sqlite(
        path: String,
        configuration: SQLiteSagaStore.Configuration = .init(),
        logger: Logger? = nil
    ) throws -> SQLiteSagaStore {
        try SQLiteSagaStore(path: path, configuration: configuration, logger: logger)
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        SagaDuration.seconds(self)
    }
}
