public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who a worker is, precisely enough that another worker on the same machine can be certain it is gone.
///
/// Its text form is the worker id leases carry:
/// `HOST:PID:NONCE:boot=BOOT_ID:pidns=PID_NAMESPACE:start=START_TIME`, where `BOOT_ID` is the kernel's
/// `/proc/sys/kernel/random/boot_id` (one per boot of one kernel, shared by its containers), `PID_NAMESPACE` the inode
/// of `/proc/self/ns/pid` (which numbering `PID` belongs to) and `START_TIME` field 22 of `/proc/self/stat` (when the
/// process started, in clock ticks after boot). A host name and a PID alone are not enough: two containers with one
/// host name (host networking) number their processes each in their own PID namespace, so each would see the
/// other's PID as dead; and a PID is reused once its process is gone.
///
/// A worker is certainly gone (``isCertainlyGone``) only when it ran under this kernel's boot and in this process's PID
/// namespace, and its PID names no process, or a process that started at another time (the PID was reused), or one
/// that has exited (a zombie). Anything else (another host, another namespace, a worker id without these fields, as
/// written before they existed or chosen by hand, a platform without `/proc`) is never taken for gone: its sagas
/// wait for their lease to expire.
public struct WorkerIdentity: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var pid: Int32
    public var nonce: String
    /// `/proc/sys/kernel/random/boot_id`, when known.
    public var bootID: String?
    /// The inode of the PID namespace the PID belongs to, when known.
    public var pidNamespace: UInt64?
    /// The process's start time (clock ticks after boot), when known.
    public var startTime: UInt64?

    public init(
        host: String,
        pid: Int32,
        nonce: String,
        bootID: String? = nil,
        pidNamespace: UInt64? = nil,
        startTime: UInt64? = nil
    ) {
        self.host = host
        self.pid = pid
        self.nonce = nonce
        self.bootID = bootID
        self.pidNamespace = pidNamespace
        self.startTime = startTime
    }

    /// The worker id: `HOST:PID:NONCE`, then `boot=…`, `pidns=…` and `start=…` for the fields that are known.
    public var description: String {
        var parts = [host, String(pid), nonce]
        if let bootID { parts.append("boot=\(bootID)") }
        if let pidNamespace { parts.append("pidns=\(pidNamespace)") }
        if let startTime { parts.append("start=\(startTime)") }
        return parts.joined(separator: ":")
    }

    /// Parses a worker id; `nil` when it is not `HOST:PID:NONCE[:key=value…]` (a name chosen by hand). Unknown keys
    /// are ignored; a known key with a malformed value makes the field unknown.
    public init?(workerID: String) {
        let parts = workerID.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, !parts[0].isEmpty, let pid = Int32(parts[1]), pid > 0, !parts[2].isEmpty else {
            return nil
        }
        self.init(host: parts[0], pid: pid, nonce: parts[2])
        for part in parts.dropFirst(3) {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let key = part[..<eq]
            let value = String(part[part.index(after: eq)...])
            switch key {
            case "boot": bootID = Self.isBootID(value) ? value : nil
            case "pidns": pidNamespace = UInt64(value)
            case "start": startTime = UInt64(value)
            default: break
            }
        }
    }

    /// This process, with a fresh nonce (one per engine).
    public static func current() -> WorkerIdentity {
        let me = ProcessIdentity.current
        return WorkerIdentity(
            host: ProcessInfo.processInfo.hostName.replacingOccurrences(of: ":", with: "_"),
            pid: getpid(),
            nonce: String(UInt32.random(in: 0...UInt32.max)),
            bootID: me?.bootID,
            pidNamespace: me?.pidNamespace,
            startTime: me?.startTime
        )
    }

    /// Whether this worker is certainly gone, as seen from this process: see the type's description.
    public var isCertainlyGone: Bool {
        guard let me = ProcessIdentity.current, let bootID, let pidNamespace, let startTime,
            bootID == me.bootID, pidNamespace == me.pidNamespace
        else { return false }
        if pid == getpid() { return startTime != me.startTime }
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        // The PID names a process: it is the worker only if it started when the worker did.
        guard let stat = ProcessIdentity.stat(of: "\(pid)") else { return false }
        if stat.startTime != startTime { return true }
        return stat.state == "Z" || stat.state == "X"
    }

    /// Whether a worker id names a worker that is certainly gone (``isCertainlyGone``).
    public static func isCertainlyGone(_ workerID: String) -> Bool {
        WorkerIdentity(workerID: workerID)?.isCertainlyGone ?? false
    }

    private static func isBootID(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.allSatisfy { $0.isHexDigit || $0 == "-" }
    }
}

/// What `/proc` says about this process, read once: `nil` where there is no `/proc`, or one that belongs to another
/// PID namespace (its `self` is not this process's PID), so that PIDs could not be checked in it.
struct ProcessIdentity: Sendable {
    var bootID: String
    var pidNamespace: UInt64
    var startTime: UInt64

    static let current: ProcessIdentity? = {
        #if os(Linux)
        guard let boot = read("/proc/sys/kernel/random/boot_id")?.trimmingCharacters(in: .whitespacesAndNewlines),
            !boot.isEmpty,
            let ns = pidNamespaceInode(),
            let me = stat(of: "self"), me.pid == getpid()
        else { return nil }
        return ProcessIdentity(bootID: boot, pidNamespace: ns, startTime: me.startTime)
        #else
        return nil
        #endif
    }()

    /// Fields of `/proc/PID/stat`: the PID (1), the state (3) and the start time (22).
    static func stat(of process: String) -> (pid: Int32, state: Character, startTime: UInt64)? {
        guard let text = read("/proc/\(process)/stat"), let space = text.firstIndex(of: " "),
            let close = text.lastIndex(of: ")"), space < close, let pid = Int32(text[..<space])
        else { return nil }
        // After the command name in parentheses (which may itself hold spaces and parentheses): field 3 onwards.
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (pid, state, start)
    }

    private static func pidNamespaceInode() -> UInt64? {
        var buffer = [CChar](repeating: 0, count: 128)
        let n = readlink("/proc/self/ns/pid", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)  // pid:[4026531836]
        guard link.hasPrefix("pid:["), link.hasSuffix("]") else { return nil }
        return UInt64(link.dropFirst(5).dropLast())
    }

    /// A small file of `/proc` (whose size `stat` reports as 0), read to its end; `nil` if it cannot be read or is
    /// larger than 4 KiB.
    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while bytes.count <= 4096 {
            let n = chunk.withUnsafeMutableBytes { buffer in
                #if canImport(Glibc)
                Glibc.read(fd, buffer.baseAddress, buffer.count)
                #else
                Darwin.read(fd, buffer.baseAddress, buffer.count)
                #endif
            }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return nil
    }
}
