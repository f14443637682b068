import ArgumentParser
import Foundation
import Sagas

/// `--all` with the list filters in place of an id, and `--yes`: the batch form of `cancel`, `terminate` and
/// `resolve`. Without `--yes` it only says how many sagas the filters select; with it, it acts on each saga as if
/// alone (each action journaled on its own), goes on past failures, and reports which failed.
struct BatchOptions: ParsableArguments {
    @Flag(help: "Act on every saga the filters select (in place of an id); needs --yes to act.")
    var all = false
    @Flag(help: "With --all: act (without it, only count what the filters select).")
    var yes = false
    @OptionGroup(title: "Filters (with --all)") var filters: FilterOptions

    /// The most sagas one batch acts on.
    static let maxSagas = 100_000

    /// Checks that exactly one of an id and `--all` was given, and that filters come only with `--all`.
    func validate(id: String?, command: String) throws {
        if all && id != nil {
            throw CLIError("give a saga id or --all with filters, not both", exitCode: CLI.ExitCodes.invalidInput)
        }
        if !all && id == nil {
            throw CLIError("give a saga id, or --all with filters (see `saga \(command) --help`)", exitCode: CLI.ExitCodes.invalidInput)
        }
        if !all && (!filters.isEmpty || yes) {
            throw CLIError("filters and --yes go with --all", exitCode: CLI.ExitCodes.invalidInput)
        }
    }

    /// Runs `action` on each selected saga (or only counts them without `--yes`), prints the outcome, and exits
    /// non-zero (1) when any action failed.
    func run(
        verb: String,
        json: Bool,
        engine: SagaEngine,
        defaultStatuses: [SagaStatus],
        action: @escaping @Sendable (String) async throws -> Void
    ) async throws {
        let now = Date()
        var query = try filters.query(limit: 1000, after: nil, now: now)
        if filters.status.isEmpty && !filters.hasIntervention { query.statuses = defaultStatuses }
        var ids: [String] = []
        while ids.count < Self.maxSagas {
            let page = try await CLI.guarded { try await engine.client.list(query) }
            ids += page.map(\.id)
            guard page.count == query.limit, let last = page.last else { break }
            query.after = last.id
        }
        if !yes {
            if json {
                let listed: [JSONValue] = ids.prefix(1000).map { JSONValue.string($0) }
                CLI.printJSON(.object(["selected": .integer(ids.count), "acted": .bool(false), "ids": .array(listed)]))
            } else {
                print("\(ids.count) saga\(ids.count == 1 ? "" : "s") selected; nothing was changed. Run again with --yes to \(verb) them.")
                for id in ids.prefix(20) { print("  \(id)") }
                if ids.count > 20 { print("  … and \(ids.count - 20) more") }
            }
            return
        }
        var succeeded: [String] = []
        var failed: [(String, SagaError)] = []
        for (n, id) in ids.enumerated() {
            do {
                try await action(id)
                succeeded.append(id)
            } catch let error as SagaError {
                failed.append((id, error))
            } catch {
                failed.append((id, SagaError(.storageFailure, "\(error)", sagaID: id)))
            }
            if !json && (n + 1) % 1000 == 0 {
                FileHandle.standardError.write(Data("\(n + 1) of \(ids.count)…\n".utf8))
            }
        }
        if json {
            let ok: [JSONValue] = succeeded.map { JSONValue.string($0) }
            var bad: [JSONValue] = []
            for (id, error) in failed {
                bad.append(.object(["id": .string(id), "code": .string(error.code.description), "message": .string(error.message)]))
            }
            CLI.printJSON(.object(["selected": .integer(ids.count), "acted": .bool(true), "succeeded": .array(ok), "failed": .array(bad)]))
        } else {
            print("\(verb): \(succeeded.count) of \(ids.count) saga\(ids.count == 1 ? "" : "s") done, \(failed.count) failed")
            for (id, error) in failed { print("  \(id): \(error.message)") }
        }
        if !failed.isEmpty { throw ExitCode(CLI.ExitCodes.notCompleted) }
    }
}
