import Foundation
import Testing

@testable import ZeroWeightProxy

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A real `redis-server` on a free loopback port, in its own temporary directory, stopped on `deinit`.
private final class RedisTestServer: @unchecked Sendable {
    private(set) var port = 0
    let directory: URL
    let password: String?
    private var process: Process?

    var url: String { "redis://127.0.0.1:\(port)" }
    var socketPath: String { directory.appending(path: "redis.sock").path }

    /// Starts a server (a new port if another process took the first one between probe and bind).
    init(password: String? = nil) throws {
        self.password = password
        directory = FileManager.default.temporaryDirectory.appending(path: "zw-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for _ in 0..<4 {
            port = try RedisListener().port
            if (try? launch()) != nil { return }
        }
        port = try RedisListener().port
        try launch()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `redis-server` on `port` and waits until it answers `PING`.
    func launch() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments =
            [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", directory.path, "--unixsocket", socketPath, "--unixsocketperm", "700",
                "--daemonize", "no", "--loglevel", "warning",
            ] + (password.map { ["--requirepass", $0] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard process.isRunning else { break }
            if (try? command(["PING"])) != nil { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        stop()
        throw RedisTestFailure(description: "redis-server did not answer PING on port \(port)")
    }

    /// Stops the server and waits for it to exit.
    ///
    /// SIGKILL, not `terminate()`: the child inherits the test thread's signal mask, in which
    /// SIGTERM is blocked, and a server without persistence has nothing to save.
    func stop() {
        guard let process else { return }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        self.process = nil
    }

    /// One command on a fresh connection (after `AUTH` when the server has a password).
    func command(_ arguments: [String], database: Int = 0) throws -> HiredisReply {
        let connection = try HiredisCalls.connect(host: "127.0.0.1", port: port, timeout: 1)
        defer { HiredisCalls.close(connection) }
        try HiredisCalls.setTimeout(connection, 1)
        if let password { _ = try HiredisCalls.command(connection, [Array("AUTH".utf8), Array(password.utf8)]) }
        if database != 0 {
            _ = try HiredisCalls.command(connection, [Array("SELECT".utf8), Array("\(database)".utf8)])
        }
        return try HiredisCalls.command(connection, arguments.map { Array($0.utf8) })
    }

    /// `PTTL` of `key`, in milliseconds (-2: no such key, -1: no expiry).
    func pttl(_ key: String) throws -> Int64 {
        guard case .integer(let value) = try command(["PTTL", key]) else { throw RedisTestFailure(description: "PTTL") }
        return value
    }
}

/// A loopback TCP socket that listens and never accepts or reads: connections complete in the
/// kernel's backlog and every command waits for an answer that never comes.
private final class RedisListener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, bound else {
            if fd >= 0 { close(fd) }
            throw RedisTestFailure(description: "cannot listen on loopback")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

private struct RedisTestFailure: Error, CustomStringConvertible {
    let description: String
}

/// Counts from several threads.
private final class RedisTally: @unchecked Sendable {
    private let lock = NSLock()
    private var allowed = 0
    private var failures: [StoreError] = []

    func record(_ result: Result<RateLimitDecision, StoreError>) {
        lock.withLock {
            switch result {
            case .success(let decision): allowed += decision.allowed ? 1 : 0
            case .failure(let error): failures.append(error)
            }
        }
    }

    var counts: (allowed: Int, failures: [StoreError]) { lock.withLock { (allowed, failures) } }
}

/// Runs `body(index)` on `count` threads at once and waits for all of them.
private func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            body(index)
            group.leave()
        }.start()
    }
    group.wait()
}

/// The error `body` threw, or nil if it returned.
private func storeFailure(_ body: () throws(StoreError) -> Void) -> StoreError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

private func seconds(since start: Date) -> Double { Date().timeIntervalSince(start) }

/// A rule, the costs of successive requests, the seconds between them and the time of the first.
struct RedisGCRACase: Sendable, CustomTestStringConvertible {
    let rule: RateLimitRule
    let costs: [Int]
    let step: Double
    var start = 1_700_000_000.123_456

    /// A whole burst and then some, all at `start`: inexact intervals must still allow exactly the burst.
    static func burst(_ rule: RateLimitRule, at start: Double) -> RedisGCRACase {
        RedisGCRACase(rule: rule, costs: Array(repeating: 1, count: rule.burst + 2), step: 0, start: start)
    }

    var testDescription: String { "\(rule), costs \(costs), every \(step)s from \(start)" }
}

@Suite struct RedisStoreTests {
    static let gcraCases: [RedisGCRACase] = [
        RedisGCRACase(rule: RateLimitRule(limit: 5, period: 60), costs: Array(repeating: 1, count: 7), step: 0),
        RedisGCRACase(rule: RateLimitRule(limit: 5, period: 60), costs: Array(repeating: 1, count: 9), step: 5),
        RedisGCRACase(
            rule: RateLimitRule(limit: 10, period: 1, burst: 3), costs: Array(repeating: 1, count: 8), step: 0.05),
        RedisGCRACase(rule: RateLimitRule(limit: 100, period: 3600, burst: 10), costs: [3, 3, 3, 3, 1, 2], step: 7.3),
        RedisGCRACase(rule: RateLimitRule(limit: 3, period: 7, burst: 2), costs: [1, 2, 1, 1, 3, 1, 0, 1], step: 0.9),
        RedisGCRACase(rule: RateLimitRule(limit: 1, period: 0.001), costs: [1, 1, 1, 1, 1], step: 0.0004),
        RedisGCRACase(rule: RateLimitRule(limit: 7, period: 86400, burst: 1), costs: [1, 1, 0, 2, 1], step: 3600),
        RedisGCRACase(rule: RateLimitRule(limit: 10, period: 1), costs: Array(repeating: 1, count: 30), step: 0.1),
        RedisGCRACase(
            rule: RateLimitRule(limit: 10, period: 1, burst: 4), costs: Array(repeating: 1, count: 30), step: 0.05),
        .burst(RateLimitRule(limit: 10, period: 1, burst: 20), at: 0),
        .burst(RateLimitRule(limit: 10, period: 1, burst: 20), at: 1_700_000_000.123_456),
        .burst(RateLimitRule(limit: 1200, period: 60, burst: 200), at: 1_700_000_000.987_654),
        .burst(RateLimitRule(limit: 600, period: 60, burst: 100), at: 0),
        .burst(RateLimitRule(limit: 7, period: 3, burst: 13), at: 1_700_152_069.966_957_6),
        .burst(RateLimitRule(limit: 200, period: 60, burst: 20), at: 1_700_000_000.123_456),
    ]

    @Test(arguments: gcraCases)
    func luaScriptDecidesExactlyAsGCRA(_ testCase: RedisGCRACase) throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: server.url)
        let start = testCase.start
        var storedTAT: Double?
        for (index, cost) in testCase.costs.enumerated() {
            let now = start + Double(index) * testCase.step
            let (expected, newTAT) = GCRA.decide(storedTAT: storedTAT, now: now, rule: testCase.rule, cost: cost)
            let decision = try store.decide(key: "vector", rule: testCase.rule, cost: cost, at: now)
            #expect(decision.allowed == expected.allowed, "request \(index)")
            #expect(decision.remaining == expected.remaining, "request \(index)")
            #expect(decision.retryAfter == (expected.retryAfter * 1000 + 0.5).rounded(.down) / 1000, "request \(index)")
            #expect(decision.resetAfter == (expected.resetAfter * 1000 + 0.5).rounded(.down) / 1000, "request \(index)")
            if let newTAT { storedTAT = newTAT }
            let reply = try server.command(["GET", "zeroweight-proxy:rate:vector"])
            guard case .string(let bytes) = reply else {
                Issue.record("no stored TAT after request \(index): \(reply)")
                return
            }
            #expect(Double(String(decoding: bytes, as: UTF8.self)) == storedTAT, "request \(index)")
        }
    }

    @Test func fivePerMinuteAllowsFiveThenRetryAfterTwelveSeconds() throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: server.url)
        let rule = RateLimitRule(limit: 5, period: 60)
        var remaining: [Int] = []
        for _ in 0..<5 {
            let decision = try store.decide(key: "client", rule: rule, cost: 1)
            #expect(decision.allowed)
            #expect(decision.retryAfter == 0)
            remaining.append(decision.remaining)
        }
        #expect(remaining == [4, 3, 2, 1, 0])
        let refused = try store.decide(key: "client", rule: rule, cost: 1)
        #expect(!refused.allowed)
        #expect(refused.remaining == 0)
        #expect(refused.retryAfter > 11.8 && refused.retryAfter <= 12)
        #expect(refused.resetAfter > 59.8 && refused.resetAfter <= 60)
        #expect(try store.decide(key: "other", rule: rule, cost: 1).allowed)
    }

    @Test func eightThreadsOnOneStoreGetExactlyTheLimit() throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: server.url, timeout: 2)
        let rule = RateLimitRule(limit: 17, period: 3600)
        let tally = RedisTally()
        onThreads(8) { _ in
            for _ in 0..<25 {
                tally.record(Result { () throws(StoreError) in try store.decide(key: "shared", rule: rule, cost: 1) })
            }
        }
        #expect(tally.counts.allowed == 17)
        #expect(tally.counts.failures == [])
    }

    @Test func independentStoresAsSeparateHostsGetExactlyTheLimit() throws {
        let server = try RedisTestServer()
        let stores = try (0..<8).map { _ throws(StoreError) in try RedisStore(url: server.url, timeout: 2) }
        let rule = RateLimitRule(limit: 23, period: 3600, burst: 23)
        let tally = RedisTally()
        onThreads(8) { index in
            for _ in 0..<25 {
                tally.record(
                    Result { () throws(StoreError) in try stores[index].decide(key: "shared", rule: rule, cost: 1) })
            }
        }
        #expect(tally.counts.allowed == 23)
        #expect(tally.counts.failures == [])
        // Eight stores, eight connections (plus the one asking).
        guard case .string(let list) = try server.command(["CLIENT", "LIST"]) else {
            Issue.record("CLIENT LIST")
            return
        }
        #expect(String(decoding: list, as: UTF8.self).split(separator: "\n").count == 9)
    }

    @Test func rateKeysExpireOnceTheyNoLongerMatter() throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: server.url)
        let rule = RateLimitRule(limit: 5, period: 60)
        _ = try store.decide(key: "expiring", rule: rule, cost: 1)
        let first = try server.pttl("zeroweight-proxy:rate:expiring")
        #expect(first > 12_800 && first <= 13_000)
        for _ in 0..<4 { _ = try store.decide(key: "expiring", rule: rule, cost: 1) }
        let full = try server.pttl("zeroweight-proxy:rate:expiring")
        #expect(full > 60_800 && full <= 61_000)
        #expect(try !store.decide(key: "expiring", rule: rule, cost: 1).allowed)
        #expect(try server.pttl("zeroweight-proxy:rate:expiring") <= full)
    }

    @Test func holdRefusesUntilTheHoldEnds() throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: server.url)
        let rule = RateLimitRule(limit: 5, period: 60)
        try store.hold(key: "upstream", rule: rule, for: 30)
        let pttl = try server.pttl("zeroweight-proxy:rate:upstream")
        #expect(pttl > 78_800 && pttl <= 79_000)
        let decision = try store.decide(key: "upstream", rule: rule, cost: 1)
        #expect(!decision.allowed)
        #expect(decision.retryAfter > 29.8 && decision.retryAfter <= 30)
        try store.hold(key: "upstream", rule: rule, for: 1)
        #expect(try server.pttl("zeroweight-proxy:rate:upstream") > 78_000)
    }

    @Test func cachedValuesAreBinarySafeAndExpire() throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: server.url)
        let value = Data((0...255).map(UInt8.init) + (0...255).reversed().map(UInt8.init))
        #expect(try store.cachedValue(key: "bundle") == nil)
        try store.cache(key: "bundle", value: value, ttl: 0.4)
        #expect(try store.cachedValue(key: "bundle") == value)
        let pttl = try server.pttl("zeroweight-proxy:cache:bundle")
        #expect(pttl > 0 && pttl <= 400)
        try store.cache(key: "empty", value: Data(), ttl: 10)
        #expect(try store.cachedValue(key: "empty") == Data())
        Thread.sleep(forTimeInterval: 0.6)
        #expect(try store.cachedValue(key: "bundle") == nil)
        try store.cache(key: "empty", value: value, ttl: 0)
        #expect(try store.cachedValue(key: "empty") == nil)
    }

    @Test(arguments: [
        "", "localhost:6379", "http://127.0.0.1:6379", "rediss://127.0.0.1:6379", "redis://", "redis://:6379",
        "redis://host:0", "redis://host:65536", "redis://host:port", "redis://host:+1", "redis://host:6379/x",
        "redis://host:6379/-1", "redis://host:6379/+1", "redis://host:6379?db=1", "redis://user:pw@host:6379",
        "redis://::1:6379", "redis://[::1", "redis://host 1:6379", "unix:", "unix:/", "unix:relative.sock",
        "unix:/tmp/redis.sock?db=1",
    ])
    func badURLsAreRefused(_ url: String) {
        #expect(storeFailure { () throws(StoreError) in _ = try RedisStore(url: url) }?.code == "store_unavailable")
    }

    @Test func goodURLsParse() throws {
        #expect(RedisStore.parse(url: "redis://127.0.0.1:7000/3")! == (.tcp(host: "127.0.0.1", port: 7000), 3))
        #expect(RedisStore.parse(url: "redis://cache.internal")! == (.tcp(host: "cache.internal", port: 6379), 0))
        #expect(RedisStore.parse(url: "redis://[::1]:7001/")! == (.tcp(host: "::1", port: 7001), 0))
        #expect(RedisStore.parse(url: "unix:/run/redis/redis.sock")! == (.unix(path: "/run/redis/redis.sock"), 0))
        #expect(storeFailure { () throws(StoreError) in _ = try RedisStore(url: "redis://h", timeout: 0) } != nil)
        #expect(try RedisStore(url: "redis://h").name == "redis")
    }

    @Test func databaseFromTheURLIsSelected() throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: server.url + "/3")
        try store.cache(key: "where", value: Data("db3".utf8), ttl: 60)
        #expect(try server.command(["EXISTS", "zeroweight-proxy:cache:where"]) == .integer(0))
        #expect(try server.command(["EXISTS", "zeroweight-proxy:cache:where"], database: 3) == .integer(1))
    }

    @Test func unixSocketURLConnects() throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: "unix:" + server.socketPath)
        #expect(try store.decide(key: "local", rule: RateLimitRule(limit: 1, period: 60), cost: 1).allowed)
        #expect(try !store.decide(key: "local", rule: RateLimitRule(limit: 1, period: 60), cost: 1).allowed)
    }

    @Test func scriptSHA1IsTheNameRedisGivesItAndAFlushedCacheFallsBackToEval() throws {
        #expect(RedisStore.Script.hexSHA1([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(RedisStore.Script.hexSHA1(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        let server = try RedisTestServer()
        for script in [RedisStore.Script.decide, RedisStore.Script.hold] {
            #expect(try server.command(["SCRIPT", "LOAD", script.source]) == .string(Array(script.sha1.utf8)))
        }
        #expect(try server.command(["SCRIPT", "FLUSH"]) == .status("OK"))
        let store = try RedisStore(url: server.url)
        #expect(try store.decide(key: "flushed", rule: RateLimitRule(limit: 2, period: 60), cost: 1).remaining == 1)
        #expect(
            try server.command(["SCRIPT", "EXISTS", RedisStore.Script.decide.sha1]) == .array([.integer(1)]))
    }

    @Test func corruptStoredValueIsReportedAndTheConnectionKept() throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: server.url)
        #expect(try server.command(["SET", "zeroweight-proxy:rate:junk", "not a number"]) == .status("OK"))
        let failure = storeFailure { () throws(StoreError) in
            _ = try store.decide(key: "junk", rule: RateLimitRule(limit: 1, period: 1), cost: 1)
        }
        #expect(failure?.code == "store_corrupt")
        #expect(try store.decide(key: "fine", rule: RateLimitRule(limit: 1, period: 1), cost: 1).allowed)
    }

    @Test func stoppedServerIsUnavailableWithinTheTimeoutAndTheStoreRecoversAfterARestart() throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: server.url, timeout: 0.5)
        let rule = RateLimitRule(limit: 100, period: 60)
        #expect(try store.decide(key: "k", rule: rule, cost: 1).allowed)
        server.stop()
        for _ in 0..<2 {
            let start = Date()
            let failure = storeFailure { () throws(StoreError) in _ = try store.decide(key: "k", rule: rule, cost: 1) }
            #expect(failure?.code == "store_unavailable")
            #expect(seconds(since: start) < 0.5)
        }
        try server.launch()
        let decision = try store.decide(key: "k", rule: rule, cost: 1)
        #expect(decision.allowed && decision.remaining == 99)
        try store.cache(key: "after", value: Data([1]), ttl: 5)
        #expect(try store.cachedValue(key: "after") == Data([1]))
    }

    @Test func serverThatNeverAnswersTimesOutWithinTheTimeout() throws {
        let listener = try RedisListener()
        let store = try RedisStore(url: "redis://127.0.0.1:\(listener.port)", timeout: 0.3)
        for _ in 0..<2 {
            let start = Date()
            let failure = storeFailure { () throws(StoreError) in
                _ = try store.decide(key: "k", rule: RateLimitRule(limit: 1, period: 1), cost: 1)
            }
            let elapsed = seconds(since: start)
            #expect(failure?.code == "store_timeout")
            // Bounded by the timeout plus scheduling delay on a busy 2-core machine, never a hang.
            #expect(elapsed >= 0.25 && elapsed < 1.5)
        }
        let start = Date()
        #expect(storeFailure { () throws(StoreError) in _ = try store.cachedValue(key: "k") }?.code == "store_timeout")
        #expect(seconds(since: start) < 1.5)
    }

    @Test func passwordIsSentWithAuth() throws {
        let server = try RedisTestServer(password: "correct horse")
        let rule = RateLimitRule(limit: 3, period: 60)
        let store = try RedisStore(url: server.url, password: "correct horse")
        #expect(try store.decide(key: "auth", rule: rule, cost: 1).remaining == 2)
        #expect(try store.decide(key: "auth", rule: rule, cost: 1).remaining == 1)
        for password in [nil, "wrong"] {
            let other = try RedisStore(url: server.url, password: password)
            let failure = storeFailure { () throws(StoreError) in _ = try other.decide(key: "auth", rule: rule, cost: 1)
            }
            #expect(failure?.code == "store_unavailable")
            #expect(failure.map { !$0.detail.contains("correct") } == true)
        }
    }

    @Test func aClaimIsHeldByOneTokenUntilReleasedOrExpired() throws {
        let server = try RedisTestServer()
        let store = try RedisStore(url: server.url)
        let other = try RedisStore(url: server.url)
        #expect(try store.claim(key: "bundle", token: "a", ttl: 0.3))
        #expect(try !other.claim(key: "bundle", token: "b", ttl: 5))
        let pttl = try server.pttl("zeroweight-proxy:claim:bundle")
        #expect(pttl > 0 && pttl <= 300)
        try other.release(key: "bundle", token: "b")
        #expect(try !other.claim(key: "bundle", token: "b", ttl: 5))
        try store.release(key: "bundle", token: "a")
        #expect(try other.claim(key: "bundle", token: "b", ttl: 0.3))
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try store.claim(key: "bundle", token: "c", ttl: 5))
        try other.release(key: "bundle", token: "b")
        #expect(try !other.claim(key: "bundle", token: "a", ttl: 5))
    }
}
