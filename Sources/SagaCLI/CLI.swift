import ArgumentParser
import Foundation
import Logging
import Sagas

/// A one-line error for the terminal, with the exit code to leave with.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}

enum CLI {
    /// Exit codes (Docs/cli.md lists them).
    enum ExitCodes {
        /// The saga did not complete (compensated, failed, needs intervention), or validation found errors.
        static let notCompleted: Int32 = 1
        /// Invalid input, workflow or argument.
        static let invalidInput: Int32 = 2
        /// No such saga or workflow.
        static let notFound: Int32 = 3
        /// The saga id exists with another workflow or input, or the saga is in a state that refuses the request.
        static let conflict: Int32 = 4
        /// The database is locked, read-only, corrupt, full, too new, or missing.
        static let storage: Int32 = 5
    }

    static func exitCode(for code: SagaError.Code) -> Int32 {
        switch code {
        case .sagaNotFound, .workflowNotFound, .webhookNotFound: ExitCodes.notFound
        case .sagaConflict, .invalidState, .leaseLost, .staleSignal: ExitCodes.conflict
        case .databaseLocked, .databaseReadOnly, .databaseCorrupt, .databaseFull, .schemaTooNew, .storageFailure,
            .databaseNotFound, .corruptJournal, .databaseUnavailable, .authenticationFailed:
            ExitCodes.storage
        default: ExitCodes.invalidInput
        }
    }

    /// Runs `body`, turning a `SagaError` into a one-line `CLIError` (diagnostics are printed compiler-style first).
    static func guarded<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SagaError {
            throw convert(error)
        }
    }

    static func guarded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SagaError {
            throw convert(error)
        }
    }

    private static func convert(_ error: SagaError) -> CLIError {
        let printed = error.diagnostics.prefix(50)
        for diagnostic in printed {
            FileHandle.standardError.write(Data("\(diagnostic)\n".utf8))
        }
        return CLIError(summary(of: error, printed: Array(printed)), exitCode: exitCode(for: error.code))
    }

    /// The error's message, without the diagnostics just printed above it: a message that quotes them
    /// (`invalid workflow FILE: FILE:2:7: error: …`) says how many there are instead, so each is printed once.
    static func summary(of error: SagaError, printed: [WorkflowDiagnostic]) -> String {
        guard let quoted = printed.lazy.map(\.description).first(where: { error.message.contains($0) }),
            let range = error.message.range(of: quoted)
        else { return error.message }
        var head = String(error.message[..<range.lowerBound])
        while head.hasSuffix(" ") || head.hasSuffix(":") { head.removeLast() }
        let errors = error.diagnostics.filter { $0.severity == .error }.count
        let warnings = error.diagnostics.count - errors
        var counts = "\(errors) error\(errors == 1 ? "" : "s")"
        if warnings > 0 { counts += " and \(warnings) warning\(warnings == 1 ? "" : "s")" }
        return "\(head): \(counts) (listed above)"
    }

    private static let bootstrapped = LockedFlag()

    /// Logs to standard error (standard output is for results).
    static func bootstrapLogging(level: Logger.Level, json: Bool = false) {
        guard bootstrapped.set() else { return }
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// Whether standard output is a terminal that wants colour.
    static var useColor: Bool {
        isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    static func printJSON(_ value: JSONValue) {
        print(value.prettyJSONString)
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    /// Sets the flag; returns whether it was unset before.
    func set() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if value { return false }
        value = true
        return true
    }
}

/// Runs an async command body, printing `CLIError`s as `error: MESSAGE` and exiting with their code.
protocol SagaSubcommand: AsyncParsableCommand {
    func execute() async throws
}

extension SagaSubcommand {
    func run() async throws {
        // `saga list | head` closes our stdout early: end quietly instead of dying of SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        do {
            try await execute()
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(error.exitCode)
        } catch let error as SagaError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(CLI.exitCode(for: error.code))
        }
    }
}

