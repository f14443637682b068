import ArgumentParser
import Foundation
import Sagas
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

            Exits 0 when the database is at this version's schema, 5 when it does not exist or cannot be migrated.

            Example:
              $ saga migrate --db saga.db
              database saga.db: schema version 5
            """
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON object: {\"database\", \"schemaVersion\"}.")
    var json = false

    func execute() async throws {
        let store = try global.openStore(.write)
        let version = try await CLI.guarded { try await store.connectionSettings().schemaVersion }
        if json {
            CLI.printJSON(["database": .string(store.path), "schemaVersion": .integer(version)])
        } else {
            print("database \(store.path): schema version \(version)")
        }
    }
}
