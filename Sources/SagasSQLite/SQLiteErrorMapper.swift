import Foundation
import GRDB
import Sagas

/// Turns GRDB and SQLite errors into one-line `SagaError`s that name the database file.
struct SQLiteErrorMapper: Sendable {
    let path: String
    let busyTimeout: Duration

    /// The file name people see in messages (the path as given).
    var name: String { path }

    /// Maps any error: a `SagaError` passes through, a `DatabaseError` becomes a storage code, and anything else a
    /// `.storageFailure`.
    func map(_ error: any Error) -> SagaError {
        if let error = error as? SagaError { return error }
        if let error = error as? DatabaseError { return map(error) }
        return SagaError(.storageFailure, "database \(name): \(error)", file: path)
    }

    func map(_ error: DatabaseError) -> SagaError {
        let detail = error.message.map { ": \($0)" } ?? ""
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return SagaError(
                .databaseLocked,
                "database \(name) is locked by another process (waited \(SQLiteErrorMapper.format(busyTimeout)))",
                file: path
            )
        case .SQLITE_READONLY:
            return readOnly()
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return corrupt()
        case .SQLITE_FULL:
            return SagaError(
                .databaseFull,
                "database \(name) is full (no space left on the disk, or its size limit reached); "
                    + "the write was not committed",
                file: path
            )
        case .SQLITE_CANTOPEN:
            return SagaError(.storageFailure, "cannot open database \(name)\(detail)", file: path)
        case .SQLITE_PERM, .SQLITE_AUTH:
            return SagaError(.databaseReadOnly, "database \(name): permission denied\(detail)", file: path)
        default:
            return SagaError(
                .storageFailure,
                "database \(name): SQLite error \(error.extendedResultCode.rawValue)\(detail)",
                file: path
            )
        }
    }

    func readOnly() -> SagaError {
        SagaError(.databaseReadOnly, "database \(name) is read-only; the write was not made", file: path)
    }

    func corrupt() -> SagaError {
        SagaError(
            .databaseCorrupt,
            "database \(name) is not a Sagas database or is corrupt; it was not modified",
            file: path
        )
    }

    /// `5s`, `0.25s`, `150ms`.
    static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds >= 1 {
            return seconds.rounded() == seconds ? "\(Int(seconds))s" : "\(seconds)s"
        }
        return "\(Int((seconds * 1000).rounded()))ms"
    }
}
