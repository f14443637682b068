import Foundation
import Logging
import Sagas
import SagasCommand
import SagasTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `CommandExecutor` on real processes: descriptors, outcomes, timeouts, arguments (issue 14, items 6, 7 and 12).
@Suite(.timeLimit(.minutes(1)))
struct CommandExecutorTests {
    typealias S = TestSupport

    static func context(_ sagaID: String = "s-cmd", step: String = "st", timeout: Duration = .seconds(30)) -> StepContext {
        StepContext(
            sagaID: sagaID, workflow: "wf", step: step, phase: .action, attempt: 1,
            idempotencyKey: "\(sagaID)/\(step)/action", input: .null, outputs: [:], baseDirectory: nil,
            timeout: timeout, logger: S.logger
        )
    }

    static func sh(_ script: String) -> JSONValue {
        ["argv": .array(["/bin/sh", "-c", .string(script)])]
    }

    static func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("saga-cmd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The pid a test script wrote to `path`, once it is there.
    static func pid(in path: String) async throws -> pid_t {
        for _ in 0..<1000 {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return pid
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw StepFailure("no pid appeared in \(path)")
    }

    static func alive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    /// Each line `FD pipe:[INODE]` for the pipes the shell itself holds.
    static let listPipes = #"sleep 0.3; for f in /proc/$$/fd/*; do l=$(readlink "$f") && case "$l" in pipe:*) echo "${f##*/} $l";; esac; done"#

    // MARK: Item 6: pipes

    @Test func aChildHoldsOnlyItsOwnThreePipeEndsEvenBesideSiblings() async throws {
        let executor = CommandExecutor(environment: ["PATH": "/usr/bin:/bin"])
        // Ten started together: none may inherit a sibling's pipes, nor keep its own after they became 0, 1 and 2.
        let outcomes = await withTaskGroup(of: StepOutcome.self) { group in
            for i in 0..<10 {
                group.addTask { await executor.execute(spec: Self.sh(Self.listPipes), context: Self.context("s-pipes-\(i)")) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        var tables: [[(fd: Int, pipe: String)]] = []
        for outcome in outcomes {
            guard case .success(.string(let text)) = outcome else {
                Issue.record("unexpected outcome \(outcome)")
                continue
            }
            tables.append(text.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ")
                guard parts.count == 2, let fd = Int(parts[0]) else { return nil }
                return (fd, String(parts[1]))
            })
        }
        #expect(tables.count == 10)
        let own = tables.map { Set($0.filter { $0.fd <= 2 }.map(\.pipe)) }
        for (i, table) in tables.enumerated() {
            #expect(table.filter { $0.fd <= 2 }.count == 3, "stdin, stdout and stderr are pipes: \(table)")
            for entry in table where entry.fd > 2 {
                #expect(!own[i].contains(entry.pipe), "child \(i) kept its own pipe end at fd \(entry.fd): \(table)")
                for (j, other) in own.enumerated() where j != i {
                    #expect(!other.contains(entry.pipe), "child \(i) holds child \(j)'s pipe at fd \(entry.fd)")
                }
            }
        }
    }

    @Test func aBackgroundProcessHoldingTheOutputDoesNotTurnSuccessIntoUnknown() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let engine = S.engine(environment: ["PATH": "/usr/bin:/bin"])
        engine.register(executor: CommandExecutor(environment: ["PATH": "/usr/bin:/bin"]), for: .command)
        // `sleep 600 &` keeps stdout and stderr open long after the command itself exited 0.
        let step = SagaStep(
            name: "fast",
            action: .command(["/bin/sh", "-c", "sleep 600 & echo $! > \(folder)/bg.pid; echo done"]),
            retry: S.fastRetry(1),
            timeout: .seconds(5)
        )
        let record = try await engine.execute(S.definition([step]), input: [:], id: "bg-1")
        let background = try await Self.pid(in: "\(folder)/bg.pid")
        defer { kill(background, SIGKILL) }
        let events = try await engine.store.events(sagaID: "bg-1")
        #expect(record.status == .completed, "\(events.map { "\($0.type.rawValue) \($0.error ?? "")" })")
        #expect(events.first { $0.type == .stepSucceeded }?.output == "done")
        #expect(!events.contains { $0.type == .stepUnknown })
    }

    // MARK: Item 7: timeouts against detached descendants

    @Test func aTimeoutEndsTheAttemptWhateverADetachedGrandchildHolds() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let engine = S.engine(environment: ["PATH": "/usr/bin:/bin"])
        engine.register(executor: CommandExecutor(environment: ["PATH": "/usr/bin:/bin"]), for: .command)
        // 3 s, not 1: on a loaded machine the grandchild may not have written its pid within a second.
        // The grandchild leaves the process group (setsid) and keeps stdout; the child itself hangs.
        let script = #"setsid sh -c 'echo $$ > "$0/detached.pid"; exec sleep 600' "\#(folder)" & sleep 600"#
        let step = SagaStep(
            name: "hangs",
            action: .command(["/bin/sh", "-c", script]),
            retry: S.fastRetry(1),
            timeout: .seconds(3)
        )
        let record = try await engine.execute(S.definition([step]), input: [:], id: "detached-1")
        let detached = try await Self.pid(in: "\(folder)/detached.pid")
        defer { kill(detached, SIGKILL) }
        let events = try await engine.store.events(sagaID: "detached-1")
        #expect(!record.status.isRunnable)
        #expect(events.first { $0.type == .stepUnknown }?.error == "timed out after 3s")
        // It carried the attempt's mark, so the timeout ended it too, before the outcome was journaled.
        #expect(!Self.alive(detached), "the detached grandchild outlived the attempt's timeout")
    }

    // MARK: Item 12: NUL bytes

    @Test func aNULByteInAnArgumentIsAPermanentFailureNamingSagaStepAndArgument() async throws {
        let executor = CommandExecutor(environment: ["PATH": "/usr/bin:/bin"])
        let outcome = await executor.execute(
            spec: ["argv": ["/bin/echo", "/etc/passwd\u{0}.txt"]],
            context: Self.context("s-nul", step: "read-file")
        )
        #expect(outcome == .failure(.permanent(
            "saga s-nul, step read-file: argv[1] contains a NUL byte, which would cut it short; the command was not run"
        )))
    }

    @Test func aNULByteInAnEnvironmentValueOrNameIsAPermanentFailure() async throws {
        let executor = CommandExecutor(environment: ["PATH": "/usr/bin:/bin"])
        let value = await executor.execute(
            spec: ["argv": ["/bin/true"], "env": ["TOKEN": "abc\u{0}def"]],
            context: Self.context("s-nul-env", step: "st")
        )
        #expect(value == .failure(.permanent(
            "saga s-nul-env, step st: env TOKEN contains a NUL byte, which would cut it short; the command was not run"
        )))
        let name = await executor.execute(
            spec: ["argv": ["/bin/true"], "env": ["A=B": "x"]],
            context: Self.context("s-nul-env", step: "st")
        )
        guard case .failure(let failure) = name else {
            Issue.record("expected a failure, got \(name)")
            return
        }
        #expect(!failure.retryable)
        #expect(failure.message.hasPrefix("saga s-nul-env, step st: env has an unusable variable name \"A=B\""))
    }

    // MARK: Bounded shutdown

    @Test func shutdownAbandonsAttemptsStillRunningAfterTheGrace() async throws {
        let engine = SagaEngine(
            store: MemorySagaStore(),
            configuration: .init(
                workerID: "test:1:1", leaseDuration: .seconds(30), concurrency: 2, pollInterval: .milliseconds(10),
                environment: [:], shutdownGrace: .milliseconds(200)
            ),
            logger: S.logger
        )
        let started = TestSignal()
        engine.register(handler: "a") { _ in
            started.fire()
            try await Task.sleep(for: .seconds(600))
            return nil
        }
        let definition = S.definition([S.step("a", after: [], compensation: false, retry: S.fastRetry(3))])
        try await engine.start(definition, input: [:], id: "grace-1")
        let worker = Task { try await engine.runUntilIdle() }
        await started.wait()
        engine.beginShutdown()
        try await worker.value
        let events = try await engine.store.events(sagaID: "grace-1")
        let unknown = events.first { $0.type == .stepUnknown }
        #expect(unknown?.error == "interrupted: the worker shut down and stopped attempt 1 after a grace of 200ms")
        let record = try await engine.store.saga(id: "grace-1")
        #expect(record?.owner == nil, "the lease is released")
        #expect(record?.status.isRunnable == true, "the next worker settles it")
    }
}
