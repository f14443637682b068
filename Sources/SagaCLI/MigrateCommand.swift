import ArgumentParser
import Foundation
import Sagas
import SagasPostgres
import SagasSQLite

/// `saga migrate`: brings a database written by an older Sagas to the current schema.
struct MigrateCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Upgrade the database to this version's schema.",
        discussion: """
            Commands that start or run sagas (run, submit, worker) migrate the database when they open it; the \
            commands that only look (list, show, interventions) open it read-only and refuse an older schema. \
            Run this once after upgrading Sagas to let them read it again. The migration runs in one \
            transaction: it completes or changes nothing. A database already at this schema is left unchanged.

            With --to URL, copies every saga of the SQLite database (--db) with its journal and its exclusive-key \
            queues into an empty PostgreSQL database, then reads every saga back and compares it with the original \
            (a pending saga still waits for the saga that holds its key). Stop the workers first: leases are not \
            copied (nor the named-limit slots, which live with them), so the PostgreSQL nodes may claim the \
            unfinished sagas at once.

            Exits 0 when the database is at this version's schema (or the copy is complete and checked), 4 when \
            the target of --to already holds sagas, 5 when a database does not exist or cannot be migrated.

            Examples:
              $ saga migrate --db saga.db
              database saga.db: schema version 5
              $ saga migrate --db saga.db --to postgres://sagas@db.internal/orders
              copied 1200 sagas (9600 events) from saga.db to postgres://sagas@db.internal:5432/orders; checked
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Copy the SQLite journal into this empty PostgreSQL database.", valueName: "url"))
    var to: String?
    @Flag(help: "Print one JSON object: {\"database\", \"schemaVersion\"} (with --to: {\"from\", \"to\", \"sagas\", \"events\"}).")
    var json = false

    func execute() async throws {
        if let to {
            try await copy(to: to)
            return
        }
        if PostgresStoreConfiguration.isURL(global.databasePath) {
            let store = try await global.openPostgresStore(.write)
            let applied = try await CLI.guarded { try await store.appliedMigrations() }
            let name = store.configuration.redactedURL
            if json {
                CLI.printJSON(["database": .string(name), "schemaVersion": .integer(applied.count)])
            } else {
                print("database \(name): schema version \(applied.count) (\(applied.joined(separator: ", ")))")
            }
            return
        }
        let store = try global.openSQLiteStore(.write)
        let version = try await CLI.guarded { try await store.connectionSettings().schemaVersion }
        if json {
            CLI.printJSON(["database": .string(store.path), "schemaVersion": .integer(version)])
        } else {
            print("database \(store.path): schema version \(version)")
        }
    }

    /// `--to`: copies the SQLite journal into an empty PostgreSQL database and checks the copy.
    private func copy(to url: String) async throws {
        guard PostgresStoreConfiguration.isURL(url) else {
            throw CLIError("--to must be a postgres:// or postgresql:// URL", exitCode: CLI.ExitCodes.invalidInput)
        }
        guard !PostgresStoreConfiguration.isURL(global.databasePath) else {
            throw CLIError("--db must name the SQLite database to copy", exitCode: CLI.ExitCodes.invalidInput)
        }
        let source = try global.openSQLiteStore(.read)
        var target = global
        target.db = url
        let destination = try await target.openPostgresStore(.create)
        let name = destination.configuration.redactedURL
        let existing = try await CLI.guarded { try await destination.countByStatus() }
        guard existing.values.reduce(0, +) == 0 else {
            throw CLIError(
                "database \(name) already holds sagas: --to copies into an empty database only",
                exitCode: CLI.ExitCodes.conflict
            )
        }
        // Every id, newest first (keyset pages), then copied oldest first so that creation order is kept.
        var ids: [String] = []
        var after: String?
        while true {
            let page = try await CLI.guarded { try await source.list(SagaQuery(after: after, limit: 1000)) }
            ids += page.map(\.id)
            guard let last = page.last, page.count == 1000 else { break }
            after = last.id
        }
        var events = 0
        for id in ids.reversed() {
            try await CLI.guarded {
                guard var record = try await source.saga(id: id) else { return }
                let journal = try await source.events(sagaID: id)
                // Its exclusive keys: queued again on PostgreSQL, in creation order (an unfinished saga only).
                record.exclusiveKeys = try await Self.queuedKeys(of: id, in: source)
                _ = try await destination.importSaga(record, events: journal)
                events += journal.count
            }
        }
        // The check: every saga and its journal read back equal to the original (but the lease, not copied).
        for id in ids {
            try await CLI.guarded {
                guard var original = try await source.saga(id: id) else { return }
                original.owner = nil
                original.leaseExpiresAt = nil
                let copied = try await destination.saga(id: id)
                let sameJournal = try await source.events(sagaID: id) == destination.events(sagaID: id)
                let sameKeys = try await Set(source.keys(of: id)) == Set(destination.keys(of: id))
                guard copied == original, sameJournal, sameKeys else {
                    throw SagaError(.storageFailure, "saga \(id) differs in the copy at \(name)", sagaID: id)
                }
            }
        }
        if json {
            CLI.printJSON([
                "from": .string(source.path), "to": .string(name), "sagas": .integer(ids.count), "events": .integer(events),
            ])
        } else {
            print("copied \(ids.count) saga\(ids.count == 1 ? "" : "s") (\(events) events) from \(source.path) to \(name); checked")
        }
    }
}
