import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasPostgres
import SagasSQLite

/// Options every command that reads the database or the workflows folder takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The SQLite database file, or a postgres:// (postgresql://) URL.",
            discussion: "Default: $SAGA_DB, else ./saga.db. A URL's password may also come from PGPASSWORD or a "
                + "password file (PGPASSFILE, else ~/.pgpass); sslmode=require turns TLS on.",
            valueName: "path|url"
        )
    )
    var db: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The folder of workflow files.", discussion: "Default: $SAGA_WORKFLOWS, else ./Workflows.", valueName: "dir")
    )
    var workflows: String?

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Log format on standard error: text, or json (one object per line, for log shippers).",
            valueName: "format"
        )
    )
    var logFormat: String = "text"

    /// Refuses an unknown `--log-level` (it used to fall back to the default silently).
    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel.lowercased()) == nil {
            throw ValidationError(
                "unknown log level '\(logLevel)'; expected one of "
                    + Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            )
        }
        if logFormat != "text" && logFormat != "json" {
            throw ValidationError("unknown log format '\(Output.truncate(logFormat, 40))'; expected text or json")
        }
    }

    var databasePath: String {
        db ?? ProcessInfo.processInfo.environment["SAGA_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "saga.db"
    }

    var workflowsDirectory: String {
        workflows ?? ProcessInfo.processInfo.environment["SAGA_WORKFLOWS"].flatMap { $0.isEmpty ? nil : $0 } ?? "Workflows"
    }

    /// How a command opens the database.
    enum StoreAccess {
        /// Commands that start sagas: a missing file is created.
        case create
        /// Commands that change existing sagas: a missing file is an error, not a new empty database.
        case write
        /// Commands that only look: opened read-only, so they never wait for writers nor modify the file.
        case read
    }

    /// Opens the store: SQLite for a path, PostgreSQL for a `postgres://` URL (migrated, or for `.read` only
    /// checked).
    func openStore(_ access: StoreAccess) async throws -> any SagaStorePurging {
        if PostgresStoreConfiguration.isURL(databasePath) {
            return try await openPostgresStore(access)
        }
        return try openSQLiteStore(access)
    }

    /// Opens the SQLite store at `databasePath`.
    func openSQLiteStore(_ access: StoreAccess) throws -> SQLiteSagaStore {
        try CLI.guarded {
            var configuration = SQLiteSagaStore.Configuration()
            configuration.createIfMissing = access == .create
            configuration.readOnly = access == .read
            return try SQLiteSagaStore(path: databasePath, configuration: configuration)
        }
    }

    /// Opens the PostgreSQL store `databasePath` names. Its client runs for the rest of the command (the process
    /// owns it; see `PostgresClientRunner`).
    func openPostgresStore(_ access: StoreAccess) async throws -> PostgresSagaStore {
        try await CLI.guarded {
            let configuration = try PostgresStoreConfiguration(url: databasePath)
            var logger = Logger(label: "saga.postgres")
            logger.logLevel = logLevel.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .warning
            let store = try PostgresSagaStore(configuration: configuration, logger: logger)
            PostgresClientRunner.start(store)
            if access == .read {
                try await store.checkSchema()
            } else {
                try await store.migrate()
            }
            return store
        }
    }

    func makeLogger(defaultLevel: Logger.Level) -> Logger {
        let level = logLevel.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? defaultLevel
        CLI.bootstrapLogging(level: level, json: logFormat == "json")
        var logger = Logger(label: "saga")
        logger.logLevel = level
        return logger
    }
}

extension GlobalOptions {
    /// Resolves a WORKFLOW argument and journals a saga for it (or finds the saga with that id): what `run` and
    /// `submit` share. Commands run in the workflow file's folder.
    func startSaga(
        _ workflow: String,
        input: JSONValue,
        id: String?,
        traceparent: String? = nil,
        engine: SagaEngine
    ) async throws -> SagaRecord {
        let catalog = WorkflowCatalog(directory: workflowsDirectory, kinds: EngineFactory.kinds)
        return try await CLI.guarded {
            try await engine.start(workflow: workflow, in: catalog, input: input, id: id, traceparent: traceparent)
        }
    }
}

/// `--traceparent`: the W3C trace context a new saga joins.
struct TraceOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A W3C traceparent (00-TRACEID-SPANID-FLAGS) whose trace the saga's spans join; journaled with the saga.",
            discussion: "Default: $TRACEPARENT (what a traced command step passes on), else a trace derived from the saga id.",
            valueName: "traceparent"
        )
    )
    var traceparent: String?

    var value: String? {
        if let traceparent { return traceparent }
        let inherited = ProcessInfo.processInfo.environment["TRACEPARENT"] ?? ""
        return SagaTraceContext(traceparent: inherited) == nil ? nil : inherited
    }
}

/// Reads `--input`: JSON text, `@file.json`, or `-` for standard input.
struct InputOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The saga's input: JSON text, @FILE to read a file, or - to read standard input.",
            discussion: "Default: {}.",
            valueName: "json"
        )
    )
    var input: String?

    func value() throws -> JSONValue {
        guard let input else { return .object([:]) }
        let text: String
        let source: String
        if input == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            source = "standard input"
        } else if input.hasPrefix("@") {
            let path = String(input.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("cannot read input file \(path)", exitCode: CLI.ExitCodes.invalidInput)
            }
            text = String(decoding: data, as: UTF8.self)
            source = path
        } else {
            text = input
            source = "--input"
        }
        do {
            return try JSONValue(parsing: text)
        } catch {
            throw CLIError("\(source): \(error.message)", exitCode: CLI.ExitCodes.invalidInput)
        }
    }
}
