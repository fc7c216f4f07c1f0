import CSQLite
import Foundation

/// A value bound to a statement's parameter or read from one of its result columns.
enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    /// The value as a number (an INTEGER or REAL column), nil for anything else.
    var double: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .real(let value): value
        default: nil
        }
    }

    /// The bytes of a BLOB column, nil for anything else.
    var data: Data? {
        if case .blob(let value) = self { return value }
        return nil
    }
}

/// A failed SQLite call: the extended result code and what the connection said.
struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The extended result code (`sqlite3_extended_errcode`); its low byte is the primary code.
    let code: Int32
    /// `sqlite3_errmsg`, with the `errno` behind it when there is one (`sqlite3_system_errno`).
    let message: String

    /// Another connection held the lock for longer than the busy timeout (`SQLITE_BUSY`, `SQLITE_LOCKED`).
    var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }
    /// The file is damaged or is not a database at all (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
    var isCorrupt: Bool { code & 0xFF == SQLITE_CORRUPT || code & 0xFF == SQLITE_NOTADB }

    var description: String { "\(message) (SQLite code \(code))" }
}

/// One SQLite connection (`sqlite3 *`) with its prepared statements: every sqlite3 call the proxy makes.
///
/// Opened with `SQLITE_OPEN_NOMUTEX`, so it is not thread-safe: its owner serialises every call
/// (`SQLiteStore` holds a lock). Statements are prepared once per connection and cached by their SQL.
/// `close()`, or the last reference going away, finalizes them and closes the connection.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]

    /// `SQLITE_TRANSIENT`, a macro that does not import: SQLite copies bound text and blobs at once.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Opens the database at `path` for reading and writing, creating the file if it is missing
    /// (`sqlite3_open_v2` with `SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX`), and
    /// sets how long a locked database is retried (`sqlite3_busy_timeout`).
    ///
    /// - Parameters:
    ///   - path: the database file.
    ///   - busyTimeout: seconds to keep retrying a lock held by another connection, clamped to 0...86400.
    /// - Throws: `SQLiteError`, typically `SQLITE_CANTOPEN` for a missing folder, a path through a file, or
    ///   a directory. SQLite reads nothing yet, so a damaged file shows at the first statement.
    init(path: String, busyTimeout: Double) throws(SQLiteError) {
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            let error = opened.map { Self.error(status, $0) } ?? SQLiteError(code: status, message: "out of memory")
            sqlite3_close_v2(opened)
            throw error
        }
        handle = opened
        setBusyTimeout(busyTimeout)
    }

    deinit {
        close()
    }

    /// Finalizes the cached statements (`sqlite3_finalize`) and closes the connection (`sqlite3_close_v2`).
    ///
    /// Safe to call twice; every later call fails with `SQLITE_MISUSE`.
    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements = [:]
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Sets how long a lock held by another connection is retried before a call fails with `SQLITE_BUSY`
    /// (`sqlite3_busy_timeout`).
    ///
    /// - Parameter seconds: clamped to 0...86400; 0 fails at once.
    func setBusyTimeout(_ seconds: Double) {
        guard let handle else { return }
        let clamped = seconds.isNaN ? 0 : min(max(seconds, 0), 86_400)
        sqlite3_busy_timeout(handle, Int32((clamped * 1000).rounded()))
    }

    /// Runs a script of statements that return nothing, such as pragmas and schema (`sqlite3_exec`).
    ///
    /// - Throws: `SQLiteError` from the first statement that fails; the rest do not run.
    func execute(script: String) throws(SQLiteError) {
        let handle = try openHandle()
        let status = sqlite3_exec(handle, script, nil, nil, nil)
        guard status == SQLITE_OK else { throw Self.error(status, handle) }
    }

    /// Runs one statement to its end and returns its rows.
    ///
    /// The statement is prepared once and cached (`sqlite3_prepare_v3` with `SQLITE_PREPARE_PERSISTENT`),
    /// its parameters bound in order (`sqlite3_bind_*`, copying text and blobs), stepped until done
    /// (`sqlite3_step`, rows read with `sqlite3_column_*`), then reset for its next use (`sqlite3_reset`,
    /// `sqlite3_clear_bindings`).
    ///
    /// - Parameters:
    ///   - sql: one statement; `?1`, `?2`... take `parameters`.
    ///   - parameters: the values of the statement's parameters, in order.
    /// - Returns: each row's columns, in order.
    /// - Throws: `SQLiteError` from preparing (a damaged schema shows here), binding or stepping.
    @discardableResult
    func run(_ sql: String, _ parameters: [SQLiteValue] = []) throws(SQLiteError) -> [[SQLiteValue]] {
        let handle = try openHandle()
        let statement = try prepared(sql, handle)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, value) in parameters.enumerated() {
            let status = Self.bind(value, to: statement, at: Int32(offset + 1))
            guard status == SQLITE_OK else { throw Self.error(status, handle) }
        }
        var rows: [[SQLiteValue]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return rows }
            guard status == SQLITE_ROW else { throw Self.error(status, handle) }
            rows.append((0..<sqlite3_column_count(statement)).map { Self.column(statement, $0) })
        }
    }

    /// Runs `body` in a transaction that takes the write lock at once (`BEGIN IMMEDIATE`) and commits it;
    /// rolls back if `body` or the commit fails.
    ///
    /// A deferred transaction that reads and then writes gets `SQLITE_BUSY` at once when another
    /// connection wrote in between, ignoring the busy timeout; `BEGIN IMMEDIATE` waits for the lock instead.
    func immediateTransaction<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try run("BEGIN IMMEDIATE")
        do throws(SQLiteError) {
            let result = try body()
            try run("COMMIT")
            return result
        } catch {
            rollback()
            throw error
        }
    }

    /// Ends the open transaction, if any, discarding its changes (`ROLLBACK` when `sqlite3_get_autocommit`
    /// says one is open: SQLite has already rolled back after some errors).
    func rollback() {
        guard let handle, sqlite3_get_autocommit(handle) == 0 else { return }
        _ = try? run("ROLLBACK")
    }

    /// Whether the database file was renamed or deleted since this connection opened it
    /// (`sqlite3_file_control` with `SQLITE_FCNTL_HAS_MOVED`, one `stat`); true once closed.
    var hasMoved: Bool {
        guard let handle else { return true }
        var moved: Int32 = 0
        let status = sqlite3_file_control(handle, "main", SQLITE_FCNTL_HAS_MOVED, &moved)
        return status == SQLITE_OK && moved != 0
    }

    // MARK: Internals

    private func openHandle() throws(SQLiteError) -> OpaquePointer {
        guard let handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "connection closed") }
        return handle
    }

    private func prepared(_ sql: String, _ handle: OpaquePointer) throws(SQLiteError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw Self.error(status == SQLITE_OK ? SQLITE_MISUSE : status, handle)
        }
        statements[sql] = statement
        return statement
    }

    private static func bind(_ value: SQLiteValue, to statement: OpaquePointer, at index: Int32) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(statement, index)
        case .integer(let number):
            return sqlite3_bind_int64(statement, index, number)
        case .real(let number):
            return sqlite3_bind_double(statement, index, number)
        case .text(let text):
            let length = UInt64(text.utf8.count)
            return text.withCString {
                sqlite3_bind_text64(statement, index, $0, length, transient, UInt8(SQLITE_UTF8))
            }
        case .blob(let bytes):
            // An empty buffer may have no address, and a null pointer would bind NULL, not an empty blob.
            guard !bytes.isEmpty else { return sqlite3_bind_zeroblob(statement, index, 0) }
            return bytes.withUnsafeBytes {
                sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), transient)
            }
        }
    }

    private static func column(_ statement: OpaquePointer, _ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            // Pointer first, then length: the order SQLite documents for a value it may convert.
            let text = sqlite3_column_text(statement, index)
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let text else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let bytes = sqlite3_column_blob(statement, index)
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let bytes else { return .blob(Data()) }
            return .blob(Data(bytes: bytes, count: count))
        default:
            return .null
        }
    }

    /// The connection's error for a failed call that returned `status`.
    private static func error(_ status: Int32, _ handle: OpaquePointer) -> SQLiteError {
        var message = String(cString: sqlite3_errmsg(handle))
        // The errno is only meaningful for a failed open, read or write; otherwise it may be a stale one.
        let systemErrno = sqlite3_system_errno(handle)
        if systemErrno != 0 && (status & 0xFF == SQLITE_CANTOPEN || status & 0xFF == SQLITE_IOERR) {
            message += " (\(SystemError("errno \(systemErrno)", systemErrno)))"
        }
        let extended = sqlite3_extended_errcode(handle)
        return SQLiteError(code: extended & 0xFF == status & 0xFF ? extended : status, message: message)
    }
}
