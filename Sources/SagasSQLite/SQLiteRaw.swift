import GRDB
import GRDBSQLite

/// The journal's hot statements, bound and stepped through the SQLite C API on statements GRDB prepared and
/// caches: per step, GRDB's argument arrays and hooks cost more than SQLite's own work. Errors become GRDB's
/// `DatabaseError`, which `SQLiteErrorMapper` maps like any other.
struct SQLiteRaw {
    private let statement: OpaquePointer
    private let connection: OpaquePointer
    private let sql: String

    /// The cached statement for `sql` on `db`, reset and with no bindings.
    init(_ db: Database, _ sql: String) throws {
        let cached = try db.cachedStatement(sql: sql)
        statement = cached.sqliteStatement
        connection = db.sqliteConnection!
        self.sql = sql
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    /// Runs a statement with no parameters and no rows (`BEGIN IMMEDIATE`, `COMMIT`).
    static func execute(_ db: Database, _ sql: String) throws {
        let raw = try SQLiteRaw(db, sql)
        defer { raw.reset() }
        _ = try raw.step()
    }

    func bind(_ index: Int32, _ value: String?) throws {
        guard var text = value else {
            try check(sqlite3_bind_null(statement, index))
            return
        }
        let code = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                // SQLITE_TRANSIENT: SQLite copies the bytes before the call returns. A length past Int32 is refused
                // by SQLite itself (SQLITE_TOOBIG), through the 64-bit call.
                sqlite3_bind_text64(
                    statement, index, chars.baseAddress, sqlite3_uint64(chars.count), sqliteTransient, UInt8(SQLITE_UTF8)
                )
            }
        }
        try check(code)
    }

    func bind(_ index: Int32, _ value: Int64?) throws {
        guard let value else {
            try check(sqlite3_bind_null(statement, index))
            return
        }
        try check(sqlite3_bind_int64(statement, index, value))
    }

    func bind(_ index: Int32, _ value: Int) throws {
        try check(sqlite3_bind_int64(statement, index, Int64(value)))
    }

    /// A bind that failed (a value too big, an index out of range) fails the write rather than store NULL.
    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else {
            let message = sqlite3_errmsg(connection).map { String(cString: $0) }
            reset()
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
        }
    }

    /// Steps once: `true` when a row is ready to read.
    func step() throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            let message = sqlite3_errmsg(connection).map { String(cString: $0) }
            reset()
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
        }
    }

    /// Steps to the end (a statement that returns no rows).
    func run() throws {
        defer { reset() }
        while try step() {}
    }

    func text(_ column: Int32) -> String? {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL, let bytes = sqlite3_column_text(statement, column)
        else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(statement, column)
    }

    /// Ends the statement's run, so that it holds nothing between uses.
    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    /// Rows changed by the last statement on the connection.
    var changes: Int { Int(sqlite3_changes(connection)) }
}

/// `SQLITE_TRANSIENT`: SQLite copies the bound value before the bind returns.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
