import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasBenchmark
import SagasPostgres
import SagasSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct BenchCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure how fast sagas run on this disk: sagas/s, steps/s, latency, commits, recovery.",
        discussion: """
            Runs synthetic sagas of no-op handler steps against a fresh SQLite database (by default a temporary \
            file, deleted afterwards) with the production settings (WAL, synchronous=FULL). A fraction --fail-rate \
            of the sagas fails at a step and compensates the steps before it.

            Modes:
              throughput  --concurrency sagas at once (default)
              latency     one saga at a time; also reports the latency per step
              recovery    a child process journals --sagas sagas in flight and is killed with SIGKILL; a new \
            worker resumes them, and the time until all are finished is reported

            The disk's flush time (write + fdatasync of 4 KiB, median) is measured before and after the run and \
            reported with the figures: it often explains them.

            Examples:
              saga bench
              saga bench --sagas 10000 --concurrency 64 --json
              saga bench --mode latency --sagas 200
              saga bench --fail-rate 1 --fail-step 3 --mode latency --sagas 200
              saga bench --mode recovery --sagas 10000 --concurrency 256
              saga bench --db /mnt/ssd/bench.db --sync normal
            """
    )

    @Option(help: "Sagas to run (recovery: sagas left in flight).")
    var sagas: Int = 1000
    @Option(help: "Steps per saga.")
    var steps: Int = 4
    @Option(help: "Sagas in flight at once (recovery: the new worker's concurrency).")
    var concurrency: Int = 64
    @Option(help: "The fraction of sagas that fail at a step and compensate (0 to 1).")
    var failRate: Double = 0
    @Option(help: "The step failing sagas fail at (1-based; default: a random step for each).")
    var failStep: Int?
    @Option(help: "throughput, latency or recovery.")
    var mode: String = "throughput"
    @Option(help: ArgumentHelp("The database file to create.", discussion: "Default: a temporary file, deleted afterwards.", valueName: "path"))
    var db: String?
    @Flag(help: "Replace --db if it exists and is not empty.")
    var force = false
    @Option(help: "full or normal (PRAGMA synchronous).")
    var sync: String = "full"
    @Option(
        help: ArgumentHelp(
            "sqlite, memory or postgres.",
            discussion: "memory runs the engine on MemorySagaStore, which journals nothing to disk: what is left is the engine's own cost (throughput and latency modes only)."
        )
    )
    var store: String = "sqlite"
    @Option(help: "Seeds the choice of failing sagas.")
    var seed: UInt64 = 1
    @Option(help: ArgumentHelp(
        "none, metrics, tracing, all or webhooks: run with the observability a production worker has.",
        discussion: "metrics: the Prometheus observer, gauges sampled every second; tracing: spans exported over OTLP/HTTP to a loopback sink in this process; webhooks: one subscription delivered to a loopback receiver in this process, the delivery lag reported (webhookLagMs).",
        valueName: "list"
    ))
    var observe = "none"

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false
    @Flag(help: "Show a progress line on standard error even when it is not a terminal.")
    var progress = false
    @Flag(help: .hidden)
    var recoveryChild = false
    @Option(help: "Every step uses one named limit of this concurrency (issue 21).")
    var limit: Int?
    @Flag(help: "Every saga takes an exclusive key of its own (issue 21).")
    var exclusive = false
    @Option(help: ArgumentHelp(
        "Start this many sagas per second instead of flat out (throughput mode).",
        discussion: "A steady load, e.g. to measure webhook delivery lag at a given rate (--observe webhooks): saga number i starts no earlier than i/N seconds after the run began, at most --concurrency in flight.",
        valueName: "N"
    ))
    var rate: Double?
    @Option(help: "Run the workload without limits and keys (A) and with --limit/--exclusive (B), alternating, this many rounds each, on SQLite (or, with --store postgres, on schemas of their own).")
    var ab: Int?

    func execute() async throws {
        guard let mode = SagaBenchmark.Mode(rawValue: mode) else {
            throw CLIError("--mode must be throughput, latency or recovery", exitCode: CLI.ExitCodes.invalidInput)
        }
        let synchronous: SQLiteSagaStore.Configuration.Synchronous
        switch sync.lowercased() {
        case "full": synchronous = .full
        case "normal": synchronous = .normal
        default: throw CLIError("--sync must be full or normal", exitCode: CLI.ExitCodes.invalidInput)
        }
        let observability = try BenchObservability(parsing: observe)
        var workload = SagaBenchmark.Workload(
            sagas: sagas, steps: steps, concurrency: concurrency, failRate: failRate, failStep: failStep, seed: seed
        )
        workload.limitConcurrency = limit
        workload.exclusiveKeys = exclusive
        workload.startsPerSecond = rate
        if let limit, !(1...SagaLimit.maxConcurrency).contains(limit) {
            throw CLIError("--limit must be 1 to \(SagaLimit.maxConcurrency)", exitCode: CLI.ExitCodes.invalidInput)
        }
        if let problem = workload.problem() {
            throw CLIError(problem, exitCode: CLI.ExitCodes.invalidInput)
        }
        guard ["sqlite", "memory", "postgres"].contains(store) else {
            throw CLIError("--store must be sqlite, memory or postgres", exitCode: CLI.ExitCodes.invalidInput)
        }
        if mode == .recovery && !observability.isEmpty {
            throw CLIError("--observe measures throughput or latency, not --mode recovery", exitCode: CLI.ExitCodes.invalidInput)
        }
        if store == "postgres" {
            try await runOnPostgres(mode: mode, workload: workload)
            return
        }
        if store == "memory" && mode == .recovery {
            throw CLIError("--mode recovery needs --store sqlite: a killed process keeps nothing in memory", exitCode: CLI.ExitCodes.invalidInput)
        }
        CLI.bootstrapLogging(level: .error)
        var logger = Logger(label: "saga.bench")
        logger.logLevel = .error

        if let ab {
            guard mode != .recovery, store == "sqlite", limit != nil || exclusive, (1...20).contains(ab) else {
                throw CLIError(
                    "--ab takes 1 to 20 rounds and needs --limit or --exclusive, throughput or latency mode, and SQLite",
                    exitCode: CLI.ExitCodes.invalidInput)
            }
            try await runAB(mode: mode, workload: workload, synchronous: synchronous, rounds: ab, logger: logger)
            return
        }
        if recoveryChild {
            guard let db else { throw CLIError("--recovery-child needs --db", exitCode: CLI.ExitCodes.invalidInput) }
            try await runRecoveryChild(workload: workload, path: db, synchronous: synchronous, logger: logger)
            return
        }

        let database = try BenchDatabase(path: db, force: force)
        defer { database.removeIfTemporary() }
        let probeBefore = FlushProbe.measure(folder: database.folder)
        let counters = SagaBenchmark.Counters()
        let reporter = ProgressLine(
            enabled: progress || isatty(STDERR_FILENO) == 1,
            total: mode == .recovery ? sagas * steps : sagas,
            unit: mode == .recovery ? "steps" : "sagas"
        ) {
            mode == .recovery ? counters.actionsStarted : counters.finishedSagas
        }

        var report: SagaBenchmark.Report
        if mode == .recovery {
            reporter.note("journaling \(sagas) sagas in flight in a child process")
            try journalInFlightInChild(path: database.path)
            let store = try openStore(database.path, synchronous: synchronous)
            var configuration = SagaEngine.Configuration()
            configuration.concurrency = concurrency
            configuration.pollInterval = .milliseconds(20)
            let engine = SagaEngine(store: store, configuration: configuration, logger: logger)
            let task = reporter.start()
            report = try await CLI.guarded {
                try await SagaBenchmark.recover(
                    workload: workload, engine: engine, counters: counters, statistics: Self.statistics(store)
                )
            }
            task.cancel()
        } else if store == "memory" {
            let engine = SagaEngine(store: MemorySagaStore(), logger: logger)
            let task = reporter.start()
            report = try await CLI.guarded {
                try await observability.run(engine, logger: logger) { [workload] in
                    try await SagaBenchmark.run(mode, workload: workload, engine: engine, counters: counters)
                }
            }
            task.cancel()
        } else {
            let store = try openStore(database.path, synchronous: synchronous)
            let engine = SagaEngine(store: store, logger: logger)
            let task = reporter.start()
            report = try await CLI.guarded {
                try await observability.run(engine, logger: logger) { [workload] in
                    try await SagaBenchmark.run(
                        mode, workload: workload, engine: engine, counters: counters, statistics: Self.statistics(store)
                    )
                }
            }
            task.cancel()
        }
        reporter.finish()
        let probeAfter = FlushProbe.measure(folder: database.folder)
        report.databaseBytes = database.size()
        report.extra["store"] = .string(store)
        report.extra["observe"] = .string(observability.label)
        if let lag = observability.webhookLag.summary { report.extra["webhookLagMs"] = lag }
        if store != "memory" { report.extra["synchronous"] = .string(synchronous == .full ? "full" : "normal") }
        report.extra["database"] = .string(database.isTemporary ? "temporary" : database.path)
        report.extra["flushProbeUs"] = ["before": .number(probeBefore), "after": .number(probeAfter)]
        var load = [Double](repeating: 0, count: 3)
        if getloadavg(&load, 3) == 3 { report.extra["loadAverage"] = .number((load[0] * 100).rounded() / 100) }

        if json {
            CLI.printJSON(report.json)
        } else {
            print(Self.table(report, flushBefore: probeBefore, flushAfter: probeAfter))
        }
    }

    /// `--store postgres --db URL`: throughput or latency on a PostgreSQL schema that holds no sagas yet (the
    /// sagas run are left there: use a schema of its own, `?schema=bench`).
    private func runOnPostgres(mode: SagaBenchmark.Mode, workload: SagaBenchmark.Workload) async throws {
        guard let db, PostgresStoreConfiguration.isURL(db) else {
            throw CLIError("--store postgres needs --db postgres://…", exitCode: CLI.ExitCodes.invalidInput)
        }
        CLI.bootstrapLogging(level: .error)
        var benchLogger = Logger(label: "saga.bench")
        benchLogger.logLevel = .error
        let logger = benchLogger
        let configuration = try CLI.guarded { try PostgresStoreConfiguration(url: db) }
        if recoveryChild {
            try await runPostgresRecoveryChild(workload: workload, configuration: configuration, logger: logger)
            return
        }
        if let ab {
            try await runPostgresAB(mode: mode, workload: workload, configuration: configuration, rounds: ab, logger: logger)
            return
        }
        let observability = try BenchObservability(parsing: observe)
        let counters = SagaBenchmark.Counters()
        let reporter = ProgressLine(enabled: progress || isatty(STDERR_FILENO) == 1, total: sagas, unit: "sagas") {
            counters.finishedSagas
        }
        var report: SagaBenchmark.Report
        if mode == .recovery {
            report = try await runPostgresRecovery(workload: workload, url: db, configuration: configuration, logger: logger)
        } else { report = try await CLI.guarded {
            try await PostgresSagaStore.withStore(configuration: configuration, logger: logger) { store in
                let existing = try await store.countByStatus().values.reduce(0, +)
                guard existing == 0 || force else {
                    throw SagaError(
                        .invalidState,
                        "database \(configuration.redactedURL) already holds \(existing) sagas; bench on an empty schema "
                            + "(?schema=bench) or pass --force"
                    )
                }
                let engine = SagaEngine(store: store, logger: logger)
                let task = reporter.start()
                defer { task.cancel() }
                return try await observability.run(engine, logger: logger) {
                    try await SagaBenchmark.run(
                        mode, workload: workload, engine: engine, counters: counters,
                        statistics: Self.appendStatistics(store)
                    )
                }
            }
        } }
        reporter.finish()
        report.extra["store"] = .string("postgres")
        report.extra["observe"] = .string(observability.label)
        if let lag = observability.webhookLag.summary { report.extra["webhookLagMs"] = lag }
        report.extra["database"] = .string(configuration.redactedURL)
        var load = [Double](repeating: 0, count: 3)
        if getloadavg(&load, 3) == 3 { report.extra["loadAverage"] = .number((load[0] * 100).rounded() / 100) }
        if json {
            CLI.printJSON(report.json)
        } else {
            print(Self.table(report, flushBefore: nil, flushAfter: nil))
        }
    }

    private func openStore(_ path: String, synchronous: SQLiteSagaStore.Configuration.Synchronous) throws -> SQLiteSagaStore {
        try CLI.guarded {
            try SQLiteSagaStore(path: path, configuration: .init(synchronous: synchronous))
        }
    }

    private static func statistics(_ store: SQLiteSagaStore) -> @Sendable () async throws -> SagaBenchmark.JournalCounters {
        {
            let s = try await store.journalStatistics()
            return SagaBenchmark.JournalCounters(
                commits: s.commits, writes: s.writes, eventRows: s.eventRows, transactionSeconds: s.transactionSeconds
            )
        }
    }

    // MARK: Recovery

    /// The child: journals the sagas in flight, prints `ready` once all are, and waits to be killed.
    private func runRecoveryChild(
        workload: SagaBenchmark.Workload,
        path: String,
        synchronous: SQLiteSagaStore.Configuration.Synchronous,
        logger: Logger
    ) async throws {
        let store = try openStore(path, synchronous: synchronous)
        let engine = SagaEngine(store: store, logger: logger)
        try await CLI.guarded {
            try await SagaBenchmark.journalInFlight(workload: workload, engine: engine) {
                FileHandle.standardOutput.write(Data("ready\n".utf8))
            }
        }
    }

    /// Runs this binary as the recovery child and kills it with SIGKILL once every saga is in flight.
    func journalInFlightInChild(path: String, extra: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executablePath())
        process.arguments = [
            "bench", "--recovery-child", "--db", path, "--sagas", "\(sagas)", "--steps", "\(steps)",
            "--fail-rate", "\(failRate)", "--seed", "\(seed)", "--sync", sync,
        ] + (failStep.map { ["--fail-step", "\($0)"] } ?? []) + extra
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw CLIError("cannot start the recovery child \(Self.executablePath()): \(error)")
        }
        let data = pipe.fileHandleForReading.readData(ofLength: 6)  // "ready\n", or end of file if it died
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        guard String(decoding: data, as: UTF8.self) == "ready\n" else {
            throw CLIError("the recovery child exited before its sagas were in flight (status \(process.terminationStatus))")
        }
    }

    static func executablePath() -> String {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    // MARK: Output

    static func table(_ r: SagaBenchmark.Report, flushBefore: Double?, flushAfter: Double?) -> String {
        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        let lat = r.latency
        var rows: [[String]] = [
            ["mode", "\(r.mode.rawValue), \(r.workload.sagas) sagas × \(r.workload.steps) steps, "
                + (r.mode == .latency ? "one at a time" : "concurrency \(r.workload.concurrency)")
                + (r.workload.failRate > 0 ? ", fail rate \(r.workload.failRate)" : "")],
            ["sagas", "\(r.completed) completed, \(r.compensated) compensated, \(r.other) other"],
            ["elapsed", f(r.elapsedSeconds, 3) + " s"],
            ["sagas/s", f(r.sagasPerSecond)],
            ["steps/s", f(r.stepsPerSecond) + "  (\(r.actionsRun) actions, \(r.compensationsRun) compensations"
                + (r.probesRun > 0 ? ", \(r.probesRun) probes)" : ")")],
        ]
        if r.mode != .recovery {
            rows.append(["saga latency", "p50 \(f(lat.p50, 2)) ms, p95 \(f(lat.p95, 2)) ms, p99 \(f(lat.p99, 2)) ms, max \(f(lat.max, 2)) ms"])
        }
        if r.mode == .latency {
            let s = r.perStepLatency
            rows.append(["step latency", "p50 \(f(s.p50, 3)) ms, p95 \(f(s.p95, 3)) ms, p99 \(f(s.p99, 3)) ms"])
        }
        if let j = r.journal {
            let stepsRun = max(1, r.actionsRun + r.compensationsRun)
            rows.append(["commits/s", f(Double(j.commits) / max(r.elapsedSeconds, 1e-9))
                + "  (\(j.commits) commits, \(f(Double(j.writes) / Double(max(1, j.commits)), 1)) writes each)"])
            rows.append(["journal rows", "\(j.eventRows), \(f(Double(j.eventRows) / Double(stepsRun), 2)) per step"])
            rows.append(["writer busy", "\(f(100 * j.transactionSeconds / max(r.elapsedSeconds, 1e-9), 0))% of the run in write transactions"])
        }
        if let bytes = r.databaseBytes {
            rows.append(["database", "\(bytes) bytes, \(f(Double(bytes) / Double(max(1, r.workload.sagas)), 0)) per saga"])
        }
        rows.append(["CPU", "\(f(r.cpuSeconds, 2)) s, \(f(r.cpuSeconds * 1000 / Double(max(1, r.workload.sagas)), 3)) ms per saga"])
        rows.append(["peak memory", "\(f(Double(r.peakMemoryBytes) / 1_048_576)) MiB"])
        if case .string(let s)? = r.extra["store"], s == "memory" {
            rows.append(["store", "memory (no journal on disk)"])
        } else if case .string(let s)? = r.extra["store"], s == "postgres" {
            rows.append(["store", "postgres, \(r.extra["database"]?.stringValue ?? "")"])
        } else if let flushBefore, let flushAfter {
            rows.append(["disk flush", "p50 \(f(flushBefore, 0)) µs before, \(f(flushAfter, 0)) µs after (4 KiB write + fdatasync)"])
        }
        if case .string(let s)? = r.extra["synchronous"] { rows.append(["synchronous", s]) }
        if case .number(let load)? = r.extra["loadAverage"] { rows.append(["load average", f(load, 2)]) }
        return Output.table(["", ""], rows).split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
            .joined(separator: "\n")
    }
}

/// The benchmark's database file: a temporary one deleted afterwards, or the user's, which must be new or empty.
private struct BenchDatabase {
    let path: String
    let isTemporary: Bool

    init(path: String?, force: Bool) throws {
        guard let path else {
            self.path = FileManager.default.temporaryDirectory
                .appendingPathComponent("saga-bench-\(UUID().uuidString).db").path
            isTemporary = true
            return
        }
        self.path = path
        isTemporary = false
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if let size, size > 0 {
            guard force else {
                throw CLIError(
                    "database \(path) exists and is not empty: pass --force to replace it",
                    exitCode: CLI.ExitCodes.conflict
                )
            }
        }
        if force || size == 0 { Self.remove(path) }
    }

    var folder: String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    func size() -> Int {
        ["", "-wal"].reduce(0) { total, suffix in
            total + ((try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0)
        }
    }

    func removeIfTemporary() {
        if isTemporary { Self.remove(path) }
    }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}

/// Times a 4 KiB write and fdatasync in a folder: the disk's flush time, which bounds a synchronous commit.
enum FlushProbe {
    /// The median of `count` write+fdatasync pairs, in microseconds; 0 when the folder is not writable.
    static func measure(folder: String, count: Int = 30) -> Double {
        let path = "\(folder)/.saga-bench-probe-\(getpid())"
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        guard fd >= 0 else { return 0 }
        defer {
            close(fd)
            unlink(path)
        }
        let block = [UInt8](repeating: 0x61, count: 4096)
        var samples: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<count {
            let t0 = clock.now
            let written = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 0) }
            #if os(Linux)
            let synced = fdatasync(fd)
            #else
            let synced = fsync(fd)
            #endif
            guard written == 4096, synced == 0 else { return 0 }
            let d = clock.now - t0
            samples.append(SagaDuration.seconds(d) * 1e6)
        }
        samples.sort()
        return samples[samples.count / 2]
    }
}

/// A progress line on standard error, redrawn twice a second.
private final class ProgressLine: Sendable {
    let enabled: Bool
    let total: Int
    let unit: String
    let done: @Sendable () -> Int

    init(enabled: Bool, total: Int, unit: String, done: @escaping @Sendable () -> Int) {
        self.enabled = enabled
        self.total = total
        self.unit = unit
        self.done = done
    }

    func note(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\(text)\n".utf8))
    }

    func start() -> Task<Void, Never> {
        guard enabled else { return Task {} }
        return Task {
            let clock = ContinuousClock()
            let start = clock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                let n = self.done()
                let elapsed = SagaBenchmarkSeconds(clock.now - start)
                let rate = elapsed > 0 ? Double(n) / elapsed : 0
                let line = "\r\(n)/\(self.total) \(self.unit)  \(Int(rate)) \(self.unit)/s  " + String(format: "%.1f s ", elapsed)
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

private func SagaBenchmarkSeconds(_ d: Duration) -> Double {
    SagaDuration.seconds(d)
}
