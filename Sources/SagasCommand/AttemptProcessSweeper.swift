import Foundation
import Sagas
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds and kills the processes of `command` attempts by the mark in their environment (``AttemptIdentity``).
///
/// A command runs in a process group of its own, and a worker kills that group when an attempt times out or is
/// abandoned at shutdown. Two things escape a group: a worker killed with `kill -9` (nobody is left to kill it),
/// and descendants that left the group (`setsid`). Both keep the environment they were started with, and with it
/// `SAGA_ATTEMPT_MARK`. On Linux this scans `/proc/*/environ` of the processes this user can read, kills every
/// process that carries one of the marks asked for (with its process group, which catches descendants that cleared
/// their environment but stayed in the group), and scans again until none is left: a process that is gone, or a
/// zombie, can no longer act. Requests that arrive during a scan share the next one, so a worker recovering
/// thousands of sagas at once reads `/proc` a few times, not thousands.
///
/// Out of reach: a descendant that both cleared its environment and left the group (only a cgroup catches a
/// double-forked daemon), processes of other users, other hosts, and systems without `/proc` (there it does nothing).
final class AttemptProcessSweeper: Sendable {
    static let shared = AttemptProcessSweeper()

    /// How long a request waits for its processes to be gone before it gives up (a process stuck in the kernel).
    static let patience: Duration = .seconds(10)

    struct Report: Sendable, Hashable {
        /// Processes killed, over every scan.
        var killed = 0
        /// Some were still there when the patience ran out.
        var gaveUp = false
    }

    private struct Request {
        var marks: Set<String>
        var deadline: ContinuousClock.Instant
        var report = Report()
        var continuation: CheckedContinuation<Report, Never>
    }

    private struct State {
        var waiting: [Request] = []
        var running = false
    }

    private let state = Mutex(State())

    /// Kills every process marked with one of `marks` and returns once none is left (or after ``patience``).
    func end(marks: Set<String>) async -> Report {
        guard !marks.isEmpty, FileManager.default.fileExists(atPath: "/proc/self/environ") else { return Report() }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Report, Never>) in
            let start = state.withLock { s -> Bool in
                s.waiting.append(
                    Request(marks: marks, deadline: .now + AttemptProcessSweeper.patience, continuation: continuation)
                )
                defer { s.running = true }
                return !s.running
            }
            if start {
                let thread = Thread { self.serve() }
                thread.start()
            }
        }
    }

    private func serve() {
        var active: [Request] = []
        while true {
            let idle = active.isEmpty
            let arrived = state.withLock { s in
                defer { s.waiting.removeAll() }
                if s.waiting.isEmpty && idle { s.running = false }
                return s.waiting
            }
            active += arrived
            if active.isEmpty { return }
            let wanted = active.reduce(into: Set<String>()) { $0.formUnion($1.marks) }
            let found = AttemptProcessSweeper.scan(for: wanted)
            for (pid, _) in found { AttemptProcessSweeper.killWithGroup(pid) }
            var still: [Request] = []
            let now = ContinuousClock.now
            for var request in active {
                let mine = found.filter { request.marks.contains($0.mark) }.count
                request.report.killed += mine
                if mine == 0 {
                    request.continuation.resume(returning: request.report)
                } else if now >= request.deadline {
                    request.report.gaveUp = true
                    request.continuation.resume(returning: request.report)
                } else {
                    still.append(request)
                }
            }
            active = still
            // Killed processes need a moment to die; then look again (they may have forked meanwhile).
            if !active.isEmpty { usleep(5_000) }
        }
    }

    /// SIGKILL to the process and to its group, unless that group is ours.
    private static func killWithGroup(_ pid: pid_t) {
        let group = getpgid(pid)
        if group > 1 && group != getpgrp() {
            _ = kill(-group, SIGKILL)
        }
        _ = kill(pid, SIGKILL)
    }

    /// The live processes whose environment holds `SAGA_ATTEMPT_MARK=M` for an `M` in `marks`.
    static func scan(for marks: Set<String>) -> [(pid: pid_t, mark: String)] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        let me = getpid()
        let prefix = Array("\(AttemptIdentity.environmentName)=".utf8)
        var found: [(pid: pid_t, mark: String)] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard let pid = pid_t(name), pid > 0, pid != me else { continue }
            let fd = open("/proc/\(pid)/environ", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            var variables: [UInt8] = []
            while variables.count < 4 << 20 {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                variables.append(contentsOf: buffer[0..<n])
            }
            close(fd)
            // A zombie's environment reads empty: it can no longer act.
            for variable in variables.split(separator: 0, omittingEmptySubsequences: true)
            where variable.starts(with: prefix) {
                let mark = String(decoding: variable.dropFirst(prefix.count), as: UTF8.self)
                if marks.contains(mark) { found.append((pid, mark)) }
                break
            }
        }
        return found
    }
}
