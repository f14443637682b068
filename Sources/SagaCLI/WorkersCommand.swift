import ArgumentParser
import Foundation
import Sagas
import SagasSQLite

struct WorkersCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract: "List the workers that hold sagas: id, host, process, sagas held, lease, state.",
        discussion: """
            Read-only. Workers are known by their leases, so a worker that holds no saga right now is not \\
            listed. STATE is live (a lease that has not expired), expired (it stopped renewing: its sagas pass \\
            to the next worker that claims them), or gone (it ran on this machine and its process no longer \\
            exists: its sagas are taken over at once).

            Examples:
              saga workers
              saga workers --json | jq '.[] | select(.state != "live")'
            """
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print a JSON array, one object per worker.")
    var json = false

    func execute() async throws {
        let store = try global.openStore(.read)
        let now = Date()
        let workers = try await CLI.guarded { try await store.workers(now: now) }
        if json {
            CLI.printJSON(.array(workers.map { $0.json(now: now) }))
            return
        }
        if workers.isEmpty {
            print("no worker holds a saga")
            return
        }
        let rows: [[String]] = workers.map { (w: SagaWorkerSummary) -> [String] in
            let pid: String = w.pid.map { String($0) } ?? ""
            let lease: String = w.leaseExpiresAt.map { Output.relative($0, now: now) } ?? ""
            let progress: String = w.lastProgressAt.map { Output.age($0, now: now) + " ago" } ?? ""
            let held: String = String(w.sagas.count)
            return [Output.truncate(w.id, 48), w.host ?? "", pid, held, lease, progress, w.state.rawValue]
        }
        print(Output.table(["WORKER", "HOST", "PID", "SAGAS", "LEASE", "LAST PROGRESS", "STATE"], rows, colorColumn: 6))
    }
}
