import Foundation
import Sagas
import SagasTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 14, item 3: a worker's identity must not collide across PID namespaces, or hosts that share a name, and a
/// take-over before the lease expires needs certainty that the owner is gone.
@Suite struct WorkerIdentityTests {
    typealias S = TestSupport

    /// A dead process's id: a child that has exited and been reaped.
    static func deadPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exit 0"]
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    /// The id of a worker that ran on this machine, in this PID namespace, and is gone.
    static func deadWorker() throws -> String {
        var identity = WorkerIdentity.current()
        identity.pid = try deadPID()
        identity.nonce = "7"
        return identity.description
    }

    static var hasProc: Bool { FileManager.default.fileExists(atPath: "/proc/self/ns/pid") }

    @Test(.enabled(if: hasProc, "needs /proc")) func theDefaultWorkerIDNamesBootNamespaceAndStartTime() throws {
        let id = SagaEngine.defaultWorkerID()
        let identity = try #require(WorkerIdentity(workerID: id))
        #expect(identity.pid == getpid())
        #expect(identity.host == ProcessInfo.processInfo.hostName)
        #expect(identity.bootID?.isEmpty == false && identity.pidNamespace != nil && identity.startTime != nil, "\(id)")
        #expect(identity.description == id, "the text form round-trips")
        #expect(!identity.isCertainlyGone, "this process is alive")
        #expect(SagaEngine.defaultWorkerID() != id, "a fresh nonce per engine")
    }

    @Test(.enabled(if: hasProc, "needs /proc")) func aDeadWorkerInThisNamespaceIsCertainlyGone() throws {
        #expect(WorkerIdentity.isCertainlyGone(try Self.deadWorker()))
    }

    /// The attack: two containers with one host name (host networking) but their own PID namespaces. The other's
    /// PID means nothing here, dead or alive.
    @Test(.enabled(if: hasProc, "needs /proc")) func aWorkerInAnotherPIDNamespaceIsNeverTakenForGone() throws {
        var other = try #require(WorkerIdentity(workerID: try Self.deadWorker()))
        other.pidNamespace = (other.pidNamespace ?? 0) &+ 1
        #expect(!other.isCertainlyGone, "\(other)")
        // The same with a host that shares the name but not the kernel.
        var elsewhere = try #require(WorkerIdentity(workerID: try Self.deadWorker()))
        elsewhere.bootID = "00000000-0000-0000-0000-000000000000"
        #expect(!elsewhere.isCertainlyGone, "\(elsewhere)")
    }

    /// Ids without the fields (written before they existed, or chosen by hand) wait for their lease.
    @Test func anIDWithoutBootAndNamespaceIsNeverTakenForGone() throws {
        let old = "\(ProcessInfo.processInfo.hostName):\(try Self.deadPID()):7"
        #expect(WorkerIdentity(workerID: old)?.bootID == nil)
        #expect(!WorkerIdentity.isCertainlyGone(old))
        for id in ["reconciliation", "worker:1:1", "", ":::", "h:0:1", "h:-5:1", "h:99999999999:1"] {
            #expect(!WorkerIdentity.isCertainlyGone(id), "\(id)")
        }
    }

    /// A PID that names a live process which started at another time was reused: the worker is gone.
    @Test(.enabled(if: hasProc, "needs /proc")) func aReusedPIDIsTakenForGoneAndALiveOneIsNot() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        defer {
            // SIGKILL: a SIGTERM the test process ignores stays ignored in the child.
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
        }
        let me = WorkerIdentity.current()
        let stat = try String(contentsOfFile: "/proc/\(child.processIdentifier)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        let start = try #require(UInt64(fields[19]))
        var live = me
        live.pid = child.processIdentifier
        live.startTime = start
        #expect(!live.isCertainlyGone, "a live worker: \(live)")
        var reused = live
        reused.startTime = start &+ 1
        #expect(reused.isCertainlyGone, "the PID belongs to another process now: \(reused)")
    }

    @Test func malformedFieldsAreUnknownNotACrash() {
        let id = "host:12:3:boot=zz:pidns=x:start=-1:other=1"
        let identity = WorkerIdentity(workerID: id)
        #expect(identity?.bootID == nil && identity?.pidNamespace == nil && identity?.startTime == nil)
        #expect(identity?.isCertainlyGone == false)
    }

    /// Reconciliation hands back the saga of a dead worker of this namespace, and leaves alone a live lease whose
    /// holder only looks dead from here (same host name, another PID namespace).
    @Test(.enabled(if: hasProc, "needs /proc")) func reconciliationTakesOverOnlyWorkersCertainlyGone() async throws {
        let store = MemorySagaStore()
        let engine = S.engine(store: store)
        let definition = S.definition(S.linear(["a"]))
        var otherNamespace = try #require(WorkerIdentity(workerID: try Self.deadWorker()))
        otherNamespace.pidNamespace = (otherNamespace.pidNamespace ?? 0) &+ 1
        let t = Date()
        for (id, owner) in [("dead", try Self.deadWorker()), ("namespaced", otherNamespace.description)] {
            try await engine.start(definition, input: [:], id: id)
            _ = try await store.claim(sagaID: id, owner: owner, now: t, leaseUntil: t.addingTimeInterval(600))
        }
        let report = try await engine.reconcile()
        #expect(report.entries.filter { $0.action == "released" }.map(\.sagaID) == ["dead"], "\(report.entries)")
        #expect(try await store.saga(id: "namespaced")?.owner == otherNamespace.description)
    }
}
