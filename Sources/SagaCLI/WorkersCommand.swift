import ArgumentParser
import Foundation
import Sagas
import SagasSQLite

struct WorkersCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract: "List the workers that hold sagas or were seen in the last hour: host, process, sagas held, state.",
        discussion: """
            Read-only. Workers are known by their leases and by their sightings: a worker records itself when it \
            starts and about every third of its lease while it runs (not per saga), and when it stops. So a \
            worker that holds no saga right now is listed too, for an hour after it was last seen. STATE is live \
            (a lease that has not expired, or seen within its lease), expired (it stopped renewing and being \
            seen: its sagas pass to the next worker that claims them), gone (it ran on this machine and its \
            process no longer exists: its sagas are taken over at once), or stopped (it stopped gracefully; \
            listed for an hour after).

            Examples:
              saga workers
              saga workers --json | jq '.[] | select(.state != "live")'
            """
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print a JSON array, one object per worker.")
    var json = false

    func execute() async throws {
        let store = try await global.openStore(.read)
        let now = Date()
        let workers = try await CLI.guarded { try await store.workers(now: now) }
        if json {
            CLI.printJSON(.array(workers.map { $0.json(now: now) }))
            return
        }
        if workers.isEmpty {
            print("no worker holds a saga or was seen in the last hour")
            return
        }
        let rows: [[String]] = workers.map { (w: SagaWorkerSummary) -> [String] in
            let pid: String = w.pid.map { String($0) } ?? ""
            let lease: String = w.leaseExpiresAt.map { Output.relative($0, now: now) } ?? ""
            let progress: String = w.lastProgressAt.map { Output.age($0, now: now) + " ago" } ?? ""
            let held: String = String(w.sagas.count)
            let since: String = w.since.map { Output.age($0, now: now) } ?? ""
            let seen: String = w.lastSeenAt.map { Output.age($0, now: now) + " ago" } ?? ""
            return [Output.truncate(w.id, 48), w.host ?? "", pid, held, lease, progress, since, seen, w.state.rawValue]
        }
        print(Output.table(
            ["WORKER", "HOST", "PID", "SAGAS", "LEASE", "LAST PROGRESS", "UP", "LAST SEEN", "STATE"], rows, colorColumn: 8
        ))
    }
}
