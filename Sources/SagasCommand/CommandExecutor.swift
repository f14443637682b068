public import Foundation
public import Sagas
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `command` actions: a program with arguments, no shell, in the workflow file's folder.
///
/// Conventions (see Docs/workflow-format.md):
/// - stdin is `{"input":…, "steps":{NAME:{"output":…}}, "saga":{"id":…,"workflow":…}}` unless the action gives
///   `stdin`; the environment adds `SAGA_ID`, `SAGA_WORKFLOW`, `SAGA_STEP`, `SAGA_PHASE`, `SAGA_ATTEMPT` and
///   `SAGA_IDEMPOTENCY_KEY` to the engine's own and the action's `env`.
/// - Exit 0 succeeds, and stdout becomes the output (JSON when it parses, else text). Exit
///   ``permanentFailureExitCode`` fails for good; any other exit fails and may be retried, with the last lines of
///   stderr as the error.
/// - For a probe, exit 0 means the effect happened and ``probeNotHappenedExitCode`` that it did not; any other exit
///   means the probe could not tell.
/// - A command still running when its attempt is cancelled (its timeout) is killed with its whole process group,
///   and its outcome is unknown.
public struct CommandExecutor: StepExecutor {
    /// The exit code that marks a failure no retry will fix.
    public static let permanentFailureExitCode: Int32 = 100
    /// The exit code with which a probe says the effect did not happen.
    public static let probeNotHappenedExitCode: Int32 = 10
    /// Output larger than this fails the attempt.
    public var maxOutputBytes: Int
    /// Variables added to every command's environment (the engine's own environment by default).
    public var environment: [String: String]
    /// Once the command itself exited, how long its output is still read while a process it left behind (`sleep 8 &`)
    /// holds the pipes open. Its exit is its outcome: nothing it left behind delays the outcome longer.
    public var drainAfterExit: Duration

    public init(
        maxOutputBytes: Int = 1 << 20,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        drainAfterExit: Duration = .milliseconds(200)
    ) {
        self.maxOutputBytes = maxOutputBytes
        self.environment = environment
        self.drainAfterExit = drainAfterExit
    }

    public func execute(spec: JSONValue, context: StepContext) async -> StepOutcome {
        guard let argvValues = spec["argv"]?.arrayValue, !argvValues.isEmpty else {
            return .failure(.permanent("command action has no argv"))
        }
        var argv = argvValues.map(\.displayString)
        let directory = context.baseDirectory ?? FileManager.default.currentDirectoryPath
        if argv[0].contains("/"), !argv[0].hasPrefix("/") {
            argv[0] = (directory as NSString).appendingPathComponent(argv[0])
        }
        let stdinValue: JSONValue
        if let given = spec["stdin"] {
            stdinValue = given
        } else {
            stdinValue = .object([
                "input": context.input,
                "steps": .object(context.outputs.mapValues { .object(["output": $0]) }),
                "saga": .object(["id": .string(context.sagaID), "workflow": .string(context.workflow)]),
            ])
        }
        var extra: [(String, String)] = []
        if case .object(let given) = spec["env"] ?? .null {
            extra = given.map { ($0.key, $0.value.displayString) }.sorted { $0.0 < $1.0 }
        }
        // A C string ends at its first NUL: `/etc/passwd\u{0}.txt` would reach the program as `/etc/passwd`.
        if let problem = CommandExecutor.unpassable(argv: argv, env: extra) {
            return .failure(.permanent("saga \(context.sagaID), step \(context.step): \(problem); the command was not run"))
        }
        var env = environment
        for (k, v) in extra { env[k] = v }
        env["SAGA_ID"] = context.sagaID
        env["SAGA_WORKFLOW"] = context.workflow
        env["SAGA_STEP"] = context.step
        env["SAGA_PHASE"] = context.phase.rawValue
        env["SAGA_ATTEMPT"] = String(context.attempt)
        env["SAGA_IDEMPOTENCY_KEY"] = context.idempotencyKey
        env["TRACEPARENT"] = context.propagatedTraceparent
        // What a worker that takes this attempt over (or this one, at a timeout) finds the attempt's processes by.
        let mark = context.attemptIdentity?.mark
        env[AttemptIdentity.environmentName] = mark
        // A variable of the engine's own environment cannot hold a NUL, but a name may be unusable.
        env = env.filter { !$0.key.isEmpty && !$0.key.contains("=") && !$0.key.utf8.contains(0) && !$0.value.utf8.contains(0) }

        let stdinText = stdinValue.displayString + (stdinValue.stringValue == nil ? "\n" : "")
        let result: ProcessResult
        do {
            result = try await ChildProcess.run(
                argv: argv,
                environment: env,
                directory: directory,
                stdin: Data(stdinText.utf8),
                maxOutputBytes: maxOutputBytes,
                drain: drainAfterExit
            )
        } catch let error as ChildProcess.SpawnError {
            // Nothing ran: a definite failure. A missing or non-executable program will not fix itself.
            return .failure(.permanent("saga \(context.sagaID), step \(context.step): cannot run \(argv[0]): \(error.message)"))
        } catch {
            return .failure(.retryable("\(error)"))
        }
        if result.killedByCancellation {
            // The group is gone; descendants that left it (`setsid`) but kept the attempt's mark go too.
            if let mark { _ = await AttemptProcessSweeper.shared.end(marks: [mark]) }
            return .unknown("killed after its timeout of \(SagaDuration.format(context.timeout)) (process group \(result.pid))")
        }
        if result.outputTooLarge {
            return .failure(
                .permanent("saga \(context.sagaID), step \(context.step): output is larger than \(maxOutputBytes) bytes")
            )
        }
        let stderrTail = ChildProcess.tail(result.stderr, lines: 5, redactor: context.redactor)
        switch result.termination {
        case .exited(0):
            let text = String(decoding: result.stdout, as: UTF8.self)
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            let output: JSONValue
            if trimmed.isEmpty {
                output = .null
            } else if let parsed = try? JSONValue(parsing: trimmed) {
                output = parsed
            } else {
                output = .string(trimmed)
            }
            return .success(output)
        case .exited(let code):
            if context.phase == .probe && code == CommandExecutor.probeNotHappenedExitCode {
                return .notHappened
            }
            let message = "exit \(code)" + (stderrTail.isEmpty ? "" : ": \(stderrTail)")
            if code == CommandExecutor.permanentFailureExitCode {
                return .failure(.permanent(message))
            }
            return .failure(.retryable(message))
        case .signaled(let signal):
            let message = "killed by signal \(signal)" + (stderrTail.isEmpty ? "" : ": \(stderrTail)")
            // A command killed from outside may have done its work before it died.
            return .unknown(message)
        case .lost:
            // Someone else reaped it (a process that ignores SIGCHLD): how it ended cannot be known.
            return .unknown("its exit status was lost (process \(result.pid))")
        }
    }

    /// Ends the processes of attempts that a worker which stopped left running, before they are journaled as
    /// interrupted: every process whose environment carries one of their marks (Linux: found through /proc), with
    /// its process group. Returns when none is left, or after `AttemptProcessSweeper.patience`.
    public func endOrphanedAttempts(_ attempts: [AttemptIdentity]) async {
        guard !attempts.isEmpty else { return }
        _ = await AttemptProcessSweeper.shared.end(marks: Set(attempts.map(\.mark)))
    }

    /// Why `argv` or `env` cannot be passed to a program (a NUL byte, an unusable variable name), naming the
    /// argument but not its value (which may be a secret); `nil` when they can.
    static func unpassable(argv: [String], env: [(String, String)]) -> String? {
        for (i, arg) in argv.enumerated() where arg.utf8.contains(0) {
            return "argv[\(i)] contains a NUL byte, which would cut it short"
        }
        for (name, value) in env {
            if name.isEmpty || name.contains("=") || name.utf8.contains(0) {
                return "env has an unusable variable name \(JSONValue.string(name).jsonString) (empty, or with '=' or a NUL byte)"
            }
            if value.utf8.contains(0) {
                return "env \(name) contains a NUL byte, which would cut it short"
            }
        }
        return nil
    }
}

struct ProcessResult: Sendable {
    /// `lost`: the child was reaped by someone else (the program ignores SIGCHLD), so its status is unknown.
    enum Termination: Sendable { case exited(Int32), signaled(Int32), lost }
    var pid: Int32
    var termination: Termination
    var stdout: Data
    var stderr: Data
    var outputTooLarge: Bool
    var killedByCancellation: Bool
}

/// A child process in its own process group, read on a thread of its own so that no cooperative thread blocks.
///
/// Every pipe end is close-on-exec from its creation (`pipe2`), so no other child, spawned at the same moment by
/// another attempt, inherits it; the child gets its ends as 0, 1 and 2 only, and the parent closes them after the
/// spawn. The outcome is the exit of the child itself: once it exited, its output is read for at most `drain`
/// more, and then our ends are closed whatever its descendants hold. A cancelled run (a timeout, a shutdown past
/// its grace) kills the process group at once and returns as soon as the child is dead.
enum ChildProcess {
    struct SpawnError: Error { var message: String }

    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+): the child closes every descriptor from 3 up, so
    /// that descriptors this process inherited without close-on-exec (a supervisor's socket, say) do not reach
    /// commands, which would keep them open for as long as they, or what they leave behind, live.
    static let addclosefrom: AddClosefrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddClosefrom.self)
    }()

    /// `pipe2`, which the C library's Swift module map does not export: both ends close-on-exec atomically, so that
    /// a child spawned by another thread at that instant cannot inherit them. Without it (not on Linux), `pipe`
    /// and `FD_CLOEXEC` at once.
    static let pipe2Function: Pipe2? = {
        guard let symbol = dlsym(nil, "pipe2") else { return nil }
        return unsafeBitCast(symbol, to: Pipe2.self)
    }()

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), which its Swift module map does not export.
    static let addchdir: AddChdir? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    /// glibc's `pidfd_open` (2.36+, Linux 5.3+): a descriptor that polls readable when the child exits. Without it
    /// the child is looked at every 20 ms.
    static let pidfdOpen: PidfdOpen? = {
        guard let symbol = dlsym(nil, "pidfd_open") else { return nil }
        return unsafeBitCast(symbol, to: PidfdOpen.self)
    }()

    /// The last `lines` non-empty lines of the last 8 KiB of `data`, joined with ` | `. The text is redacted before
    /// it is cut into lines, and a line the 8 KiB cut starts in the middle of is dropped (unless it is the only
    /// one), so that no piece of a secret is left that the engine's redaction could miss.
    static func tail(_ data: Data, lines: Int, redactor: SecretRedactor = .none) -> String {
        var window = data.suffix(8192 + 4096)
        var text = redactor.redact(String(decoding: window, as: UTF8.self))
        if data.count > window.count || text.utf8.count > 8192 {
            window = Data(text.utf8.suffix(8192))
            text = String(decoding: window, as: UTF8.self)
            if let newline = text.firstIndex(where: \.isNewline), text[text.index(after: newline)...].contains(where: { !$0.isWhitespace }) {
                text = String(text[text.index(after: newline)...])
            }
        }
        let all = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return all.suffix(lines).joined(separator: " | ")
    }

    /// A pipe whose two ends are close-on-exec from the start, and above 2 (a process started with 0, 1 or 2
    /// closed would otherwise get them, and the spawn's `dup2`s would overwrite one with another).
    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        let made: Int32
        if let pipe2Function {
            made = fds.withUnsafeMutableBufferPointer { pipe2Function($0.baseAddress!, O_CLOEXEC) }
        } else {
            made = pipe(&fds)
            if made == 0 { for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) } }
        }
        guard made == 0 else {
            throw SpawnError(message: "pipe failed: \(String(cString: strerror(errno)))")
        }
        for i in 0..<2 where fds[i] <= 2 {
            let moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)
            close(fds[i])
            guard moved >= 0 else {
                close(fds[1 - i])
                throw SpawnError(message: "pipe failed: \(String(cString: strerror(errno)))")
            }
            fds[i] = moved
        }
        return (fds[0], fds[1])
    }

    static func run(
        argv: [String],
        environment: [String: String],
        directory: String,
        stdin: Data,
        maxOutputBytes: Int,
        drain: Duration = .milliseconds(200)
    ) async throws -> ProcessResult {
        var opened: [Int32] = []
        func closeAll() { for fd in opened { close(fd) } }
        let inPipe: (read: Int32, write: Int32)
        let outPipe: (read: Int32, write: Int32)
        let errPipe: (read: Int32, write: Int32)
        let wake: (read: Int32, write: Int32)
        do {
            inPipe = try makePipe()
            opened += [inPipe.read, inPipe.write]
            outPipe = try makePipe()
            opened += [outPipe.read, outPipe.write]
            errPipe = try makePipe()
            opened += [errPipe.read, errPipe.write]
            wake = try makePipe()
            opened += [wake.read, wake.write]
        } catch {
            closeAll()
            throw error
        }
        _ = fcntl(wake.write, F_SETFL, fcntl(wake.write, F_GETFL) | O_NONBLOCK)
        _ = fcntl(wake.read, F_SETFL, fcntl(wake.read, F_GETFL) | O_NONBLOCK)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on 0, 1 and 2 only; every other descriptor of ours closes at the exec.
        posix_spawn_file_actions_adddup2(&actions, inPipe.read, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe.write, 2)
        guard let addchdir = ChildProcess.addchdir else {
            closeAll()
            throw SpawnError(message: "this C library cannot set a child's working directory")
        }
        _ = addchdir(&actions, directory)
        if let addclosefrom = ChildProcess.addclosefrom {
            _ = addclosefrom(&actions, 3)
        } else {
            ChildProcess.markInheritedDescriptorsCloseOnExec()
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        sigaddset(&defaultSignals, SIGPIPE)
        sigaddset(&defaultSignals, SIGINT)
        sigaddset(&defaultSignals, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        )

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var pid: pid_t = 0
        let spawnStatus = posix_spawn(&pid, argv[0].contains("/") ? argv[0] : resolve(argv[0], environment), &actions, &attributes, cArgs, cEnv)
        // The child's ends: only the child holds them now, so its exit (and its descendants') closes the pipes.
        close(inPipe.read)
        close(outPipe.write)
        close(errPipe.write)
        if spawnStatus != 0 {
            for fd in [inPipe.write, outPipe.read, errPipe.read, wake.read, wake.write] { close(fd) }
            throw SpawnError(message: String(cString: strerror(spawnStatus)))
        }
        let child = Child(pid: pid, wakeFD: wake.write)
        // A pidfd is close-on-exec from its creation.
        let pidfd = pidfdOpen?(pid, 0) ?? -1
        let fds = PumpDescriptors(stdin: inPipe.write, stdout: outPipe.read, stderr: errPipe.read, wake: wake.read, pidfd: pidfd)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ProcessResult, Never>) in
                let thread = Thread {
                    let result = pump(child, fds, stdin: stdin, maxOutputBytes: maxOutputBytes, drain: drain)
                    continuation.resume(returning: result)
                }
                thread.start()
            }
        } onCancel: {
            child.cancel()
        }
    }

    struct PumpDescriptors {
        var stdin: Int32
        var stdout: Int32
        var stderr: Int32
        /// Readable when the run is cancelled.
        var wake: Int32
        /// Readable when the child exited; -1 without `pidfd_open`.
        var pidfd: Int32
    }

    /// The child's pid, guarded so that a cancellation never signals a pid that was reaped (and may be reused).
    final class Child: Sendable {
        struct State {
            var reaped = false
            var cancelled = false
            var wakeOpen = true
        }

        let pid: pid_t
        private let wakeFD: Int32
        private let state = Mutex(State())

        init(pid: pid_t, wakeFD: Int32) {
            self.pid = pid
            self.wakeFD = wakeFD
        }

        var cancelled: Bool { state.withLock { $0.cancelled } }

        /// Kills the child's process group (and the child, should it have left it), and wakes the pump.
        func cancel() {
            state.withLock { s in
                s.cancelled = true
                if !s.reaped {
                    kill(-pid, SIGKILL)
                    kill(pid, SIGKILL)
                }
                if s.wakeOpen {
                    var byte: UInt8 = 1
                    _ = write(wakeFD, &byte, 1)
                }
            }
        }

        /// Reaps the child if it exited; its status, `.lost` when someone else reaped it, `nil` while it runs.
        func reapIfExited() -> ProcessResult.Termination? {
            state.withLock { s -> ProcessResult.Termination? in
                if s.reaped { return .lost }
                var status: Int32 = 0
                var r: pid_t
                repeat { r = waitpid(pid, &status, WNOHANG) } while r < 0 && errno == EINTR
                if r == 0 { return nil }
                s.reaped = true
                if r < 0 { return .lost }
                return status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
            }
        }

        /// Waits for the child and reaps it (after the pump gave up on it, it has been killed).
        func reap() -> ProcessResult.Termination {
            while true {
                if let t = reapIfExited() { return t }
                usleep(2_000)
            }
        }

        func closeWake() {
            state.withLock { s in
                if s.wakeOpen { close(wakeFD) }
                s.wakeOpen = false
            }
        }
    }

    /// Without `addclosefrom`: every descriptor of this process from 3 up becomes close-on-exec (ours already are;
    /// this catches those it inherited), once.
    private static let markOnce: Void = {
        guard let dir = opendir("/proc/self/fd") else { return }
        defer { closedir(dir) }
        let own = dirfd(dir)
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard let fd = Int32(name), fd > 2, fd != own else { continue }
            _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        }
    }()

    private static func markInheritedDescriptorsCloseOnExec() { _ = markOnce }

    private static func resolve(_ name: String, _ environment: [String: String]) -> String {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return name
    }

    private static func milliseconds(_ d: Duration) -> Int {
        Int(SagaDuration.milliseconds(d))
    }

    /// Writes stdin and reads stdout and stderr until the child exited and both closed (or `drain` passed since its
    /// exit), then reaps the child. Runs on its own thread.
    private static func pump(
        _ child: Child,
        _ fds: PumpDescriptors,
        stdin: Data,
        maxOutputBytes: Int,
        drain: Duration
    ) -> ProcessResult {
        // A child that exits without reading its stdin makes our write raise SIGPIPE, which would kill the whole
        // process. Blocked on this thread, the signal stays pending here and the write fails with EPIPE instead.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        var stdout = Data()
        var stderr = Data()
        var tooLarge = false
        let pending = [UInt8](stdin)
        var written = 0
        var inOpen = true
        _ = fcntl(fds.stdin, F_SETFL, fcntl(fds.stdin, F_GETFL) | O_NONBLOCK)
        if pending.isEmpty { close(fds.stdin); inOpen = false }
        var outOpen = true
        var errOpen = true
        var cancelSeen = false
        var termination: ProcessResult.Termination?
        var stopReadingAt: ContinuousClock.Instant?
        let clock = ContinuousClock()
        var buffer = [UInt8](repeating: 0, count: 65536)
        func exited(_ t: ProcessResult.Termination) {
            termination = t
            if inOpen { close(fds.stdin); inOpen = false }
            stopReadingAt = clock.now + (cancelSeen ? .zero : drain)
        }
        while true {
            if termination != nil {
                if !outOpen && !errOpen { break }
                if let stop = stopReadingAt, clock.now >= stop { break }
            }
            var polled: [pollfd] = []
            if outOpen { polled.append(pollfd(fd: fds.stdout, events: Int16(POLLIN), revents: 0)) }
            if errOpen { polled.append(pollfd(fd: fds.stderr, events: Int16(POLLIN), revents: 0)) }
            if inOpen { polled.append(pollfd(fd: fds.stdin, events: Int16(POLLOUT), revents: 0)) }
            if !cancelSeen { polled.append(pollfd(fd: fds.wake, events: Int16(POLLIN), revents: 0)) }
            if termination == nil && fds.pidfd >= 0 { polled.append(pollfd(fd: fds.pidfd, events: Int16(POLLIN), revents: 0)) }
            let timeout: Int32
            if let stop = stopReadingAt {
                timeout = Int32(max(0, min(1000, milliseconds(stop - clock.now) + 1)))
            } else if fds.pidfd < 0 {
                timeout = 20
            } else {
                timeout = -1
            }
            let n = poll(&polled, nfds_t(polled.count), timeout)
            if n < 0 && errno != EINTR { break }
            for f in polled where f.revents != 0 {
                if f.fd == fds.wake {
                    cancelSeen = true
                    // The group was killed: once the child is dead, nothing more is worth reading.
                    if termination != nil { stopReadingAt = clock.now }
                    continue
                }
                if f.fd == fds.pidfd {
                    if let t = child.reapIfExited() { exited(t) }
                    continue
                }
                if f.fd == fds.stdin {
                    let count = pending.withUnsafeBytes { raw in
                        write(fds.stdin, raw.baseAddress! + written, pending.count - written)
                    }
                    if count > 0 { written += count }
                    if count < 0 && errno != EAGAIN && errno != EINTR || written >= pending.count {
                        close(fds.stdin)
                        inOpen = false
                    }
                    continue
                }
                let count = buffer.withUnsafeMutableBytes { read(f.fd, $0.baseAddress!, $0.count) }
                if count > 0 {
                    if f.fd == fds.stdout {
                        if stdout.count + count > maxOutputBytes { tooLarge = true } else { stdout.append(contentsOf: buffer[0..<count]) }
                    } else {
                        stderr.append(contentsOf: buffer[0..<count])
                        if stderr.count > 65536 { stderr = stderr.suffix(32768) }
                    }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(f.fd)
                    if f.fd == fds.stdout { outOpen = false } else { errOpen = false }
                }
            }
            if termination == nil && fds.pidfd < 0, let t = child.reapIfExited() { exited(t) }
        }
        if inOpen { close(fds.stdin) }
        if outOpen { close(fds.stdout) }
        if errOpen { close(fds.stderr) }
        let final = termination ?? child.reap()
        child.closeWake()
        close(fds.wake)
        if fds.pidfd >= 0 { close(fds.pidfd) }
        return ProcessResult(
            pid: child.pid,
            termination: final,
            stdout: stdout,
            stderr: stderr,
            outputTooLarge: tooLarge,
            killedByCancellation: child.cancelled || cancelSeen
        )
    }
}
