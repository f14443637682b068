public import Foundation
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

    public init(maxOutputBytes: Int = 1 << 20, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.maxOutputBytes = maxOutputBytes
        self.environment = environment
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
        var env = environment
        if case .object(let extra) = spec["env"] ?? .null {
            for (k, v) in extra { env[k] = v.displayString }
        }
        env["SAGA_ID"] = context.sagaID
        env["SAGA_WORKFLOW"] = context.workflow
        env["SAGA_STEP"] = context.step
        env["SAGA_PHASE"] = context.phase.rawValue
        env["SAGA_ATTEMPT"] = String(context.attempt)
        env["SAGA_IDEMPOTENCY_KEY"] = context.idempotencyKey

        let stdinText = stdinValue.displayString + (stdinValue.stringValue == nil ? "\n" : "")
        let result: ProcessResult
        do {
            result = try await ChildProcess.run(
                argv: argv,
                environment: env,
                directory: directory,
                stdin: Data(stdinText.utf8),
                maxOutputBytes: maxOutputBytes
            )
        } catch let error as ChildProcess.SpawnError {
            // Nothing ran: a definite failure. A missing or non-executable program will not fix itself.
            return .failure(.permanent("saga \(context.sagaID), step \(context.step): cannot run \(argv[0]): \(error.message)"))
        } catch {
            return .failure(.retryable("\(error)"))
        }
        if result.killedByCancellation {
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
        }
    }
}

struct ProcessResult: Sendable {
    enum Termination: Sendable { case exited(Int32), signaled(Int32) }
    var pid: Int32
    var termination: Termination
    var stdout: Data
    var stderr: Data
    var outputTooLarge: Bool
    var killedByCancellation: Bool
}

/// A child process in its own process group, read on a thread of its own so that no cooperative thread blocks.
enum ChildProcess {
    struct SpawnError: Error { var message: String }

    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), which its Swift module map does not export.
    static let addchdir: AddChdir? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
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

    static func run(
        argv: [String],
        environment: [String: String],
        directory: String,
        stdin: Data,
        maxOutputBytes: Int
    ) async throws -> ProcessResult {
        var inPipe: [Int32] = [0, 0]
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0 else { throw SpawnError(message: "pipe failed: \(String(cString: strerror(errno)))") }
        guard pipe(&outPipe) == 0 else {
            close(inPipe[0]); close(inPipe[1])
            throw SpawnError(message: "pipe failed: \(String(cString: strerror(errno)))")
        }
        guard pipe(&errPipe) == 0 else {
            close(inPipe[0]); close(inPipe[1]); close(outPipe[0]); close(outPipe[1])
            throw SpawnError(message: "pipe failed: \(String(cString: strerror(errno)))")
        }
        // The parent's ends must not leak into other children spawned concurrently.
        for fd in [inPipe[1], outPipe[0], errPipe[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        guard let addchdir = ChildProcess.addchdir else {
            close(inPipe[0]); close(inPipe[1]); close(outPipe[0]); close(outPipe[1]); close(errPipe[0]); close(errPipe[1])
            throw SpawnError(message: "this C library cannot set a child's working directory")
        }
        _ = addchdir(&actions, directory)

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
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        if spawnStatus != 0 {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw SpawnError(message: String(cString: strerror(spawnStatus)))
        }
        let child = pid
        let cancelled = Atomic<Bool>(false)
        let (stdinFD, stdoutFD, stderrFD) = (inPipe[1], outPipe[0], errPipe[0])
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ProcessResult, Never>) in
                let thread = Thread {
                    let result = pump(
                        pid: child,
                        stdinFD: stdinFD,
                        stdoutFD: stdoutFD,
                        stderrFD: stderrFD,
                        stdin: stdin,
                        maxOutputBytes: maxOutputBytes
                    )
                    var r = result
                    r.killedByCancellation = cancelled.load(ordering: .acquiring)
                    continuation.resume(returning: r)
                }
                thread.start()
            }
        } onCancel: {
            cancelled.store(true, ordering: .releasing)
            kill(-child, SIGKILL)
            kill(child, SIGKILL)
        }
    }

    private static func resolve(_ name: String, _ environment: [String: String]) -> String {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return name
    }

    /// Writes stdin, reads stdout and stderr until both close, then reaps the child. Runs on its own thread.
    private static func pump(
        pid: pid_t,
        stdinFD: Int32,
        stdoutFD: Int32,
        stderrFD: Int32,
        stdin: Data,
        maxOutputBytes: Int
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
        var pending = [UInt8](stdin)
        var written = 0
        var inOpen = true
        _ = fcntl(stdinFD, F_SETFL, fcntl(stdinFD, F_GETFL) | O_NONBLOCK)
        if pending.isEmpty { close(stdinFD); inOpen = false }
        var outOpen = true
        var errOpen = true
        var buffer = [UInt8](repeating: 0, count: 65536)
        while outOpen || errOpen {
            var fds: [pollfd] = []
            if outOpen { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if errOpen { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            if inOpen { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), 1000)
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            for f in fds where f.revents != 0 {
                if f.fd == stdinFD {
                    let count = pending.withUnsafeBytes { raw in
                        write(stdinFD, raw.baseAddress! + written, pending.count - written)
                    }
                    if count > 0 { written += count }
                    if count < 0 && errno != EAGAIN && errno != EINTR || written >= pending.count {
                        close(stdinFD)
                        inOpen = false
                    }
                    continue
                }
                let count = buffer.withUnsafeMutableBytes { read(f.fd, $0.baseAddress!, $0.count) }
                if count > 0 {
                    if f.fd == stdoutFD {
                        if stdout.count + count > maxOutputBytes { tooLarge = true } else { stdout.append(contentsOf: buffer[0..<count]) }
                    } else {
                        stderr.append(contentsOf: buffer[0..<count])
                        if stderr.count > 65536 { stderr = stderr.suffix(32768) }
                    }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(f.fd)
                    if f.fd == stdoutFD { outOpen = false } else { errOpen = false }
                }
            }
        }
        if inOpen { close(stdinFD) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let termination: ProcessResult.Termination
        if status & 0x7f == 0 {
            termination = .exited((status >> 8) & 0xff)
        } else {
            termination = .signaled(status & 0x7f)
        }
        return ProcessResult(
            pid: pid,
            termination: termination,
            stdout: stdout,
            stderr: stderr,
            outputTooLarge: tooLarge,
            killedByCancellation: false
        )
    }
}
