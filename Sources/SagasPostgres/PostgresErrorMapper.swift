import Foundation
import NIOCore
import PostgresNIO
import Sagas

/// Turns postgres-nio errors into one-line `SagaError`s that name the database by its URL without the password.
struct PostgresErrorMapper: Sendable {
    /// `postgres://user@host:port/database`: never the password.
    let name: String
    let username: String

    init(configuration: PostgresStoreConfiguration) {
        name = configuration.redactedURL
        username = configuration.username
    }

    /// SQLSTATEs after which the same statement may simply be run again: serialization failure, deadlock.
    static let retryableStates: Set<String> = ["40001", "40P01"]

    /// Whether `error` is a serialization failure or a deadlock, which a new attempt resolves.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return retryableStates.contains(state)
    }

    /// Maps any error: a `SagaError` passes through, a `PSQLError` becomes a storage code, anything else a
    /// `.storageFailure` (or `.databaseUnavailable` for a channel error: the connection broke).
    func map(_ error: any Error) -> SagaError {
        if let error = error as? SagaError { return error }
        if let error = error as? PSQLError { return map(error) }
        if error is ChannelError || error is IOError {
            return SagaError(.databaseUnavailable, "database \(name) is unreachable: \(error)", file: name)
        }
        return SagaError(.storageFailure, "database \(name): \(type(of: error))", file: name)
    }

    func map(_ error: PSQLError) -> SagaError {
        switch error.code {
        case .server:
            return mapServer(error)
        case .connectionError:
            let cause = error.underlying.map(Self.describe) ?? "connection failed"
            return SagaError(.databaseUnavailable, "cannot connect to database \(name): \(cause)", file: name)
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return SagaError(
                .databaseUnavailable,
                "database \(name): the connection closed (\(error.code)); the write may not have been made",
                file: name
            )
        case .sslUnsupported:
            return SagaError(
                .databaseUnavailable,
                "database \(name) does not support TLS, and the URL asks for it (sslmode)",
                file: name
            )
        case .authMechanismRequiresPassword:
            return SagaError(
                .authenticationFailed,
                "database \(name) asks user \(username) for a password: put it in the URL, in PGPASSWORD, "
                    + "or in the password file (PGPASSFILE, else ~/.pgpass)",
                file: name
            )
        case .unsupportedAuthMechanism, .saslError:
            return SagaError(
                .authenticationFailed,
                "database \(name): authentication of user \(username) failed (\(error.code))",
                file: name
            )
        case .queryCancelled:
            return SagaError(.databaseUnavailable, "database \(name): the statement was cancelled", file: name)
        default:
            return SagaError(.storageFailure, "database \(name): \(error.code)", file: name)
        }
    }

    private func mapServer(_ error: PSQLError) -> SagaError {
        let state = error.serverInfo?[.sqlState] ?? ""
        // The server's own message: it names objects, never a password.
        let message = error.serverInfo?[.message] ?? "error \(state)"
        switch state {
        case "28P01", "28000":
            return SagaError(
                .authenticationFailed,
                "database \(name): authentication of user \(username) failed (wrong password, or no such user)",
                file: name
            )
        case "3D000":
            return SagaError(.databaseNotFound, "database \(name) does not exist: \(message)", file: name)
        case "25006", "42501":
            return SagaError(.databaseReadOnly, "database \(name): \(message); the write was not made", file: name)
        case "53100":
            return SagaError(
                .databaseFull,
                "database \(name) is full (no space left on the server's disk); the write was not committed",
                file: name
            )
        case PostgresSchema.keyBusyState:
            return SagaError(.keyBusy, message)
        case "55P03", "57014":
            return SagaError(.databaseLocked, "database \(name): \(message)", file: name)
        default:
            if state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53") {
                return SagaError(.databaseUnavailable, "database \(name) is unavailable: \(message)", file: name)
            }
            return SagaError(.storageFailure, "database \(name): \(message) (SQLSTATE \(state))", file: name)
        }
    }

    /// A connection error's cause, in words: `connection refused`, `no such host`.
    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ETIMEDOUT: return "timed out"
            case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
            default: return "\(error)"
            }
        }
        let text = "\(error)"
        if text.contains("connectTimeout") || text.contains("timeout") { return "timed out" }
        if text.lowercased().contains("refused") { return "connection refused" }
        return text
    }
}
