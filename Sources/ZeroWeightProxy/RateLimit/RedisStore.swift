import Foundation

/// State in Redis: shared by every process on every host that points at the same server.
///
/// Each decision is one Lua script (`EVALSHA`, falling back to `EVAL` on `NOSCRIPT`) that reads
/// the key's TAT, runs `GCRA.decide`'s steps on Redis `TIME` (one clock for all hosts) and writes
/// the new TAT, atomically, as go-redis/redis_rate and rwz/redis-gcra do.
///
/// One connection, opened on first use and kept for the life of the store (a FastCGI process
/// reuses it for every request; a CGI process uses it once), behind a lock. Every call finishes
/// within `timeout` seconds: a failed or timed-out connection is dropped and reported as
/// `StoreError.unavailable` or `.timeout`, and the next call makes one fresh connection attempt.
public final class RedisStore: RateLimitStore, @unchecked Sendable {
    /// Where the server listens.
    enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    /// Prefix of every key the store writes.
    static let keyPrefix = "zeroweight-proxy:"

    let endpoint: Endpoint
    let database: Int
    let timeout: Double
    private let password: String?
    private let lock = NSLock()
    /// The open connection, if any; only touched under `lock`.
    private var connection: HiredisCalls.Connection?

    /// A store for the server at `url`; nothing is connected until the first call.
    ///
    /// - Parameters:
    ///   - url: `redis://host[:port][/db]` (port 6379 and database 0 when left out; an IPv6 host in
    ///     brackets) or `unix:/path/to/redis.sock`. User info, queries and `rediss:` are refused:
    ///     the password is a separate setting so that it never travels inside a URL that gets logged.
    ///   - timeout: seconds one call may take in all, connecting included.
    ///   - password: sent with `AUTH` on every new connection, before `SELECT`.
    /// - Throws: `StoreError.unavailable` for a URL or timeout it cannot use.
    public init(url: String, timeout: Double = 0.5, password: String? = nil) throws(StoreError) {
        guard let (endpoint, database) = Self.parse(url: url) else {
            throw .unavailable("redis URL must be redis://host[:port][/db] or unix:/path")
        }
        guard timeout.isFinite, timeout > 0 else { throw .unavailable("redis timeout must be positive") }
        self.endpoint = endpoint
        self.database = database
        self.timeout = timeout
        self.password = password
    }

    deinit {
        if let connection { HiredisCalls.close(connection) }
    }

    public var name: String { "redis" }

    // MARK: RateLimitStore

    public func decide(key: String, rule: RateLimitRule, cost: Int) throws(StoreError) -> RateLimitDecision {
        try decide(key: key, rule: rule, cost: cost, at: nil)
    }

    /// `decide`, with `now` given instead of read from Redis `TIME` (tests compare against `GCRA.decide`).
    func decide(key: String, rule: RateLimitRule, cost: Int, at now: Double?) throws(StoreError) -> RateLimitDecision {
        var arguments = [Self.number(rule.emissionInterval), Self.number(rule.capacity), String(cost)]
        if let now { arguments.append(Self.number(now)) }
        let reply = try run(Script.decide, key: Self.rateKey(key), arguments: arguments)
        guard case .array(let values) = reply, values.count == 4,
            case .integer(let allowed) = values[0], case .integer(let remaining) = values[1],
            case .integer(let retryMilliseconds) = values[2], case .integer(let resetMilliseconds) = values[3]
        else { throw .corrupt("redis: unexpected reply to the rate-limit script") }
        return RateLimitDecision(
            allowed: allowed == 1, remaining: Int(remaining), retryAfter: Double(retryMilliseconds) / 1000,
            resetAfter: Double(resetMilliseconds) / 1000)
    }

    public func hold(key: String, rule: RateLimitRule, for seconds: Double) throws(StoreError) {
        // Lua would read "nan" or "inf" as numbers and store a TAT no later decision can compare.
        guard seconds.isFinite else { return }
        let arguments = [Self.number(rule.emissionInterval), Self.number(rule.capacity), Self.number(seconds)]
        _ = try run(Script.hold, key: Self.rateKey(key), arguments: arguments)
    }

    public func cachedValue(key: String) throws(StoreError) -> Data? {
        let reply = try withConnection { connection, deadline throws(StoreError) in
            try Self.command(connection, deadline, ["GET", Self.cacheKey(key)])
        }
        switch reply {
        case .string(let bytes): return Data(bytes)
        case .null: return nil
        default: throw .corrupt("redis: unexpected reply to GET")
        }
    }

    public func cache(key: String, value: Data, ttl: Double) throws(StoreError) {
        let name = Array(Self.cacheKey(key).utf8)
        // An expired entry is no entry (as in the memory store); PX takes only positive milliseconds.
        let arguments: [[UInt8]] =
            ttl > 0
            ? [Array("SET".utf8), name, Array(value), Array("PX".utf8), Array(String(Self.milliseconds(ttl)).utf8)]
            : [Array("DEL".utf8), name]
        _ = try withConnection { connection, deadline throws(StoreError) in
            try Self.command(connection, deadline, arguments)
        }
    }

    public func claim(key: String, token: String, ttl: Double) throws(StoreError) -> Bool {
        let arguments = ["SET", Self.claimKey(key), token, "NX", "PX", String(Self.milliseconds(ttl))]
        let reply = try withConnection { connection, deadline throws(StoreError) in
            try Self.command(connection, deadline, arguments)
        }
        switch reply {
        case .status: return true
        case .null: return false
        default: throw .corrupt("redis: unexpected reply to SET NX")
        }
    }

    public func release(key: String, token: String) throws(StoreError) {
        _ = try run(Script.release, key: Self.claimKey(key), arguments: [token])
    }

    // MARK: Scripts

    /// Runs `script` by `EVALSHA`, sending its source with `EVAL` only if the server does not know it.
    private func run(_ script: Script, key: String, arguments: [String]) throws(StoreError) -> HiredisReply {
        try withConnection { connection, deadline throws(StoreError) in
            let tail = [key] + arguments
            let reply = try Self.command(connection, deadline, ["EVALSHA", script.sha1, "1"] + tail)
            if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
                // EVAL also puts the script in the server's cache, so the next EVALSHA finds it.
                return try Self.command(connection, deadline, ["EVAL", script.source, "1"] + tail)
            }
            return reply
        }
    }

    // MARK: Connection

    /// Runs `body` on the open connection (opening it first if needed) under the lock, with a
    /// deadline `timeout` seconds from now; drops the connection if anything on it failed.
    private func withConnection<Result>(
        _ body: (HiredisCalls.Connection, Double) throws(StoreError) -> Result
    ) throws(StoreError) -> Result {
        lock.lock()
        defer { lock.unlock() }
        let deadline = Self.clock() + timeout
        let current: HiredisCalls.Connection
        if let connection {
            current = connection
        } else {
            current = try open(deadline: deadline)
            connection = current
        }
        do {
            return try body(current, deadline)
        } catch {
            // An error reply leaves the connection in step; a failed read or write does not.
            if HiredisCalls.hasFailed(current) {
                HiredisCalls.close(current)
                connection = nil
            }
            throw error
        }
    }

    /// One connection attempt: connect, `AUTH` when a password is set, `SELECT` when the database is not 0.
    private func open(deadline: Double) throws(StoreError) -> HiredisCalls.Connection {
        _ = Self.ignoreBrokenPipe
        let remaining = deadline - Self.clock()
        let connection: HiredisCalls.Connection
        do {
            switch endpoint {
            case .tcp(let host, let port):
                connection = try HiredisCalls.connect(host: host, port: port, timeout: remaining)
            case .unix(let path):
                connection = try HiredisCalls.connect(path: path, timeout: remaining)
            }
        } catch {
            throw Self.storeError(error)
        }
        do throws(StoreError) {
            if let password {
                let reply = try Self.command(connection, deadline, [Array("AUTH".utf8), Array(password.utf8)])
                guard case .status = reply else { throw StoreError.unavailable("redis AUTH refused") }
            }
            if database != 0 {
                let reply = try Self.command(connection, deadline, ["SELECT", String(database)])
                guard case .status = reply else { throw StoreError.unavailable("redis SELECT \(database) refused") }
            }
        } catch {
            HiredisCalls.close(connection)
            throw error
        }
        return connection
    }

    /// One command within `deadline`: the socket timeout is set to the time left first.
    ///
    /// - Throws: `.timeout` or `.unavailable` when the connection failed (the caller drops it);
    ///   `.unavailable` for an error reply other than `NOSCRIPT`, which is returned for the caller.
    private static func command(
        _ connection: HiredisCalls.Connection, _ deadline: Double, _ arguments: [[UInt8]]
    ) throws(StoreError) -> HiredisReply {
        let remaining = deadline - clock()
        guard remaining > 0 else { throw .timeout("redis: no time left for the command") }
        let reply: HiredisReply
        do {
            try HiredisCalls.setTimeout(connection, remaining)
            reply = try HiredisCalls.command(connection, arguments)
        } catch {
            throw storeError(error)
        }
        if case .error(let message) = reply {
            if message.hasPrefix("NOSCRIPT") { return reply }
            if message.hasPrefix("CORRUPT") { throw .corrupt("redis: \(message)") }
            throw .unavailable("redis: \(message.prefix(120))")
        }
        return reply
    }

    private static func command(
        _ connection: HiredisCalls.Connection, _ deadline: Double, _ arguments: [String]
    ) throws(StoreError) -> HiredisReply {
        try command(connection, deadline, arguments.map { Array($0.utf8) })
    }

    private static func storeError(_ error: HiredisError) -> StoreError {
        error.timedOut ? .timeout("redis: \(error.detail)") : .unavailable("redis: \(error.detail)")
    }

    /// A write to a connection the server has closed must be an error, not a `SIGPIPE` that ends
    /// the process (the proxy's main already ignores it; a store used elsewhere must be safe too).
    private static let ignoreBrokenPipe: Void = Syscalls.ignoreBrokenPipe()

    /// Seconds on a monotonic clock, for deadlines.
    private static func clock() -> Double { ProcessInfo.processInfo.systemUptime }

    // MARK: Values

    static func rateKey(_ key: String) -> String { keyPrefix + "rate:" + key }
    static func cacheKey(_ key: String) -> String { keyPrefix + "cache:" + key }
    static func claimKey(_ key: String) -> String { keyPrefix + "claim:" + key }

    /// `value` as Lua's `tonumber` reads it back exactly (Swift prints the shortest round-trip form).
    private static func number(_ value: Double) -> String { "\(value)" }

    /// Whole milliseconds, rounded up, at least 1.
    private static func milliseconds(_ seconds: Double) -> Int {
        max(1, Int(min(seconds * 1000, 1e15).rounded(.up)))
    }

    /// Parses `redis://host[:port][/db]` or `unix:/path`; nil for anything else.
    static func parse(url: String) -> (Endpoint, Int)? {
        guard !url.utf8.contains(0), !url.contains(where: { $0.isWhitespace || $0 == "?" || $0 == "#" }) else {
            return nil
        }
        if url.hasPrefix("unix:") {
            let path = String(url.dropFirst(5))
            guard path.hasPrefix("/"), path.count > 1 else { return nil }
            return (.unix(path: path), 0)
        }
        guard url.hasPrefix("redis://") else { return nil }
        var rest = Substring(url.dropFirst(8))
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let digits = rest[rest.index(after: slash)...]
            if !digits.isEmpty {
                guard digits.count <= 6, isDigits(digits), let number = Int(digits) else { return nil }
                database = number
            }
            rest = rest[..<slash]
        }
        guard !rest.contains("@") else { return nil }
        let host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
            guard host.contains(":") else { return nil }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        var port = 6379
        if let portText {
            guard portText.count <= 5, isDigits(portText), let number = Int(portText),
                (1...65535).contains(number)
            else { return nil }
            port = number
        }
        guard !host.isEmpty, !host.contains(":") || rest.hasPrefix("[") else { return nil }
        return (.tcp(host: String(host), port: port), database)
    }

    private static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}

extension RedisStore {
    /// A Lua script and its SHA1, the name `EVALSHA` runs it by (computed once per process).
    struct Script: Sendable {
        let source: String
        let sha1: String

        init(_ source: String) {
            self.source = source
            self.sha1 = Self.hexSHA1(Array(source.utf8))
        }

        /// One GCRA decision: `GCRA.decide`'s steps, in the same order, on Redis `TIME` (including
        /// the slack of a thousandth of an interval that absorbs floating-point error).
        ///
        /// `KEYS[1]` the key; `ARGV` the emission interval and capacity in seconds, the cost, and
        /// (tests only) a fixed now. The new TAT is stored with 17 significant digits (it reads back
        /// as the same double) and lives until it no longer matters; a refusal changes nothing.
        /// Replies `{allowed (0 or 1), remaining, retry after ms, reset after ms}`: Lua numbers
        /// become integers in replies, so times go out in milliseconds, rounded to the nearest.
        static let decide = Script(
            """
            -- zeroweight-proxy: one GCRA rate-limit decision
            if redis.replicate_commands then redis.replicate_commands() end
            local interval = tonumber(ARGV[1])
            local capacity = tonumber(ARGV[2])
            local cost = tonumber(ARGV[3])
            local now = tonumber(ARGV[4])
            if not now then
                local time = redis.call('TIME')
                now = tonumber(time[1]) + tonumber(time[2]) / 1000000
            end
            local function ms(seconds) return math.floor(seconds * 1000 + 0.5) end
            local tat = now
            local stored = redis.call('GET', KEYS[1])
            if stored then
                local value = tonumber(stored)
                if not value then return redis.error_reply('CORRUPT stored TAT is not a number') end
                tat = math.max(value, now)
            end
            local slack = interval / 1000
            local newTAT = tat + interval * cost
            local allowAt = newTAT - capacity
            if allowAt - now > slack then
                local remaining = math.max(0, math.floor((capacity - (tat - now) + slack) / interval))
                return {0, remaining, ms(allowAt - now), ms(tat - now)}
            end
            local remaining = math.max(0, math.floor((capacity - (newTAT - now) + slack) / interval))
            local ttl = math.max(1, math.ceil((newTAT - now + 1) * 1000))
            redis.call('SET', KEYS[1], string.format('%.17g', newTAT), 'PX', string.format('%d', ttl))
            return {1, remaining, 0, ms(newTAT - now)}
            """
        )

        /// Moves a TAT to at least now + seconds + capacity - interval (`MemoryStore.hold`'s steps).
        ///
        /// `KEYS[1]` the key; `ARGV` the emission interval and capacity, and the seconds to hold.
        static let hold = Script(
            """
            -- zeroweight-proxy: hold a rate-limit key
            if redis.replicate_commands then redis.replicate_commands() end
            local interval = tonumber(ARGV[1])
            local capacity = tonumber(ARGV[2])
            local seconds = tonumber(ARGV[3])
            local time = redis.call('TIME')
            local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
            local floor = now + seconds + capacity - interval
            local tat = tonumber(redis.call('GET', KEYS[1])) or now
            tat = math.max(tat, floor)
            local ttl = math.max(1, math.ceil((tat - now + 1) * 1000))
            redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', string.format('%d', ttl))
            return 1
            """
        )

        /// Deletes a claim only while it is still the caller's (`KEYS[1]` the claim, `ARGV[1]` the token).
        static let release = Script(
            """
            -- zeroweight-proxy: release a claim
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0
            """
        )

        /// SHA1 (FIPS 180-4) as 40 lowercase hex digits: the name Redis gives a loaded script.
        static func hexSHA1(_ message: [UInt8]) -> String {
            var state: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
            var padded = message + [0x80]
            padded += [UInt8](repeating: 0, count: (56 - padded.count % 64 + 64) % 64)
            let bitCount = UInt64(message.count) * 8
            padded += (0..<8).map { UInt8(truncatingIfNeeded: bitCount >> (56 - 8 * UInt64($0))) }
            var words = [UInt32](repeating: 0, count: 80)
            for block in stride(from: 0, to: padded.count, by: 64) {
                for index in 0..<16 {
                    let offset = block + index * 4
                    words[index] =
                        UInt32(padded[offset]) << 24 | UInt32(padded[offset + 1]) << 16
                        | UInt32(padded[offset + 2]) << 8 | UInt32(padded[offset + 3])
                }
                for index in 16..<80 {
                    let mixed = words[index - 3] ^ words[index - 8] ^ words[index - 14] ^ words[index - 16]
                    words[index] = mixed << 1 | mixed >> 31
                }
                var (a, b, c, d, e) = (state[0], state[1], state[2], state[3], state[4])
                for index in 0..<80 {
                    let (f, k): (UInt32, UInt32)
                    switch index {
                    case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                    case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                    case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                    default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                    }
                    let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ words[index]
                    (e, d, c, b, a) = (d, c, b << 30 | b >> 2, a, temp)
                }
                state[0] &+= a
                state[1] &+= b
                state[2] &+= c
                state[3] &+= d
                state[4] &+= e
            }
            return state.map { word in
                let hex = String(word, radix: 16)
                return String(repeating: "0", count: 8 - hex.count) + hex
            }.joined()
        }
    }
}
