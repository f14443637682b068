import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasPostgres
import SagasSQLite

struct PlanCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what undo would do: for a saga, what would run if it were cancelled or failed now.",
        discussion: """
            For a saga (ID): the compensations in the order they would run, each with its templates resolved \\
            (values from ${env.…} shown as ***) and its idempotency key; the steps that would not be compensated and \\
            why (never started, failed, read-only, no compensation, after the pivot); the steps whose outcome is \\
            unknown, whose probe would run first; and what would stop in needs_intervention.

            For a workflow (NAME, NAME@VERSION or a file, with --input): the forward order, steps that run in \\
            parallel together, and for each step the compensations its failure would start: a what-if table.

            Nothing runs and nothing is written.

            Examples:
              saga plan s-123
              saga plan order --input '{"orderId": "o-1"}'
              saga plan s-123 --json | jq '.compensations[].step'
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A saga id, or a workflow (with --input).")
    var target: String
    @OptionGroup var input: InputOption
    @Flag(help: "Print one JSON object.")
    var json = false

    func execute() async throws {
        let logger = global.makeLogger(defaultLevel: .warning)
        if input.input == nil,
            PostgresStoreConfiguration.isURL(global.databasePath)
                || FileManager.default.fileExists(atPath: global.databasePath)
        {
            let store = try await global.openStore(.read)
            let engine = EngineFactory.makeEngine(store: store, logger: logger)
            let found: SagaRecord? = try await CLI.guarded { try await store.saga(id: target) }
            if found != nil {
                let plan: SagaPlan = try await CLI.guarded { try await engine.client.plan(sagaID: target) }
                show(plan)
                return
            }
        }
        let definition = try resolveWorkflow()
        let engine = SagaEngine(store: MemorySagaStore(), logger: logger)
        let value: JSONValue = try input.value()
        let plan: SagaPlan = try await CLI.guarded { try engine.client.plan(definition, input: value) }
        show(plan)
    }

    /// The workflow TARGET names, or an error saying that it is neither a saga nor a workflow.
    private func resolveWorkflow() throws -> SagaDefinition {
        let catalog = WorkflowCatalog(directory: global.workflowsDirectory, kinds: EngineFactory.kinds)
        let result: Result<SagaDefinition, SagaError>
        do {
            result = .success(try catalog.resolve(target).definition)
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let definition):
            return definition
        case .failure(let error):
            if error.code == .workflowNotFound {
                throw CLIError(
                    "no saga \(Output.truncate(target, 100)) in \(databaseName), and \(error.message)",
                    exitCode: CLI.ExitCodes.notFound
                )
            }
            return try CLI.guarded { () throws -> SagaDefinition in throw error }
        }
    }

    /// The database as messages name it: a PostgreSQL URL without its password.
    private var databaseName: String {
        (try? PostgresStoreConfiguration(url: global.databasePath).redactedURL) ?? global.databasePath
    }

    private func show(_ plan: SagaPlan) {
        if json {
            CLI.printJSON(plan.json)
            return
        }
        var lines: [String] = []
        if let sagaID = plan.sagaID {
            lines.append("saga \(sagaID) (\(plan.workflow), \(plan.status.rawValue))")
        } else {
            lines.append("workflow \(plan.workflow)")
        }
        lines.append(plan.summary)
        for wait in plan.waits {
            lines.append("  \(wait.step) waits for a \(wait.waitsFor) (attempt \(wait.attempt)) until \(SagaTime.format(wait.until)); "
                + "a cancel ends the wait at once")
        }
        if !plan.forward.isEmpty {
            lines.append("")
            lines.append("forward order:")
            for (i, group) in plan.forward.enumerated() {
                let names: String = group.joined(separator: " + ")
                let parallel: String = group.count > 1 ? "   (in parallel)" : ""
                lines.append("  \(i + 1). \(names)\(parallel)")
            }
        }
        if !plan.compensations.isEmpty {
            lines.append("")
            var rows: [[String]] = []
            for (i, c) in plan.compensations.enumerated() {
                var note = c.ifProbeFindsEffect ? "if its probe finds the effect" : ""
                if let problem = c.problem { note = "PROBLEM: \(Output.truncate(problem, 60))" }
                rows.append(["\(i + 1)", c.step, c.kind, Output.truncate(c.spec.jsonString, 70), note])
            }
            lines.append(Output.table(["#", "COMPENSATE", "KIND", "WITH", "NOTE"], rows))
        }
        if !plan.ifStepFails.isEmpty {
            lines.append("")
            var rows: [[String]] = []
            for f in plan.ifStepFails {
                var then = "stop in needs_intervention (after the pivot)"
                if f.outcome == "compensate" {
                    then = f.compensations.isEmpty ? "compensate nothing" : "compensate \(f.compensations.joined(separator: ", "))"
                }
                let also = f.alsoIfFinished.isEmpty ? "" : "and \(f.alsoIfFinished.joined(separator: ", ")) if finished first"
                rows.append([f.step, then, also])
            }
            lines.append(Output.table(["IF THIS FAILS", "THEN", "ALSO"], rows))
        }
        if !plan.notCompensated.isEmpty {
            lines.append("")
            lines.append(Output.table(["NOT COMPENSATED", "WHY"], plan.notCompensated.map { [$0.step, $0.reason] }))
        }
        if !plan.wouldNeedIntervention.isEmpty {
            lines.append("")
            lines.append("would stop in needs_intervention:")
            for reason in plan.wouldNeedIntervention { lines.append("  - " + reason) }
        }
        if !plan.needs.lines.isEmpty { lines.append(contentsOf: [""] + plan.needs.lines) }
        print(lines.joined(separator: "\n"))
    }
}
