import Foundation
import Sagas
import SagasTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 14, item 3, for real: two `saga worker` processes on one database, each in a PID namespace of its own
/// (what two containers with host networking and one volume are), with one host name. Each numbers its processes
/// on its own, so the other's PID names nothing here; a worker that took that for death took live sagas over, and
/// one step ran in two workers at once. Root and `unshare` only; skipped elsewhere.
@Suite(.serialized)
struct PIDNamespaceTests {
    static let unshare = "/usr/bin/unshare"

    static let available: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: unshare) else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: unshare)
        probe.arguments = ["--pid", "--fork", "--mount-proc", "/bin/true"]
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// `saga ARGUMENTS` in a new PID namespace with its own `/proc`: as PID 1 there (`exec`), or, after 300 other
    /// processes, as a PID above 300 (under a shell). Killing the returned process kills the worker too.
    static func startInNamespace(_ box: CLISandbox, asPID1: Bool, _ arguments: [String]) throws -> SagaProcess {
        let id = UUID().uuidString
        let (outPath, errPath) = ("\(box.root)/out-\(id).txt", "\(box.root)/err-\(id).txt")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: unshare)
        let script =
            asPID1
            ? #"exec "$0" "$@""#
            : #"i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done; "$0" "$@"; exit $?"#
        process.arguments = ["--pid", "--mount-proc", "--kill-child", "/bin/sh", "-c", script, CrashSuite.binary] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: box.root)
        process.environment = box.environment
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return SagaProcess(process: process, stdoutPath: outPath, stderrPath: errPath)
    }

    @Test(.enabled(if: available, "needs root and unshare"), .timeLimit(.minutes(2)))
    func workersInTwoPIDNamespacesDoNotTakeLiveSagasFromEachOther() async throws {
        let box = try CLISandbox()
        try CrashSuite.writeWorkflow(box)
        let plan = CrashSuite.plan(id: "ns-0", delay: "1.5")
        _ = try box.submit([CrashSuite.workflow, "--id", plan.id, "--input", plan.input.jsonString])
        let arguments = ["worker", "--lease", "60s", "--log-level", "error"]
        // Worker A runs as a PID above 300 in its namespace.
        let a = try Self.startInNamespace(box, asPID1: false, arguments)
        defer { a.signal(SIGKILL); _ = a.wait(timeout: 10) }
        #expect(eventually(timeout: 30) { box.readScratch("spans.log")?.contains("start ns-0 a action") == true }, "\(a.stderr)")
        // Worker B runs as PID 1 of another namespace, where A's PID names nothing (B's own threads and commands
        // take the low numbers): A must still count as alive.
        let b = try Self.startInNamespace(box, asPID1: true, arguments)
        defer { b.signal(SIGKILL); _ = b.wait(timeout: 10) }
        let done = eventually(timeout: 60) {
            (try? box.show(plan.id))?["status"]?.stringValue == SagaStatus.completed.rawValue
        }
        #expect(done, "a: \(a.stderr) b: \(b.stderr)")
        a.signal(SIGKILL)
        b.signal(SIGKILL)
        _ = a.wait(timeout: 10)
        _ = b.wait(timeout: 10)
        let (report, _) = try await CrashSuite.check(box, plans: [plan])
        #expect(report.violations.isEmpty, "\(report)")
        let workers = Set(CrashSuite.spans(box).map(\.worker))
        #expect(workers.count == 1, "every attempt ran in worker A, none was taken over by B: \(workers)")
        #expect(report.duplicateExecutions == 0, "\(report)")
    }
}
