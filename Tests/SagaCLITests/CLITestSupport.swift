import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The package's root folder, derived from this file's path (`Tests/SagaCLITests/CLITestSupport.swift`).
let cliPackageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What one run of `saga` left: its exit code and output.
struct SagaResult: Sendable, CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Standard output parsed as JSON (`--json`).
    func json() throws -> JSONValue {
        do {
            return try JSONValue(parsing: stdout)
        } catch {
            throw CLITestError("stdout is not JSON (\(error.message)): \(stdout)\nstderr: \(stderr)")
        }
    }

    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// A `saga` process running in the background (a worker).
final class SagaProcess: @unchecked Sendable {
    let process: Process
    let stdoutPath: String
    let stderrPath: String

    init(process: Process, stdoutPath: String, stderrPath: String) {
        self.process = process
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit; returns its exit code, or nil (after killing it) when `timeout` passed first.
    @discardableResult
    func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    var terminatedBySignal: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

/// A temporary folder with a database, a scratch folder for the step scripts and a workflows folder, and a way to
/// run the built `saga` binary against them. The folder is removed when the sandbox is released.
final class CLISandbox: @unchecked Sendable {
    let root: String
    /// `SAGA_DB`.
    let database: String
    /// `SAGA_SCRATCH`: where the example scripts (and the test scripts) write.
    let scratch: String
    /// Custom workflows written by ``writeWorkflow(_:_:)`` and ``writeScript(_:_:)``.
    let customWorkflows: String
    /// `SAGA_WORKFLOWS`: the package's `Workflows` folder until a custom workflow is written.
    var workflows: String
    /// When set, `SAGA_DB` is this (a `postgres://` URL) instead of ``database``.
    var databaseURL: String?
    private let lock = NSLock()
    private var outputCounter = 0

    static var binary: String { "\(cliPackageRoot)/.build/debug/saga" }

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw CLITestError("the saga binary is missing at \(Self.binary): run `swift build` first")
        }
        root = FileManager.default.temporaryDirectory.appendingPathComponent("saga-cli-\(UUID().uuidString)").path
        database = "\(root)/saga.db"
        scratch = "\(root)/scratch"
        customWorkflows = "\(root)/workflows"
        workflows = "\(cliPackageRoot)/Workflows"
        for dir in [root, scratch, customWorkflows, "\(customWorkflows)/scripts"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["SAGA_DB"] = databaseURL ?? database
        env["SAGA_SCRATCH"] = scratch
        env["SAGA_WORKFLOWS"] = workflows
        env["NO_COLOR"] = "1"
        return env
    }

    private func nextOutputPaths() -> (String, String) {
        lock.lock()
        defer { lock.unlock() }
        outputCounter += 1
        return ("\(root)/out-\(outputCounter).txt", "\(root)/err-\(outputCounter).txt")
    }

    /// Starts `saga ARGUMENTS` with output going to files (so that a full pipe never blocks it).
    func start(_ arguments: [String], stdin: String? = nil, environment extra: [String: String] = [:]) throws -> SagaProcess {
        let (outPath, errPath) = nextOutputPaths()
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        process.environment = environment.merging(extra) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        if let stdin {
            let pipe = Pipe()
            process.standardInput = pipe
            try process.run()
            pipe.fileHandleForWriting.write(Data(stdin.utf8))
            try pipe.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        return SagaProcess(process: process, stdoutPath: outPath, stderrPath: errPath)
    }

    /// Runs `saga ARGUMENTS` to the end (killing it after `timeout`) and returns its exit code and output.
    @discardableResult
    func run(
        _ arguments: [String],
        stdin: String? = nil,
        environment extra: [String: String] = [:],
        timeout: TimeInterval = 60
    ) throws -> SagaResult {
        let process = try start(arguments, stdin: stdin, environment: extra)
        guard let status = process.wait(timeout: timeout) else {
            throw CLITestError("saga \(arguments.joined(separator: " ")) did not finish within \(timeout)s: \(process.stderr)")
        }
        return SagaResult(status: status, stdout: process.stdout, stderr: process.stderr)
    }

    /// Runs `saga worker --until-idle ARGUMENTS` and checks that it ended well.
    ///
    @discardableResult
    func workUntilIdle(_ arguments: [String] = [], timeout: TimeInterval = 60, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> SagaResult {
        let result = try run(["worker", "--until-idle"] + arguments, timeout: timeout)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        return result
    }

    /// `saga show ID --json`, parsed.
    func show(_ id: String) throws -> JSONValue {
        let result = try run(["show", id, "--json"])
        guard result.status == 0 else { throw CLITestError("saga show \(id) failed: \(result)") }
        return try result.json()
    }

    /// `saga submit ARGUMENTS`: the id it printed.
    func submit(_ arguments: [String]) throws -> String {
        let result = try run(["submit"] + arguments)
        guard result.status == 0 else { throw CLITestError("saga submit failed: \(result)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes an executable `sh` script into the custom workflows' `scripts` folder; returns its relative path.
    ///
    /// Unless `readsStdin` is false, the script first reads its standard input into `$saga_stdin` (a script that
    /// exits without reading it makes the CLI die of SIGPIPE: see `CLICommandActionTests.aStepThatIgnoresStdin`).
    @discardableResult
    func writeScript(_ name: String, readsStdin: Bool = true, _ body: String) throws -> String {
        let path = "\(customWorkflows)/scripts/\(name)"
        let prologue = readsStdin ? "saga_stdin=$(cat)\n" : ""
        try Data("#!/bin/sh\n\(prologue)\(body)\n".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return "./scripts/\(name)"
    }

    /// Writes `NAME.json` into the custom workflows folder and makes it the workflows folder; returns its path.
    @discardableResult
    func writeWorkflow(_ name: String, _ json: String) throws -> String {
        let path = "\(customWorkflows)/\(name).json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        lock.lock()
        workflows = customWorkflows
        lock.unlock()
        return path
    }

    func scratchFile(_ name: String) -> String { "\(scratch)/\(name)" }

    func readScratch(_ name: String) -> String? { try? String(contentsOfFile: scratchFile(name), encoding: .utf8) }
}

/// A workflow of `command` steps. Each step is `(name, argv, extra)` where `extra` holds more members of the step
/// object as JSON text (such as `"kind": "readonly"` or `"compensation": {…}`).
func commandWorkflow(
    _ name: String,
    defaults: String = #"{"retry": {"maxAttempts": 3, "initialInterval": "10ms", "maxInterval": "50ms"}, "timeout": "10s"}"#,
    steps: [(name: String, argv: [String], extra: String)]
) -> String {
    func quote(_ s: String) -> String { JSONValue.string(s).jsonString }
    let stepsJSON = steps.map { step in
        let argv = "[" + step.argv.map(quote).joined(separator: ", ") + "]"
        let extra = step.extra.isEmpty ? "" : ", \(step.extra)"
        return #"{"name": \#(quote(step.name)), "action": {"command": {"argv": \#(argv)}}\#(extra)}"#
    }
    return """
        {"name": \(quote(name)), "version": 1, "defaults": \(defaults),
         "steps": [\(stepsJSON.joined(separator: ",\n  "))]}
        """
}

/// Polls `condition` every 50ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() > deadline { return false }
        usleep(50_000)
    }
}

/// Whether a process with this id exists and is not a zombie (an unreaped zombie has already been killed).
func processIsAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    // The state follows the command name in parentheses: "PID (COMM) S …".
    guard let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state != "Z" && state != "X"
}

extension JSONValue {
    /// The `events` of a `show --json` object.
    var events: [JSONValue] { self["events"]?.arrayValue ?? [] }
    /// The `steps` of a `show --json` object.
    var steps: [JSONValue] { self["steps"]?.arrayValue ?? [] }
    /// The event types, in order.
    var eventTypes: [String] { events.compactMap { $0["type"]?.stringValue } }
    /// The step of this name in a `show --json` object.
    func step(_ name: String) -> JSONValue? { steps.first { $0["name"]?.stringValue == name } }
    /// Events of this type, in order.
    func events(_ type: String) -> [JSONValue] { events.filter { $0["type"]?.stringValue == type } }
}
