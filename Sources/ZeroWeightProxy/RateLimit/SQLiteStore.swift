import Foundation

/// State in one SQLite file shared by every CGI and FastCGI process on the host.
///
/// Each store has one connection, guarded by a lock because FastCGI threads share the store; other
/// processes have their own connections and SQLite's file locks keep them apart. The file is in WAL mode
/// (readers never wait for the writer; WAL needs a local filesystem) with `synchronous=NORMAL` (a power
/// cut may lose the last decisions, never the file). Each decision is one `BEGIN IMMEDIATE` transaction
/// that reads the key's TAT, applies `GCRA.decide` at the wall clock (the processes share the host
/// clock) and writes the new TAT back, so concurrent processes never overshoot the limit.
///
/// Faults come back as `StoreError`, never a crash or a wait past the busy timeout: a lock held past it
/// is `.timeout`; a file that cannot be opened or written (missing folder, a directory, read-only) is
/// `.unavailable`; a damaged file is moved aside to `<path>.corrupt-<unix time>`, replaced by a fresh
/// database and the operation retried once, and only if that fails too is it `.corrupt`.
public final class SQLiteStore: RateLimitStore, @unchecked Sendable {
    private let path: String
    private let busyTimeout: Double
    private let clock: @Sendable () -> Double
    private let sweepOneIn: Int
    private let lock = NSLock()
    /// nil after a failed reopen: the next operation tries again.
    private var connection: SQLiteConnection?

    private static let schema = """
        PRAGMA journal_mode=WAL;
        PRAGMA synchronous=NORMAL;
        CREATE TABLE IF NOT EXISTS gcra(key TEXT PRIMARY KEY, tat REAL NOT NULL);
        CREATE TABLE IF NOT EXISTS cache(key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL NOT NULL);
        CREATE TABLE IF NOT EXISTS claims(key TEXT PRIMARY KEY, token TEXT NOT NULL, expires REAL NOT NULL);
        """

    /// Opens the database at `path`, creating it (mode 0600) and its tables if they are missing.
    ///
    /// A damaged file found here is moved aside and replaced, as during any operation.
    ///
    /// - Parameters:
    ///   - path: the database file; its folder must exist and be writable by every process that uses it.
    ///   - busyTimeout: seconds to wait for another process's lock before failing with `.timeout`.
    /// - Throws: `StoreError` `.unavailable` (cannot open or create), `.timeout`, or `.corrupt`.
    public convenience init(path: String, busyTimeout: Double = 2) throws(StoreError) {
        try self.init(path: path, busyTimeout: busyTimeout, clock: { Date().timeIntervalSince1970 })
    }

    /// - Parameters:
    ///   - clock: the wall clock in seconds (tests inject one).
    ///   - sweepOneIn: one decision in this many also deletes expired rows (tests use 1).
    init(
        path: String, busyTimeout: Double, clock: @escaping @Sendable () -> Double, sweepOneIn: Int = 1000
    ) throws(StoreError) {
        self.path = path
        self.busyTimeout = busyTimeout.isNaN ? 0 : min(max(busyTimeout, 0), 86_400)
        self.clock = clock
        self.sweepOneIn = max(1, sweepOneIn)
        connection = try openOrRecover(until: Date(timeIntervalSinceNow: self.busyTimeout))
    }

    public var name: String { "sqlite" }

    public func decide(key: String, rule: RateLimitRule, cost: Int) throws(StoreError) -> RateLimitDecision {
        // Random, not counted: a CGI process makes one decision and exits.
        let sweep = Int.random(in: 0..<sweepOneIn) == 0
        return try perform("decide") { connection throws(SQLiteError) in
            try connection.immediateTransaction { () throws(SQLiteError) in
                // Read the clock holding the write lock, so TATs are computed in the order they are written.
                let now = clock()
                let rows = try connection.run("SELECT tat FROM gcra WHERE key = ?1", [.text(key)])
                let stored = rows.first?.first?.double
                let (decision, newTAT) = GCRA.decide(storedTAT: stored, now: now, rule: rule, cost: cost)
                if let newTAT {
                    try connection.run(
                        "INSERT INTO gcra(key, tat) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET tat = excluded.tat",
                        [.text(key), .real(newTAT)])
                }
                if sweep {
                    // A TAT in the past means a full allowance, the same as no row.
                    try connection.run("DELETE FROM gcra WHERE tat < ?1", [.real(now)])
                    try connection.run("DELETE FROM cache WHERE expires < ?1", [.real(now)])
                    try connection.run("DELETE FROM claims WHERE expires < ?1", [.real(now)])
                }
                return decision
            }
        }
    }

    public func hold(key: String, rule: RateLimitRule, for seconds: Double) throws(StoreError) {
        let now = clock()
        let floor = now + seconds + rule.capacity - rule.emissionInterval
        try perform("hold") { connection throws(SQLiteError) in
            // One statement, so atomic: a new key gets max(now, floor), an existing one max(tat, floor).
            try connection.run(
                "INSERT INTO gcra(key, tat) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET tat = max(tat, ?3)",
                [.text(key), .real(max(now, floor)), .real(floor)])
        }
    }

    public func cachedValue(key: String) throws(StoreError) -> Data? {
        let now = clock()
        return try perform("read cache") { connection throws(SQLiteError) in
            let rows = try connection.run(
                "SELECT value FROM cache WHERE key = ?1 AND expires > ?2", [.text(key), .real(now)])
            return rows.first?.first?.data
        }
    }

    public func cache(key: String, value: Data, ttl: Double) throws(StoreError) {
        let now = clock()
        try perform("write cache") { connection throws(SQLiteError) in
            try connection.run(
                """
                INSERT INTO cache(key, value, expires) VALUES(?1, ?2, ?3)
                ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires
                """,
                [.text(key), .blob(value), .real(now + ttl)])
        }
    }

    public func claim(key: String, token: String, ttl: Double) throws(StoreError) -> Bool {
        let now = clock()
        return try perform("claim") { connection throws(SQLiteError) in
            // One statement, so atomic: a row comes back only if this insert or takeover happened.
            let rows = try connection.run(
                """
                INSERT INTO claims(key, token, expires) VALUES(?1, ?2, ?3)
                ON CONFLICT(key) DO UPDATE SET token = excluded.token, expires = excluded.expires
                WHERE claims.expires <= ?4
                RETURNING token
                """,
                [.text(key), .text(token), .real(now + ttl), .real(now)])
            return !rows.isEmpty
        }
    }

    public func release(key: String, token: String) throws(StoreError) {
        try perform("release") { connection throws(SQLiteError) in
            try connection.run("DELETE FROM claims WHERE key = ?1 AND token = ?2", [.text(key), .text(token)])
        }
    }

    // MARK: Connection and recovery

    /// Runs `body` on the connection under the lock, reopening first if the file was moved or deleted
    /// (another process recovered it) and recovering once from a damaged file.
    ///
    /// The busy timeout bounds the whole wait: for this process's lock (threads queued behind one that
    /// waits for another process), then for SQLite's with whatever time is left.
    @discardableResult
    private func perform<T>(
        _ operation: String, _ body: (SQLiteConnection) throws(SQLiteError) -> T
    ) throws(StoreError) -> T {
        let deadline = Date(timeIntervalSinceNow: busyTimeout)
        guard lock.lock(before: deadline) else {
            throw .timeout("sqlite \(operation): \(path) busy in this process for more than \(busyTimeout) s")
        }
        defer { lock.unlock() }
        let current: SQLiteConnection
        if let existing = connection, !existing.hasMoved {
            current = existing
        } else {
            connection?.close()
            connection = nil
            current = try openOrRecover(until: deadline)
            connection = current
        }
        current.setBusyTimeout(deadline.timeIntervalSinceNow)
        do throws(SQLiteError) {
            return try body(current)
        } catch let error where error.isCorrupt {
            let fresh = try recover(from: current, operation, until: deadline)
            do throws(SQLiteError) {
                return try body(fresh)
            } catch {
                throw failure(error, operation + " after moving a damaged file aside")
            }
        } catch {
            throw failure(error, operation)
        }
    }

    /// A connection with the schema in place, recovering once if the file is damaged.
    private func openOrRecover(until deadline: Date) throws(StoreError) -> SQLiteConnection {
        let candidate: SQLiteConnection
        do throws(SQLiteError) {
            candidate = try openConnection(until: deadline)
        } catch {
            throw failure(error, "open")
        }
        while true {
            do throws(SQLiteError) {
                try candidate.execute(script: Self.schema)
                return candidate
            } catch let error where error.isCorrupt {
                return try recover(from: candidate, "open", until: deadline)
            } catch let error where error.isBusy && deadline.timeIntervalSinceNow > 0.02 {
                // Switching a new file to WAL while other processes open it too can be refused with
                // SQLITE_BUSY at once, without the busy handler: try again until the deadline.
                Thread.sleep(forTimeInterval: 0.01 + Double.random(in: 0..<0.01))
            } catch {
                throw failure(error, "open")
            }
        }
    }

    /// Opens `file` (the database unless told otherwise); a file this call creates is made private (0600)
    /// before anything is written to it, and SQLite gives its -wal and -shm files the same mode.
    private func openConnection(_ file: String? = nil, until deadline: Date) throws(SQLiteError) -> SQLiteConnection {
        let file = file ?? path
        let existed = FileManager.default.fileExists(atPath: file)
        let opened = try SQLiteConnection(path: file, busyTimeout: deadline.timeIntervalSinceNow)
        if !existed {
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
        return opened
    }

    /// Closes `bad`, moves its file aside unless another process already did, and opens a fresh one.
    ///
    /// Every process finds a damaged file at about the same moment, so recovery is serialised across
    /// processes by an exclusive lock on a second, empty database, `<path>.recovery` (created on the first
    /// recovery, then left in place like any lock file). Under that lock, the file at `path` is the one
    /// `bad` found damaged exactly when it has not moved since `bad` opened it: only a recovering process
    /// moves it. So no process moves aside a fresh database another has just made, or two processes the
    /// same file.
    ///
    /// - Throws: `.timeout` if the recovery lock stays taken past the deadline; `.corrupt` if the fresh
    ///   file is damaged too or the bad one cannot be moved; otherwise what opening the fresh file threw.
    private func recover(
        from bad: SQLiteConnection, _ operation: String, until deadline: Date
    ) throws(StoreError) -> SQLiteConnection {
        if connection === bad { connection = nil }
        defer { bad.close() }
        let recoveryLock: SQLiteConnection
        do throws(SQLiteError) {
            recoveryLock = try openConnection(path + ".recovery", until: deadline)
            try recoveryLock.run("BEGIN EXCLUSIVE")
        } catch {
            throw failure(error, operation + " waiting to recover a damaged file")
        }
        // Closing ends the transaction and releases the lock.
        defer { recoveryLock.close() }
        let movedByOther = bad.hasMoved
        bad.close()
        if !movedByOther { try moveAside() }
        do throws(SQLiteError) {
            let fresh = try openConnection(until: deadline)
            try fresh.execute(script: Self.schema)
            connection = fresh
            return fresh
        } catch {
            throw failure(error, operation + " after moving a damaged file aside")
        }
    }

    /// Renames the damaged file to `<path>.corrupt-<unix time>` (with a counter if that exists) after
    /// deleting its -wal and -shm files; runs under the recovery lock.
    ///
    /// Those go first: a process opening the path in between would otherwise find the old WAL beside it
    /// (SQLite also deletes a WAL it finds beside an empty database, so a fresh file never replays one).
    private func moveAside() throws(StoreError) {
        let files = FileManager.default
        for suffix in ["-wal", "-shm"] {
            var isDirectory: ObjCBool = false
            if files.fileExists(atPath: path + suffix, isDirectory: &isDirectory), !isDirectory.boolValue {
                try? files.removeItem(atPath: path + suffix)
            }
        }
        let stem = "\(path).corrupt-\(Int(Date().timeIntervalSince1970))"
        var target = stem
        var counter = 1
        while files.fileExists(atPath: target) && counter < 100 {
            counter += 1
            target = "\(stem)-\(counter)"
        }
        do {
            try files.moveItem(atPath: path, toPath: target)
        } catch {
            // Deleted meanwhile (by hand): nothing left to move.
            guard files.fileExists(atPath: path) else { return }
            throw .corrupt("sqlite: cannot move the damaged \(path) aside: \(error)")
        }
    }

    private func failure(_ error: SQLiteError, _ operation: String) -> StoreError {
        if error.isBusy {
            return .timeout("sqlite \(operation): \(path) locked for more than \(busyTimeout) s: \(error)")
        }
        if error.isCorrupt { return .corrupt("sqlite \(operation): \(path): \(error)") }
        return .unavailable("sqlite \(operation): \(path): \(error)")
    }
}
