import Foundation
import Logging
import Sagas
import SagasPostgres
import SagasTesting
import Testing

/// The PostgreSQL binaries `scripts/pg-local.sh` would use, if installed.
private let postgresInstalled: Bool = {
    let candidates = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
    return candidates.contains { FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/pg_ctl") }
}()

/// Self-fencing (issue 16): a worker whose database goes away stops working on its sagas before their leases can
/// pass to another node, and resumes when the database is back. A real `saga worker` on a PostgreSQL server of the
/// test's own (`scripts/pg-local.sh` in a temporary folder), stopped while a saga's slow step runs.
@Suite(
    .enabled(if: postgresInstalled, "PostgreSQL is not installed (apt-get install postgresql)"),
    .serialized,
    .timeLimit(.minutes(4))
)
struct PostgresSelfFencingTests {
    @Test func aWorkerThatLosesTheDatabaseStopsItsAttemptsBeforeTheLeaseLapsesAndResumesAfter() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("saga-pg-fence-\(UUID().uuidString)").path
        let started = try PostgresRestartTests.pgLocal("start", folder: folder)
        defer { _ = try? PostgresRestartTests.pgLocal("destroy", folder: folder) }
        let url = try #require(
            started.split(separator: "\n").first { $0.hasPrefix("export SAGA_POSTGRES_URL=") }
                .map { String($0.dropFirst("export SAGA_POSTGRES_URL=".count)) },
            "\(started)"
        )
        let box = try CLISandbox()
        box.databaseURL = url + "?schema=fence"
        // Each attempt writes a line when it starts and one when it ends: `start|end SAGA STEP ATTEMPT WORKER TIME`.
        try box.writeScript("slow.sh", #"""
            echo "start $SAGA_ID $SAGA_STEP $SAGA_ATTEMPT $PPID $(date +%s.%N)" >> "$SAGA_SCRATCH/spans.log"
            sleep "$1"
            echo "end $SAGA_ID $SAGA_STEP $SAGA_ATTEMPT $PPID $(date +%s.%N)" >> "$SAGA_SCRATCH/spans.log"
            echo '{}'
            """#)
        try box.writeWorkflow(
            "slow",
            commandWorkflow(
                "slow",
                defaults: #"{"retry": {"maxAttempts": 10, "initialInterval": "10ms", "maxInterval": "50ms"}, "timeout": "60s"}"#,
                steps: [
                    (name: "slow", argv: ["./scripts/slow.sh", "8"], extra: ""),
                    (name: "quick", argv: ["./scripts/slow.sh", "0"], extra: ""),
                ]
            )
        )
        let id = try box.submit(["slow", "--id", "fenced-1"])
        // A lease of 3 s, renewed every second: the worker must give its sagas up within 2 s of its last renewal.
        let worker = try box.start(["worker", "--lease", "3s", "--concurrency", "2"])
        defer { if worker.isRunning { worker.signal(SIGKILL) } }
        let running = eventually(timeout: 60) { (box.readScratch("spans.log") ?? "").contains("start \(id) slow") }
        try #require(running, "the slow step never started: \(worker.stderr)")
        usleep(300_000)
        let stopped = Date()
        try PostgresRestartTests.pgLocal("crash", folder: folder)
        // The lease would lapse 3 s after the last renewal (at most 3 s before the stop). Wait past it, and past
        // the end of the 8 s attempt had it been left running (a worker without self-fencing lets it finish).
        usleep(9_000_000)
        let fenced = worker.stderr.contains("stops working on its sagas")
        #expect(fenced, "the worker did not fence itself: \(worker.stderr)")
        let whileDown = Self.spans(box)
        // The first attempt (8 s) was stopped, not left to run past the lease; no attempt started while down.
        #expect(whileDown.filter { $0.kind == "end" }.isEmpty, "\(whileDown)")
        #expect(whileDown.filter { $0.kind == "start" && $0.time > stopped }.isEmpty, "\(whileDown)")
        try PostgresRestartTests.pgLocal("start", folder: folder)
        let finished = try eventually(timeout: 90) {
            let shown = try box.run(["show", id, "--json"])
            guard shown.status == 0 else { return false }
            return try shown.json()["status"]?.stringValue == "completed"
        }
        #expect(finished, "the saga did not finish after the database came back: \(worker.stderr)")
        #expect(worker.isRunning, "the worker exited instead of waiting for the database: \(worker.stderr)")
        worker.signal(SIGTERM)
        #expect(worker.wait(timeout: 30) != nil, "the worker did not stop: \(worker.stderr)")
        // The journal and the attempts as they ran: no two overlapping attempts of the saga.
        var spans: [JournalChecker.AttemptSpan] = []
        var open: [String: Date] = [:]
        for line in Self.spans(box) {
            let key = "\(line.step) \(line.attempt)"
            if line.kind == "start" {
                open[key] = line.time
            } else if let begun = open.removeValue(forKey: key) {
                spans.append(.init(sagaID: id, step: key, worker: line.worker, start: begun, end: line.time))
            }
        }
        // The fenced attempt never ended: it is an attempt span from its start until the fence (the stop + 3 s at
        // the latest); the next attempt of the step must start after it.
        for (key, begun) in open {
            spans.append(.init(sagaID: id, step: key, worker: "fenced", start: begun, end: stopped.addingTimeInterval(3)))
        }
        var configuration = try PostgresStoreConfiguration(url: url)
        configuration.schema = "fence"
        var logger = Logger(label: "sagas.tests.fence")
        logger.logLevel = .critical
        let attemptSpans = spans
        let report = try await PostgresSagaStore.withStore(configuration: configuration, logger: logger, migrate: false) {
            store in try await JournalChecker().check(store: store, spans: attemptSpans)
        }
        #expect(report.violations.isEmpty, "\(report)")
        let attempts = Self.spans(box).filter { $0.kind == "start" && $0.step == "slow" }
        #expect(attempts.count >= 2, "the slow step ran again after the database came back: \(attempts)")
    }

    struct SpanLine: CustomStringConvertible {
        var kind: String
        var step: String
        var attempt: String
        var worker: String
        var time: Date
        var description: String { "\(kind) \(step) \(attempt) \(worker) \(time.timeIntervalSince1970)" }
    }

    static func spans(_ box: CLISandbox) -> [SpanLine] {
        (box.readScratch("spans.log") ?? "").split(separator: "\n").compactMap { line in
            let p = line.split(separator: " ").map(String.init)
            guard p.count == 6, let t = Double(p[5]) else { return nil }
            return SpanLine(kind: p[0], step: p[2], attempt: p[3], worker: p[4], time: Date(timeIntervalSince1970: t))
        }
    }
}
