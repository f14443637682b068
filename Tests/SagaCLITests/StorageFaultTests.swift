import Foundation
import Sagas
import SagasSQLite
import SagasTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small tmpfs mounted for one test: a disk that fills up, or goes read-only, for real (root only; the tests that
/// need it are skipped where mounting is not allowed).
final class TmpfsMount: @unchecked Sendable {
    let path: String

    static let available: Bool = {
        guard getuid() == 0, let probe = try? TmpfsMount(kilobytes: 64) else { return false }
        _ = probe
        return true
    }()

    init(kilobytes: Int) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("saga-tmpfs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.mount(["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", path]) else {
            try? FileManager.default.removeItem(atPath: path)
            throw CLITestError("cannot mount a tmpfs at \(path)")
        }
    }

    /// `mount -o remount,OPTIONS`: `size=…k`, `ro`, `rw`.
    func remount(_ options: String) -> Bool { Self.mount(["-o", "remount,\(options)", path]) }

    deinit {
        _ = Self.run("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    private static func mount(_ arguments: [String]) -> Bool { run("/bin/mount", arguments) }

    private static func run(_ tool: String, _ arguments: [String]) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}

/// The database under faults, through the CLI: locked beyond the busy timeout, not a database, corrupt, full,
/// read-only. Each is a one-line error naming the file with exit 5, never a crash, and never a modified file.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct StorageFaultTests {
    /// Checks a storage failure: exit 5, one line `error: …` naming the file, no signal.
    static func expectStorageError(
        _ result: SagaResult,
        file: String,
        saying words: String,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        #expect(result.status == 5, "\(result)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("error: database \(file)"), "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(words), "\(result)", sourceLocation: sourceLocation)
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test func lockedByAnotherProcessBeyondTheBusyTimeout() throws {
        let box = try CLISandbox()
        try CrashSuite.writeWorkflow(box)
        let plan = CrashSuite.plan(id: "locked-0")
        _ = try box.submit([CrashSuite.workflow, "--id", plan.id, "--input", plan.input.jsonString])

        // Another process holds the write lock (python3's sqlite3 module).
        let holder = try Self.holdWriteLock(box.database)
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }

        let before = Self.bytes(box.database)
        let submit = try box.run([CrashSuite.workflow, "--id", "locked-1", "--input", plan.input.jsonString].withSubmit)
        Self.expectStorageError(submit, file: box.database, saying: "is locked by another process (waited 5s)")
        #expect(Self.bytes(box.database) == before)
    }

    /// Storage.md: "Reads use the pool's reader connections and never wait for writers (WAL)". Fails: `saga list`
    /// opens the store for writing (GlobalOptions.openStore), whose open path takes the write lock, so it fails with
    /// "locked" while another process writes for longer than the busy timeout.
    @Test
    func readsGoOnWhileAnotherProcessHoldsTheWriteLock() throws {
        let box = try CLISandbox()
        try CrashSuite.writeWorkflow(box)
        let plan = CrashSuite.plan(id: "locked-0")
        _ = try box.submit([CrashSuite.workflow, "--id", plan.id, "--input", plan.input.jsonString])
        let holder = try Self.holdWriteLock(box.database)
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        let list = try box.run(["list", "--json"])
        #expect(list.status == 0, "\(list)")
        let show = try box.run(["show", plan.id, "--json"])
        #expect(show.status == 0, "\(show)")
    }

    /// Starts python3 holding `BEGIN EXCLUSIVE` on a database for 20 s; returns once it holds the lock.
    static func holdWriteLock(_ database: String) throws -> Process {
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            "import sqlite3, sys, time\n"
                + "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                + "c.execute('BEGIN EXCLUSIVE')\n"
                + "print('locked', flush=True)\n"
                + "time.sleep(20)\n",
            database,
        ]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        let first = out.fileHandleForReading.availableData
        guard String(decoding: first, as: UTF8.self).contains("locked") else {
            kill(holder.processIdentifier, SIGKILL)
            throw CLITestError("python3 did not take the lock")
        }
        return holder
    }

    @Test(arguments: [
        ("garbage", Data("this is not a database, just a text file\n".utf8)),
        ("zeros", Data(repeating: 0, count: 8192)),
        ("binary", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) })),
    ])
    func aFileThatIsNotADatabaseIsRefusedAndLeftAlone(_ name: String, _ content: Data) throws {
        let box = try CLISandbox()
        try CrashSuite.writeWorkflow(box)
        try content.write(to: URL(fileURLWithPath: box.database))
        let plan = CrashSuite.plan(id: "nodb")
        for arguments in [
            ["submit", CrashSuite.workflow, "--input", plan.input.jsonString],
            ["run", CrashSuite.workflow, "--input", plan.input.jsonString],
            ["worker", "--until-idle"],
            ["list"],
            ["show", "nodb"],
        ] {
            let result = try box.run(arguments)
            Self.expectStorageError(result, file: box.database, saying: "is not a Sagas database or is corrupt; it was not modified")
            #expect(Self.bytes(box.database) == content, "saga \(arguments[0]) modified the file")
        }
        #expect(!FileManager.default.fileExists(atPath: box.database + "-wal"))
    }

    /// A real database truncated to its first pages.
    @Test func aTruncatedDatabaseIsRefusedWithoutACrash() async throws {
        try await Self.damage("truncated")
    }

    /// A real database with pages overwritten (the header intact). Fails: `saga list` and `saga show` (exit 5)
    /// modify the damaged file, and `saga worker --until-idle` never exits (it logs "cannot claim work" forever).
    @Test
    func aDatabaseWithOverwrittenPagesIsRefusedAndLeftAlone() async throws {
        try await Self.damage("overwritten")
    }

    /// Damages a real database of 300 sagas, then checks that list, show, worker and submit refuse it (exit 5, one
    /// line naming the file) or work, never crash, and never modify it.
    static func damage(_ damage: String) async throws {
        let box = try CLISandbox()
        let definition = try CrashSuite.writeWorkflow(box)
        let plans = (0..<300).map { CrashSuite.plan(id: "corrupt-\($0)", delay: "0") }
        try await CrashSuite.submit(plans, definition: definition, box: box)
        #expect(try box.run(["list", "--limit", "1"]).status == 0)  // checkpoints the WAL into the file on exit
        var data = try #require(Self.bytes(box.database))
        try #require(data.count > 8 * 4096, "the database is too small to damage: \(data.count) bytes")
        if damage == "truncated" {
            data = data.prefix(2 * 4096)
        } else {
            for i in (2 * 4096)..<(data.count - 4096) where i % 4096 < 2048 { data[i] = 0xA5 }
        }
        try data.write(to: URL(fileURLWithPath: box.database))

        // The worker's own log lines (it logs at info) are not what this checks: only its error is.
        for arguments in [["list", "--json"], ["show", "corrupt-7", "--json"], ["worker", "--until-idle", "--log-level", "error"], ["submit", CrashSuite.workflow, "--id", "new", "--input", plans[0].input.jsonString]] {
            let result = try box.run(arguments, timeout: 60)
            #expect(result.status == 0 || result.status == 5, "saga \(arguments[0]): \(result)")
            if result.status == 5 {
                Self.expectStorageError(result, file: box.database, saying: "corrupt")
            }
            #expect(Self.bytes(box.database) == data, "saga \(arguments[0]) modified the damaged file (exit \(result.status))")
        }
    }

    @Test(.enabled(if: TmpfsMount.available, "needs root and mount"))
    func aFullDiskStopsWritesAndLosesNothingAcknowledged() async throws {
        let disk = try TmpfsMount(kilobytes: 512)
        let box = try CLISandbox()
        try CrashSuite.writeWorkflow(box)
        let database = "\(disk.path)/saga.db"
        var acknowledged: [CrashSuite.Plan] = []
        var refusal: SagaResult?
        for n in 0..<400 {
            let plan = CrashSuite.plan(id: "full-\(n)", delay: "0")
            let result = try box.run(["submit", CrashSuite.workflow, "--db", database, "--id", plan.id, "--input", plan.input.jsonString])
            if result.status == 0 {
                acknowledged.append(plan)
            } else {
                refusal = result
                break
            }
        }
        let refused = try #require(refusal, "the disk never filled up")
        Self.expectStorageError(refused, file: database, saying: "is full")
        #expect(!acknowledged.isEmpty)

        // A worker on the full disk: it reports it cannot journal and retries; nothing is lost; when space returns
        // it finishes every acknowledged saga.
        let worker = try box.start(["worker", "--until-idle", "--db", database, "--log-level", "error"])
        let complained = eventually(timeout: 30) { worker.stderr.contains("is full") || !worker.isRunning }
        #expect(complained && worker.stderr.contains("is full"), "\(worker.stderr)")
        #expect(disk.remount("size=64m"))
        let status = worker.wait(timeout: 120)
        #expect(status == 0, "\(worker.stderr)")

        let store = try SQLiteSagaStore(path: database, configuration: .init(createIfMissing: false, readOnly: true))
        var journals: [JournalChecker.Journal] = []
        for record in try await store.list(SagaQuery(limit: .max)) {
            journals.append(.init(record: record, events: try await store.events(sagaID: record.id)))
        }
        let report = JournalChecker().check(journals, effects: CrashSuite.effects(box))
        #expect(report.violations.isEmpty, "\(report)")
        #expect(Set(journals.map(\.record.id)).isSuperset(of: acknowledged.map(\.id)), "an acknowledged saga was lost")
        print("full disk: \(acknowledged.count) sagas acknowledged before the disk filled; \(report)")
    }

    @Test(.enabled(if: TmpfsMount.available, "needs root and mount"))
    func aReadOnlyFilesystemRefusesWritesWithOneLine() async throws {
        let disk = try TmpfsMount(kilobytes: 4096)
        let box = try CLISandbox()
        try CrashSuite.writeWorkflow(box)
        let database = "\(disk.path)/saga.db"
        let plan = CrashSuite.plan(id: "ro-1")
        #expect(try box.run(["submit", CrashSuite.workflow, "--db", database, "--id", plan.id, "--input", plan.input.jsonString]).status == 0)
        #expect(disk.remount("ro"))
        defer { _ = disk.remount("rw") }
        let before = Self.bytes(database)

        let submit = try box.run(["submit", CrashSuite.workflow, "--db", database, "--id", "ro-2", "--input", plan.input.jsonString])
        #expect(submit.status == 5, "\(submit)")
        #expect(submit.stderr.split(separator: "\n").count == 1 && submit.stderr.hasPrefix("error: ") && submit.stderr.contains(database), "\(submit)")
        let worker = try box.run(["worker", "--until-idle", "--db", database])
        #expect(worker.status == 5, "\(worker)")
        #expect(worker.stderr.contains(database), "\(worker)")
        #expect(Self.bytes(database) == before)

        // Reading a database on read-only media (no -shm can be created) is reported, not crashed on.
        let list = try box.run(["list", "--json", "--db", database])
        #expect(list.status == 0 || list.status == 5, "\(list)")
        print("read-only filesystem: submit -> \(submit.stderr.trimmingCharacters(in: .newlines)); list -> exit \(list.status) \(list.stderr.trimmingCharacters(in: .newlines))")
    }
}

extension Array where Element == String {
    /// `["submit"] + self`.
    var withSubmit: [String] { ["submit"] + self }
}
