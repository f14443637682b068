import ArgumentParser
import Foundation
import Sagas
import SagasSQLite

struct PurgeCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete the journals of sagas that finished before a time.",
        discussion: """
            Deletes completed, compensated and failed sagas (with every event of their journals) that finished \\
            before --finished-before: a duration ago (30d) or an ISO 8601 time. Sagas waiting for a person \\
            (needs_intervention) and sagas still running are never deleted. Deletion runs in transactions of \\
            --batch sagas, so a running worker is held up for a moment at most; SQLite reuses the freed pages for \\
            new sagas, so the file stops growing (it does not shrink: `VACUUM` does that, offline).

            `saga worker --retention 30d` does the same on a schedule.

            Examples:
              saga purge --finished-before 30d --dry-run
              saga purge --finished-before 2026-11-01T00:00:00Z
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Delete sagas that finished before then (a duration ago or an ISO 8601 time).", valueName: "time"))
    var finishedBefore: String
    @Flag(help: "Only count what would be deleted.")
    var dryRun = false
    @Option(help: "Sagas deleted per transaction (1 to 100000).")
    var batch: Int = 1000
    @Flag(help: "Print one JSON object: {\"deleted\": N, \"dryRun\": BOOL, \"finishedBefore\": TIME}.")
    var json = false

    func execute() async throws {
        guard (1...100_000).contains(batch) else {
            throw CLIError("--batch must be 1 to 100000", exitCode: CLI.ExitCodes.invalidInput)
        }
        let cutoff = try FilterOptions.time(finishedBefore, option: "--finished-before", now: Date())
        let store = try await global.openStore(dryRun ? .read : .write)
        var total = 0
        if dryRun {
            total = try await CLI.guarded { try await store.purge(finishedBefore: cutoff, limit: Int.max, dryRun: true) }
        } else {
            while true {
                let deleted = try await CLI.guarded {
                    try await store.purge(finishedBefore: cutoff, limit: batch, dryRun: false)
                }
                total += deleted
                if deleted < batch { break }
                if !json { FileHandle.standardError.write(Data("deleted \(total) so far…\n".utf8)) }
            }
        }
        if json {
            CLI.printJSON(.object([
                "deleted": .integer(total), "dryRun": .bool(dryRun), "finishedBefore": .string(SagaTime.format(cutoff)),
            ]))
        } else if dryRun {
            print("would delete \(total) saga\(total == 1 ? "" : "s") that finished before \(SagaTime.format(cutoff))")
        } else {
            print("deleted \(total) saga\(total == 1 ? "" : "s") that finished before \(SagaTime.format(cutoff))")
        }
    }
}
