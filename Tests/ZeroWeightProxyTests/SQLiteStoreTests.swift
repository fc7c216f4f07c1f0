import Foundation
import Testing

@testable import ZeroWeightProxy

/// A clock the test moves by hand.
private final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: Double

    init(_ seconds: Double = 1_000_000) { self.seconds = seconds }

    var now: Double {
        get { lock.withLock { seconds } }
        set { lock.withLock { seconds = newValue } }
    }

    func advance(_ delta: Double) { now += delta }
}

/// Counts allowed decisions from many threads.
private final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var allowed = 0
    private var errors: [String] = []

    func record(_ result: Outcome) {
        lock.withLock {
            switch result {
            case .success(let decision): if decision.allowed { allowed += 1 }
            case .failure(let error): errors.append(error.description)
            }
        }
    }

    var counts: (allowed: Int, errors: [String]) { lock.withLock { (allowed, errors) } }
}

/// What each of several racing claims got.
private final class ClaimOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [Result<Bool, StoreError>] = []

    func record(_ outcome: Result<Bool, StoreError>) { lock.withLock { outcomes.append(outcome) } }
    var all: [Result<Bool, StoreError>] { lock.withLock { outcomes } }
}

/// A fresh folder under the temporary directory, removed after `body`.
private func withTemporaryFolder(_ body: (String) throws -> Void) throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try body(folder.path)
}

/// Runs `body(index)` on `count` threads started together and waits for all of them.
private func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchSemaphore(value: 0)
    let start = DispatchGroup()
    start.enter()
    for index in 0..<count {
        let thread = Thread {
            start.wait()
            body(index)
            done.signal()
        }
        thread.start()
    }
    start.leave()
    for _ in 0..<count { done.wait() }
}

/// The StoreError code `body` threw, or nil if it returned.
private func errorCode<T>(_ body: () throws(StoreError) -> T) -> String? {
    do {
        _ = try body()
        return nil
    } catch {
        return error.code
    }
}

private typealias Outcome = Result<RateLimitDecision, StoreError>

private func decideResult(_ store: SQLiteStore, _ key: String, _ rule: RateLimitRule) -> Outcome {
    do {
        return .success(try store.decide(key: key, rule: rule, cost: 1))
    } catch {
        return .failure(error)
    }
}

private func files(in folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
}

@Suite struct SQLiteStoreTests {
    let fiveAMinute = RateLimitRule(limit: 5, period: 60)

    @Test func decisionsMatchGCRAAndPersistTheTAT() throws {
        try withTemporaryFolder { folder in
            let clock = ManualClock()
            let store = try SQLiteStore(
                path: folder + "/limits.db", busyTimeout: 2, clock: { clock.now }, sweepOneIn: 1_000_000)
            #expect(store.name == "sqlite")
            var tat: Double?
            var decisions: [RateLimitDecision] = []
            for step in 0..<8 {
                if step == 6 { clock.advance(12) }
                let expected = GCRA.decide(storedTAT: tat, now: clock.now, rule: fiveAMinute)
                if let newTAT = expected.newTAT { tat = newTAT }
                let decision = try store.decide(key: "client", rule: fiveAMinute, cost: 1)
                #expect(decision == expected.decision)
                decisions.append(decision)
            }
            #expect(decisions.map(\.allowed) == [true, true, true, true, true, false, true, false])
            #expect(decisions.map(\.remaining) == [4, 3, 2, 1, 0, 0, 0, 0])
            #expect(decisions[5].retryAfter == 12)
            #expect(decisions[7].retryAfter == 12)
            // Another key has its own allowance.
            #expect(try store.decide(key: "other", rule: fiveAMinute, cost: 1).remaining == 4)
        }
    }

    @Test func wallClockAllowsExactlyTheLimitThenAsksToWaitOneInterval() throws {
        try withTemporaryFolder { folder in
            // A busy timeout of 0 still decides when nothing else holds a lock.
            let store = try SQLiteStore(path: folder + "/limits.db", busyTimeout: 0)
            let decisions = try (0..<7).map { _ throws(StoreError) in
                try store.decide(key: "client", rule: fiveAMinute, cost: 1)
            }
            #expect(decisions.map(\.allowed) == [true, true, true, true, true, false, false])
            #expect(abs(decisions[5].retryAfter - 12) < 0.5)
            #expect(abs(decisions[6].resetAfter - 60) < 0.5)
        }
    }

    @Test func holdMatchesTheMemoryStore() throws {
        try withTemporaryFolder { folder in
            let clock = ManualClock()
            let store = try SQLiteStore(path: folder + "/limits.db", busyTimeout: 2, clock: { clock.now })
            let memory = MemoryStore(clock: { clock.now })
            for candidate in [store as any RateLimitStore, memory] {
                _ = try candidate.decide(key: "upstream", rule: fiveAMinute, cost: 1)
                try candidate.hold(key: "upstream", rule: fiveAMinute, for: 30)
                try candidate.hold(key: "fresh", rule: fiveAMinute, for: 30)
                try candidate.hold(key: "shorter", rule: fiveAMinute, for: 30)
                try candidate.hold(key: "shorter", rule: fiveAMinute, for: 5)
            }
            for key in ["upstream", "fresh", "shorter", "untouched"] {
                let fromSQLite = try store.decide(key: key, rule: fiveAMinute, cost: 1)
                let fromMemory = try memory.decide(key: key, rule: fiveAMinute, cost: 1)
                #expect(fromSQLite == fromMemory, "\(key)")
            }
            let held = try store.decide(key: "fresh", rule: fiveAMinute, cost: 1)
            #expect(!held.allowed)
            #expect(held.retryAfter == 30)
        }
    }

    @Test func stateSurvivesReopening() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/limits.db"
            let clock = ManualClock()
            do {
                let store = try SQLiteStore(path: path, busyTimeout: 2, clock: { clock.now })
                for _ in 0..<3 { _ = try store.decide(key: "client", rule: fiveAMinute, cost: 1) }
                try store.cache(key: "bundle", value: Data("payload".utf8), ttl: 60)
            }
            let reopened = try SQLiteStore(path: path, busyTimeout: 2, clock: { clock.now })
            #expect(try reopened.decide(key: "client", rule: fiveAMinute, cost: 1).remaining == 1)
            #expect(try reopened.cachedValue(key: "bundle") == Data("payload".utf8))
        }
    }

    @Test func cachedValuesExpireAfterTheirTTL() throws {
        try withTemporaryFolder { folder in
            let clock = ManualClock()
            let store = try SQLiteStore(path: folder + "/limits.db", busyTimeout: 2, clock: { clock.now })
            #expect(try store.cachedValue(key: "bundle") == nil)
            try store.cache(key: "bundle", value: Data([0, 1, 2, 255]), ttl: 10)
            try store.cache(key: "empty", value: Data(), ttl: 10)
            clock.advance(9.5)
            #expect(try store.cachedValue(key: "bundle") == Data([0, 1, 2, 255]))
            #expect(try store.cachedValue(key: "empty") == Data())
            clock.advance(0.5)
            #expect(try store.cachedValue(key: "bundle") == nil)
            try store.cache(key: "bundle", value: Data("new".utf8), ttl: 10)
            #expect(try store.cachedValue(key: "bundle") == Data("new".utf8))
        }
    }

    @Test func sweepingDeletesOnlyExpiredRows() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/limits.db"
            let clock = ManualClock()
            let store = try SQLiteStore(path: path, busyTimeout: 2, clock: { clock.now }, sweepOneIn: 1)
            _ = try store.decide(key: "old", rule: fiveAMinute, cost: 1)
            try store.cache(key: "old", value: Data("x".utf8), ttl: 5)
            clock.advance(30)
            try store.cache(key: "new", value: Data("y".utf8), ttl: 60)
            _ = try store.decide(key: "new", rule: fiveAMinute, cost: 1)
            let raw = try SQLiteConnection(path: path, busyTimeout: 2)
            #expect(try raw.run("SELECT key FROM gcra") == [[.text("new")]])
            #expect(try raw.run("SELECT key FROM cache") == [[.text("new")]])
        }
    }

    @Test func createsThePrivateFile() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/limits.db"
            let store = try SQLiteStore(path: path)
            _ = try store.decide(key: "client", rule: fiveAMinute, cost: 1)
            for file in [path, path + "-wal", path + "-shm"] {
                let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
                #expect(mode == 0o600, "\(file)")
            }
            let raw = try SQLiteConnection(path: path, busyTimeout: 2)
            #expect(try raw.run("PRAGMA journal_mode") == [[.text("wal")]])
        }
    }

    @Test func threadsSharingOneStoreAllowExactlyTheLimit() throws {
        try withTemporaryFolder { folder in
            let store = try SQLiteStore(path: folder + "/limits.db", busyTimeout: 10)
            let rule = RateLimitRule(limit: 50, period: 3600)
            let tally = Tally()
            onThreads(8) { _ in
                for _ in 0..<25 { tally.record(decideResult(store, "shared", rule)) }
            }
            #expect(tally.counts.errors == [])
            #expect(tally.counts.allowed == 50)
        }
    }

    /// Separate connections lock the file exactly as separate processes do.
    @Test func separateConnectionsOnOneFileAllowExactlyTheLimit() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/limits.db"
            let rule = RateLimitRule(limit: 37, period: 3600)
            let tally = Tally()
            // Each "process" opens the same new file at the same moment, then decides from 2 threads.
            onThreads(6) { _ in
                let store: SQLiteStore
                do throws(StoreError) {
                    store = try SQLiteStore(path: path, busyTimeout: 10)
                } catch {
                    tally.record(.failure(error))
                    return
                }
                onThreads(2) { _ in
                    for _ in 0..<20 { tally.record(decideResult(store, "shared", rule)) }
                }
            }
            #expect(tally.counts.errors == [])
            #expect(tally.counts.allowed == 37)
        }
    }

    @Test func aLockHeldPastTheBusyTimeoutIsATimeout() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/limits.db"
            let store = try SQLiteStore(path: path, busyTimeout: 0.5)
            try store.cache(key: "bundle", value: Data("x".utf8), ttl: 60)
            let other = try SQLiteConnection(path: path, busyTimeout: 0)
            try other.run("BEGIN EXCLUSIVE")
            try other.run("INSERT INTO gcra(key, tat) VALUES('held', 0)")
            let started = Date()
            #expect(
                errorCode { () throws(StoreError) in try store.decide(key: "client", rule: fiveAMinute, cost: 1) }
                    == "store_timeout")
            let waited = Date().timeIntervalSince(started)
            #expect(waited >= 0.4 && waited < 1.5)
            #expect(
                errorCode { () throws(StoreError) in try store.hold(key: "client", rule: fiveAMinute, for: 5) }
                    == "store_timeout")
            // WAL: readers do not wait for the writer.
            #expect(try store.cachedValue(key: "bundle") == Data("x".utf8))
            try other.run("COMMIT")
            #expect(try store.decide(key: "client", rule: fiveAMinute, cost: 1).allowed)
        }
    }

    @Test func threadsQueuedBehindALockedStoreStillAnswerWithinTheBusyTimeout() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/limits.db"
            let store = try SQLiteStore(path: path, busyTimeout: 0.5)
            let other = try SQLiteConnection(path: path, busyTimeout: 0)
            try other.run("BEGIN EXCLUSIVE")
            try other.run("INSERT INTO gcra(key, tat) VALUES('held', 0)")
            let tally = Tally()
            let started = Date()
            onThreads(6) { _ in tally.record(decideResult(store, "client", RateLimitRule(limit: 5, period: 60))) }
            let waited = Date().timeIntervalSince(started)
            try other.run("ROLLBACK")
            #expect(tally.counts.allowed == 0)
            #expect(tally.counts.errors.count == 6)
            #expect(tally.counts.errors.allSatisfy { $0.hasPrefix("store_timeout: ") })
            #expect(waited >= 0.4 && waited < 1.5)
        }
    }

    @Test(arguments: ["missing/limits.db", "plain-file/limits.db", "a-directory"])
    func aPathThatCannotBeADatabaseIsUnavailable(relative: String) throws {
        try withTemporaryFolder { folder in
            try Data("not a folder".utf8).write(to: URL(fileURLWithPath: folder + "/plain-file"))
            try FileManager.default.createDirectory(atPath: folder + "/a-directory", withIntermediateDirectories: false)
            #expect(
                errorCode { () throws(StoreError) in try SQLiteStore(path: folder + "/" + relative) }
                    == "store_unavailable")
            #expect(files(in: folder) == ["a-directory", "plain-file"])
        }
    }

    @Test func aFolderThatDisappearsIsUnavailableUntilItReturns() throws {
        try withTemporaryFolder { folder in
            let data = folder + "/data"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
            let store = try SQLiteStore(path: data + "/limits.db")
            _ = try store.decide(key: "client", rule: fiveAMinute, cost: 1)
            try FileManager.default.removeItem(atPath: data)
            #expect(
                errorCode { () throws(StoreError) in try store.decide(key: "client", rule: fiveAMinute, cost: 1) }
                    == "store_unavailable")
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
            #expect(try store.decide(key: "client", rule: fiveAMinute, cost: 1).remaining == 4)
        }
    }

    @Test func aDamagedFileFoundAtOpenIsMovedAsideAndReplaced() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/limits.db"
            do {
                let store = try SQLiteStore(path: path)
                for _ in 0..<3 { _ = try store.decide(key: "client", rule: fiveAMinute, cost: 1) }
            }
            let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
            try garbage.write(to: URL(fileURLWithPath: path))
            let before = Int(Date().timeIntervalSince1970)
            let store = try SQLiteStore(path: path)
            #expect(try store.decide(key: "client", rule: fiveAMinute, cost: 1).remaining == 4)
            let moved = files(in: folder).filter { $0.hasPrefix("limits.db.corrupt-") }
            #expect(moved.count == 1)
            let lockMode = try FileManager.default.attributesOfItem(atPath: path + ".recovery")[.posixPermissions]
            #expect(lockMode as? Int == 0o600)
            if let name = moved.first, let stamp = Int(name.dropFirst("limits.db.corrupt-".count)) {
                #expect(stamp >= before && stamp <= before + 5)
                #expect(FileManager.default.contents(atPath: folder + "/" + name) == garbage)
            } else {
                Issue.record("moved-aside name \(moved)")
            }
        }
    }

    @Test func aDamagedTableFoundDuringADecisionIsRecoveredAndTheDecisionRetried() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/limits.db"
            do {
                let store = try SQLiteStore(path: path)
                for _ in 0..<3 { _ = try store.decide(key: "client", rule: fiveAMinute, cost: 1) }
            }
            // Keep page 1 (header and schema) so the file opens; wreck the tables' pages behind it.
            let original = try #require(FileManager.default.contents(atPath: path))
            #expect(original.count > 4096)
            var damaged = original.prefix(4096)
            damaged.append(Data(repeating: 0xA5, count: original.count - 4096))
            try damaged.write(to: URL(fileURLWithPath: path))
            let store = try SQLiteStore(path: path)
            #expect(files(in: folder).filter { $0.contains("corrupt") } == [])
            #expect(try store.decide(key: "client", rule: fiveAMinute, cost: 1).remaining == 4)
            #expect(files(in: folder).filter { $0.contains("corrupt") }.count == 1)
            #expect(try store.decide(key: "client", rule: fiveAMinute, cost: 1).remaining == 3)
        }
    }

    @Test func aStoreFollowsTheFreshFileAfterAnotherProcessMovedTheOldOneAside() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/limits.db"
            let first = try SQLiteStore(path: path)
            _ = try first.decide(key: "client", rule: fiveAMinute, cost: 1)
            // What another process's recovery does: delete -wal and -shm, rename, start a fresh file.
            try? FileManager.default.removeItem(atPath: path + "-wal")
            try? FileManager.default.removeItem(atPath: path + "-shm")
            try FileManager.default.moveItem(atPath: path, toPath: path + ".corrupt-1")
            let second = try SQLiteStore(path: path)
            #expect(try second.decide(key: "client", rule: fiveAMinute, cost: 1).remaining == 4)
            #expect(try first.decide(key: "client", rule: fiveAMinute, cost: 1).remaining == 3)
            #expect(try second.decide(key: "client", rule: fiveAMinute, cost: 1).remaining == 2)
        }
    }

    @Test func aClaimIsHeldByOneTokenUntilReleasedOrExpired() throws {
        try withTemporaryFolder { folder in
            let clock = ManualClock()
            let store = try SQLiteStore(path: folder + "/limits.db", busyTimeout: 2, clock: { clock.now })
            #expect(try store.claim(key: "bundle", token: "a", ttl: 5))
            #expect(try !store.claim(key: "bundle", token: "b", ttl: 5))
            #expect(try store.claim(key: "other", token: "b", ttl: 5))
            try store.release(key: "bundle", token: "b")
            #expect(try !store.claim(key: "bundle", token: "b", ttl: 5))
            try store.release(key: "bundle", token: "a")
            #expect(try store.claim(key: "bundle", token: "b", ttl: 5))
            clock.advance(5)
            #expect(try store.claim(key: "bundle", token: "c", ttl: 5))
            try store.release(key: "bundle", token: "b")
            #expect(try !store.claim(key: "bundle", token: "a", ttl: 5))
        }
    }

    @Test func connectionsRacingForOneClaimGiveItToExactlyOne() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/limits.db"
            _ = try SQLiteStore(path: path)
            let outcomes = ClaimOutcomes()
            onThreads(12) { index in
                outcomes.record(
                    Result { () throws(StoreError) in
                        try SQLiteStore(path: path).claim(key: "cold", token: "t\(index)", ttl: 30)
                    })
            }
            #expect(outcomes.all.count == 12)
            #expect(outcomes.all.filter { $0 == .success(true) }.count == 1)
            #expect(outcomes.all.filter { $0 == .success(false) }.count == 11)
        }
    }
}
