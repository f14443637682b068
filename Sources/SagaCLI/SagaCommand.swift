import ArgumentParser
import Foundation
import Logging
import Sagas

@main
struct SagaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saga",
        abstract: "Run durable sagas from JSON workflow files, and inspect them.",
        discussion: """
            Sagas journals every step of a saga in SQLite (or PostgreSQL) before it acts, so a saga whose process \
            dies resumes where it stopped and always ends completed, compensated, or waiting for a person.

            Examples:
              saga validate Workflows
              saga run order --input '{"orderId": "o-1"}'
              saga submit order --input @order.json
              saga worker --until-idle
              saga list --status needs_intervention
              saga show s-123 --json
              saga interventions
              saga resolve s-123 --skip --note "refunded by hand"
              saga serve --port 7070
              saga worker --metrics 127.0.0.1:9464 --db postgres://sagas@db.internal/sagas

            Options common to most commands: --db PATH or postgres:// URL (default $SAGA_DB, else ./saga.db) and \
            --workflows DIR (default $SAGA_WORKFLOWS, else ./Workflows).
            """,
        version: "0.1.0",
        subcommands: [
            RunCommand.self,
            SubmitCommand.self,
            WorkerCommand.self,
            ListCommand.self,
            StatsCommand.self,
            WorkersCommand.self,
            ShowCommand.self,
            CancelCommand.self,
            SignalCommand.self,
            TerminateCommand.self,
            InterventionsCommand.self,
            ResolveCommand.self,
            PlanCommand.self,
            RerunCommand.self,
            ReconcileCommand.self,
            ValidateCommand.self,
            BenchCommand.self,
            MigrateCommand.self,
            PurgeCommand.self,
            ServeCommand.self,
            WebhooksCommand.self,
        ]
    )
}
