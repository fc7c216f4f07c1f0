import Foundation
import Testing

@testable import ZeroWeightProxy

/// A clock the test moves by hand.
private final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Double

    init(_ start: Double) { current = start }

    var now: Double { lock.withLock { current } }
    func advance(_ seconds: Double) { lock.withLock { current += seconds } }
}

/// Collects values handed over from any thread.
private final class Collector<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Value] = []

    func append(_ value: Value) { lock.withLock { stored.append(value) } }
    var all: [Value] { lock.withLock { stored } }
}

@Suite struct MemoryStoreTests {
    private let clock = TestClock(1000)
    private let fivePerMinute = RateLimitRule(limit: 5, period: 60)
    /// One request every 10 s, six at once.
    private let sixPerMinute = RateLimitRule(limit: 6, period: 60)

    private func store() -> MemoryStore {
        MemoryStore { [clock] in clock.now }
    }

    @Test func isNamedMemory() {
        #expect(store().name == "memory")
    }

    @Test func decisionsFollowTheInjectedClock() throws {
        let store = store()
        var remainders: [Int] = []
        for _ in 0..<5 {
            let decision = try store.decide(key: "k", rule: fivePerMinute, cost: 1)
            #expect(decision.allowed)
            remainders.append(decision.remaining)
        }
        #expect(remainders == [4, 3, 2, 1, 0])
        #expect(
            try store.decide(key: "k", rule: fivePerMinute, cost: 1)
                == RateLimitDecision(allowed: false, remaining: 0, retryAfter: 12, resetAfter: 60))
        clock.advance(11)
        #expect(
            try store.decide(key: "k", rule: fivePerMinute, cost: 1)
                == RateLimitDecision(allowed: false, remaining: 0, retryAfter: 1, resetAfter: 49))
        clock.advance(1)
        #expect(
            try store.decide(key: "k", rule: fivePerMinute, cost: 1)
                == RateLimitDecision(allowed: true, remaining: 0, retryAfter: 0, resetAfter: 60))
    }

    @Test func keysAreCountedApart() throws {
        let store = store()
        for _ in 0..<5 { _ = try store.decide(key: "a", rule: fivePerMinute, cost: 1) }
        #expect(try store.decide(key: "a", rule: fivePerMinute, cost: 1).allowed == false)
        #expect(
            try store.decide(key: "b", rule: fivePerMinute, cost: 1)
                == RateLimitDecision(allowed: true, remaining: 4, retryAfter: 0, resetAfter: 12))
    }

    @Test func sixteenThreadsGetExactlyTheLimit() {
        let store = store()
        let rule = RateLimitRule(limit: 100, period: 60)
        let allowed = Collector<Int>()
        let refused = Collector<Int>()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            for _ in 0..<25 {
                do {
                    let decision = try store.decide(key: "shared", rule: rule, cost: 1)
                    if decision.allowed { allowed.append(decision.remaining) } else { refused.append(1) }
                } catch {
                    Issue.record("memory store threw \(error)")
                }
            }
        }
        #expect(allowed.all.count == 100)
        #expect(refused.all.count == 300)
        // Each allowed request saw its own count: no two read the same state.
        #expect(allowed.all.sorted() == Array(0..<100))
    }

    @Test func holdRefusesForTheHeldSeconds() throws {
        let store = store()
        try store.hold(key: "up", rule: sixPerMinute, for: 30)
        #expect(
            try store.decide(key: "up", rule: sixPerMinute, cost: 1)
                == RateLimitDecision(allowed: false, remaining: 0, retryAfter: 30, resetAfter: 80))
        clock.advance(29.5)
        #expect(try store.decide(key: "up", rule: sixPerMinute, cost: 1).allowed == false)
        clock.advance(0.5)
        #expect(
            try store.decide(key: "up", rule: sixPerMinute, cost: 1)
                == RateLimitDecision(allowed: true, remaining: 0, retryAfter: 0, resetAfter: 60))
    }

    @Test func holdNeverShortensALongerWait() throws {
        let store = store()
        for _ in 0..<6 { _ = try store.decide(key: "up", rule: sixPerMinute, cost: 1) }
        try store.hold(key: "up", rule: sixPerMinute, for: 1)
        #expect(
            try store.decide(key: "up", rule: sixPerMinute, cost: 1)
                == RateLimitDecision(allowed: false, remaining: 0, retryAfter: 10, resetAfter: 60))
    }

    @Test func holdLeavesOtherKeysAlone() throws {
        let store = store()
        try store.hold(key: "up", rule: sixPerMinute, for: 30)
        #expect(
            try store.decide(key: "other", rule: sixPerMinute, cost: 1)
                == RateLimitDecision(allowed: true, remaining: 5, retryAfter: 0, resetAfter: 10))
    }

    @Test func cachedValueLastsUntilItsTTL() throws {
        let store = store()
        let value = Data("bundle".utf8)
        #expect(try store.cachedValue(key: "b") == nil)
        try store.cache(key: "b", value: value, ttl: 10)
        #expect(try store.cachedValue(key: "b") == value)
        clock.advance(9.5)
        #expect(try store.cachedValue(key: "b") == value)
        #expect(try store.cachedValue(key: "c") == nil)
        clock.advance(0.5)
        #expect(try store.cachedValue(key: "b") == nil)
    }

    @Test func cachingAgainReplacesValueAndTTL() throws {
        let store = store()
        try store.cache(key: "b", value: Data("old".utf8), ttl: 100)
        try store.cache(key: "b", value: Data("new".utf8), ttl: 5)
        #expect(try store.cachedValue(key: "b") == Data("new".utf8))
        clock.advance(5)
        #expect(try store.cachedValue(key: "b") == nil)
    }

    @Test func zeroTTLIsNeverServed() throws {
        let store = store()
        try store.cache(key: "b", value: Data("x".utf8), ttl: 0)
        #expect(try store.cachedValue(key: "b") == nil)
    }

    @Test func aClaimIsHeldByOneTokenUntilReleasedOrExpired() throws {
        let store = MemoryStore { clock.now }
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
