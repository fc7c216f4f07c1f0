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

/// A memory store on a test clock that records every operation it is asked for.
private final class RecordingStore: RateLimitStore, @unchecked Sendable {
    private let inner: MemoryStore
    private let lock = NSLock()
    private var recorded: [String] = []

    init(clock: TestClock) { inner = MemoryStore { [clock] in clock.now } }

    var operations: [String] { lock.withLock { recorded } }
    var name: String { "recording" }

    private func record(_ operation: String) { lock.withLock { recorded.append(operation) } }

    func decide(key: String, rule: RateLimitRule, cost: Int) throws(StoreError) -> RateLimitDecision {
        record("decide \(key)")
        return try inner.decide(key: key, rule: rule, cost: cost)
    }

    func hold(key: String, rule: RateLimitRule, for seconds: Double) throws(StoreError) {
        record("hold \(key) \(seconds)")
        try inner.hold(key: key, rule: rule, for: seconds)
    }

    func cachedValue(key: String) throws(StoreError) -> Data? { try inner.cachedValue(key: key) }
    func cache(key: String, value: Data, ttl: Double) throws(StoreError) {
        try inner.cache(key: key, value: value, ttl: ttl)
    }
    func claim(key: String, token: String, ttl: Double) throws(StoreError) -> Bool {
        try inner.claim(key: key, token: token, ttl: ttl)
    }
    func release(key: String, token: String) throws(StoreError) { try inner.release(key: key, token: token) }
}

/// A store that is down.
private final class FailingStore: RateLimitStore, @unchecked Sendable {
    static let error = StoreError.unavailable("redis: connection refused")
    private let lock = NSLock()
    private var count = 0

    var attempts: Int { lock.withLock { count } }
    var name: String { "failing" }

    private func fail() throws(StoreError) -> Never {
        lock.withLock { count += 1 }
        throw Self.error
    }

    func decide(key: String, rule: RateLimitRule, cost: Int) throws(StoreError) -> RateLimitDecision { try fail() }
    func hold(key: String, rule: RateLimitRule, for seconds: Double) throws(StoreError) { try fail() }
    func cachedValue(key: String) throws(StoreError) -> Data? { try fail() }
    func cache(key: String, value: Data, ttl: Double) throws(StoreError) { try fail() }
    func claim(key: String, token: String, ttl: Double) throws(StoreError) -> Bool { try fail() }
    func release(key: String, token: String) throws(StoreError) { try fail() }
}

@Suite struct RateLimiterTests {
    private static let clientIP = "203.0.113.7"
    private let clock = TestClock(1_000)

    private func limiter(
        _ rules: [Route: [RateLimitConfiguration.Dimension: RateLimitRule]] = [:], upstream: RateLimitRule? = nil,
        onStoreFailure: RateLimitConfiguration.FailurePolicy = .closed, store: (any RateLimitStore)? = nil
    ) -> RateLimiter {
        RateLimiter(
            configuration: RateLimitConfiguration(
                store: .memory, rules: rules, upstream: upstream, onStoreFailure: onStoreFailure),
            store: store ?? MemoryStore { [clock] in clock.now })
    }

    private func headers(_ verdict: RateLimiter.Verdict) -> [HTTPHeader]? {
        if case .allowed(let headers) = verdict { return headers }
        return nil
    }

    private func limited(_ verdict: RateLimiter.Verdict) -> (name: String, error: ProxyError)? {
        if case .limited(let name, let error) = verdict { return (name, error) }
        return nil
    }

    private func storeFailure(_ verdict: RateLimiter.Verdict) -> (problem: StoreError, error: ProxyError?)? {
        if case .storeFailed(let problem, let error) = verdict { return (problem, error) }
        return nil
    }

    private func check(
        _ limiter: RateLimiter, route: Route = .bundle, caller: Caller = .anonymous, ip: String = Self.clientIP
    ) -> RateLimiter.Verdict {
        limiter.check(route: route, clientIP: ip, caller: caller)
    }

    private func policy(_ name: String, _ quota: Int, _ window: Int) -> HTTPHeader {
        HTTPHeader("RateLimit-Policy", "\"\(name)\";q=\(quota);w=\(window)")
    }

    private func state(_ name: String, remaining: Int, reset: Int) -> HTTPHeader {
        HTTPHeader("RateLimit", "\"\(name)\";r=\(remaining);t=\(reset)")
    }

    // MARK: Keys

    @Test(
        arguments: [
            (Route.bundle, Caller.anonymous, ["decide rl:bundle:ip:203.0.113.7"]),
            (
                .bundle, Caller(subject: "alice"),
                ["decide rl:bundle:ip:203.0.113.7", "decide rl:bundle:subject:alice"]
            ),
            (.bundle, Caller(tenant: "acme"), ["decide rl:bundle:ip:203.0.113.7", "decide rl:bundle:tenant:acme"]),
            (
                .token, Caller(subject: "alice", tenant: "acme", boundName: "Alice"),
                [
                    "decide rl:token:ip:203.0.113.7", "decide rl:token:subject:alice",
                    "decide rl:token:tenant:acme",
                ]
            ),
        ] as [(Route, Caller, [String])])
    func eachDimensionHasItsOwnKeyWhenTheCallerHasIt(route: Route, caller: Caller, operations: [String]) {
        let store = RecordingStore(clock: clock)
        let every = RateLimitRule(limit: 100, period: 60)
        let limiter = limiter(
            [route: [.ip: every, .subject: every, .tenant: every]], upstream: every, store: store)
        #expect(check(limiter, route: route, caller: caller).logValue == "ok")
        #expect(store.operations == operations)
    }

    @Test func onlyConfiguredDimensionsAreChecked() {
        let store = RecordingStore(clock: clock)
        let limiter = limiter([.bundle: [.tenant: RateLimitRule(limit: 100, period: 60)]], store: store)
        _ = check(limiter, caller: Caller(subject: "alice", tenant: "acme"))
        #expect(store.operations == ["decide rl:bundle:tenant:acme"])
        let verdict = check(limiter, route: .token, caller: Caller(subject: "alice", tenant: "acme"))
        #expect(headers(verdict) == [])
        #expect(store.operations == ["decide rl:bundle:tenant:acme"])
    }

    @Test func clientsAreCountedApart() {
        let limiter = limiter([.bundle: [.ip: RateLimitRule(limit: 1, period: 60)]])
        #expect(check(limiter, ip: "198.51.100.1").logValue == "ok")
        #expect(check(limiter, ip: "198.51.100.1").logValue == "ip")
        #expect(check(limiter, ip: "198.51.100.2").logValue == "ok")
        #expect(check(limiter, route: .token, ip: "198.51.100.1").logValue == "ok")
    }

    // MARK: Refusals

    @Test func overTheIPLimitIs429WithExactHeaders() throws {
        let limiter = limiter([.bundle: [.ip: RateLimitRule(limit: 5, period: 60, burst: 5)]])
        for remaining in [4, 3, 2, 1, 0] {
            #expect(
                headers(check(limiter)) == [
                    policy("ip", 5, 60), state("ip", remaining: remaining, reset: 60 - remaining * 12),
                ])
        }
        let verdict = check(limiter)
        #expect(verdict.logValue == "ip")
        let refusal = try #require(limited(verdict))
        #expect(refusal.name == "ip")
        #expect(refusal.error.status.code == 429)
        #expect(refusal.error.code == "rate_limited")
        #expect(
            refusal.error.headers == [
                HTTPHeader("Retry-After", "12"),
                HTTPHeader("RateLimit-Policy", #""ip";q=5;w=60"#),
                HTTPHeader("RateLimit", #""ip";r=0;t=60"#),
            ])
        #expect(
            refusal.error
                == ProxyError.rateLimited.adding(headers: [
                    HTTPHeader("Retry-After", "12"), policy("ip", 5, 60), state("ip", remaining: 0, reset: 60),
                ]))

        clock.advance(11.5)
        let later = try #require(limited(check(limiter)))
        #expect(later.error.headers.first == HTTPHeader("Retry-After", "1"))
        clock.advance(0.5)
        #expect(headers(check(limiter)) == [policy("ip", 5, 60), state("ip", remaining: 0, reset: 60)])
    }

    @Test func theRefusingDimensionIsNamed() throws {
        let limiter = limiter([
            .bundle: [
                .ip: RateLimitRule(limit: 10, period: 60), .subject: RateLimitRule(limit: 1, period: 60),
                .tenant: RateLimitRule(limit: 1, period: 60),
            ]
        ])
        let alice = Caller(subject: "alice", tenant: "acme")
        #expect(check(limiter, caller: alice).logValue == "ok")
        let bySubject = try #require(limited(check(limiter, caller: alice)))
        #expect(bySubject.name == "subject")
        #expect(
            bySubject.error
                == ProxyError.rateLimited.adding(headers: [
                    HTTPHeader("Retry-After", "60"), policy("subject", 1, 60),
                    state("subject", remaining: 0, reset: 60),
                ]))
        // Bob has his own subject allowance but shares Alice's tenant.
        let byTenant = try #require(limited(check(limiter, caller: Caller(subject: "bob", tenant: "acme"))))
        #expect(byTenant.name == "tenant")
        #expect(byTenant.error.headers.first == HTTPHeader("Retry-After", "60"))
        // Without a tenant, Bob is only counted by address and subject.
        #expect(check(limiter, caller: Caller(subject: "carol")).logValue == "ok")
    }

    // MARK: Headers on allowed requests

    @Test func allowedHeadersDescribeTheTightestLimit() {
        let limiter = limiter([
            .bundle: [
                .ip: RateLimitRule(limit: 5, period: 60), .subject: RateLimitRule(limit: 2, period: 60),
                .tenant: RateLimitRule(limit: 100, period: 3600, burst: 10),
            ]
        ])
        let alice = Caller(subject: "alice", tenant: "acme")
        #expect(
            headers(check(limiter, caller: alice)) == [
                policy("subject", 2, 60), state("subject", remaining: 1, reset: 30),
            ])
        #expect(
            headers(check(limiter, caller: alice)) == [
                policy("subject", 2, 60), state("subject", remaining: 0, reset: 60),
            ])
        // An anonymous caller from the same address is limited by the address alone.
        #expect(headers(check(limiter)) == [policy("ip", 5, 60), state("ip", remaining: 2, reset: 36)])
    }

    @Test func onATieTheFirstCheckedLimitIsDescribed() {
        let limiter = limiter([
            .bundle: [.ip: RateLimitRule(limit: 3, period: 60), .subject: RateLimitRule(limit: 3, period: 3600)]
        ])
        #expect(
            headers(check(limiter, caller: Caller(subject: "alice")))
                == [policy("ip", 3, 60), state("ip", remaining: 2, reset: 20)])
    }

    @Test func resetIsRoundedUpToWholeSeconds() {
        let limiter = limiter([.bundle: [.ip: RateLimitRule(limit: 3, period: 10, burst: 2)]])
        #expect(headers(check(limiter)) == [policy("ip", 2, 10), state("ip", remaining: 1, reset: 4)])
    }

    // MARK: The upstream budget

    @Test func exhaustedUpstreamBudgetIs503WithRetryAfter() throws {
        let limiter = limiter(upstream: RateLimitRule(limit: 2, period: 60))
        #expect(headers(limiter.spendUpstream()) == [])
        #expect(headers(limiter.spendUpstream()) == [])
        let verdict = limiter.spendUpstream()
        #expect(verdict.logValue == "upstream")
        let refusal = try #require(limited(verdict))
        #expect(refusal.name == "upstream")
        #expect(refusal.error.status.code == 503)
        #expect(refusal.error.code == "upstream_budget_exhausted")
        #expect(refusal.error.headers == [HTTPHeader("Retry-After", "30")])
        #expect(refusal.error == ProxyError.upstreamBudgetExhausted.adding(headers: [HTTPHeader("Retry-After", "30")]))
        clock.advance(30)
        #expect(headers(limiter.spendUpstream()) == [])
    }

    @Test func withoutAnUpstreamRuleTheBudgetIsNeverCheckedOrHeld() {
        let store = RecordingStore(clock: clock)
        let limiter = limiter(upstream: nil, store: store)
        for _ in 0..<3 { #expect(headers(limiter.spendUpstream()) == []) }
        limiter.upstreamAnswered(status: 429, retryAfter: "30", remaining: "0")
        #expect(store.operations == [])
    }

    @Test(
        arguments: [
            ("30", "hold rl:upstream 30.0", "30"),
            (" 30 ", "hold rl:upstream 30.0", "30"),
            (nil, "hold rl:upstream 60.0", "60"),
            ("Wed, 21 Oct 2015 07:28:00 GMT", "hold rl:upstream 60.0", "60"),
            ("999999999999", "hold rl:upstream 86400.0", "86400"),
        ] as [(String?, String, String)])
    func upstream429HoldsTheBudgetForItsRetryAfter(retryAfter: String?, hold: String, answer: String) throws {
        let store = RecordingStore(clock: clock)
        let limiter = limiter(upstream: RateLimitRule(limit: 6, period: 60), store: store)
        limiter.upstreamAnswered(status: 429, retryAfter: retryAfter, remaining: "5")
        #expect(store.operations == [hold])
        let refusal = try #require(limited(limiter.spendUpstream()))
        #expect(
            refusal.error == ProxyError.upstreamBudgetExhausted.adding(headers: [HTTPHeader("Retry-After", answer)]))
    }

    @Test func upstream429ReleasesTheBudgetAfterItsRetryAfter() throws {
        let limiter = limiter(upstream: RateLimitRule(limit: 6, period: 60))
        limiter.upstreamAnswered(status: 429, retryAfter: "30", remaining: nil)
        #expect(try #require(limited(limiter.spendUpstream())).error.headers == [HTTPHeader("Retry-After", "30")])
        clock.advance(29)
        #expect(try #require(limited(limiter.spendUpstream())).error.headers == [HTTPHeader("Retry-After", "1")])
        clock.advance(1)
        #expect(headers(limiter.spendUpstream()) == [])
        #expect(limiter.spendUpstream().logValue == "upstream")
    }

    @Test(arguments: ["0", " 0"])
    func upstreamRemainingZeroHoldsOneInterval(remaining: String) throws {
        let store = RecordingStore(clock: clock)
        let limiter = limiter(upstream: RateLimitRule(limit: 6, period: 60), store: store)
        limiter.upstreamAnswered(status: 200, retryAfter: nil, remaining: remaining)
        #expect(store.operations == ["hold rl:upstream 10.0"])
        #expect(try #require(limited(limiter.spendUpstream())).error.headers == [HTTPHeader("Retry-After", "10")])
        clock.advance(10)
        #expect(headers(limiter.spendUpstream()) == [])
    }

    @Test(
        arguments: [
            (200, nil as String?), (200, "1"), (200, "12"), (404, nil), (503, "3"),
        ] as [(Int, String?)])
    func otherUpstreamAnswersLeaveTheBudgetAlone(status: Int, remaining: String?) {
        let store = RecordingStore(clock: clock)
        let limiter = limiter(upstream: RateLimitRule(limit: 6, period: 60, burst: 2), store: store)
        limiter.upstreamAnswered(status: status, retryAfter: "30", remaining: remaining)
        #expect(store.operations == [])
        #expect(headers(limiter.spendUpstream()) == [])
        #expect(headers(limiter.spendUpstream()) == [])
        #expect(limiter.spendUpstream().logValue == "upstream")
    }

    // MARK: Store failures

    @Test func storeFailureFailsClosedBy503() throws {
        let store = FailingStore()
        let limiter = limiter(
            [.bundle: [.ip: RateLimitRule(limit: 5, period: 60)]], upstream: RateLimitRule(limit: 5, period: 60),
            store: store)
        for verdict in [check(limiter), limiter.spendUpstream()] {
            let failure = try #require(storeFailure(verdict))
            #expect(failure.problem == FailingStore.error)
            #expect(failure.error == .rateLimitUnavailable)
            #expect(failure.error?.status.code == 503)
            #expect(failure.error?.code == "rate_limit_unavailable")
            #expect(verdict.logValue == "store_failed_closed")
        }
        #expect(store.attempts == 2)
    }

    @Test func storeFailureFailsOpenWithoutAnError() throws {
        let store = FailingStore()
        let limiter = limiter(
            [.bundle: [.ip: RateLimitRule(limit: 5, period: 60)]], upstream: RateLimitRule(limit: 5, period: 60),
            onStoreFailure: .open, store: store)
        for verdict in [check(limiter), limiter.spendUpstream()] {
            let failure = try #require(storeFailure(verdict))
            #expect(failure.problem == FailingStore.error)
            #expect(failure.error == nil)
            #expect(verdict.logValue == "store_failed_open")
        }
    }

    @Test func storeFailureWhileFeedingBackIsIgnored() {
        let store = FailingStore()
        let limiter = limiter(upstream: RateLimitRule(limit: 5, period: 60), store: store)
        limiter.upstreamAnswered(status: 429, retryAfter: "30", remaining: nil)
        limiter.upstreamAnswered(status: 200, retryAfter: nil, remaining: "0")
        #expect(store.attempts == 2)
    }

    @Test func noRulesAndAFailedStoreStillAllow() {
        let store = FailingStore()
        let limiter = limiter(store: store)
        #expect(headers(check(limiter, caller: Caller(subject: "alice", tenant: "acme"))) == [])
        #expect(headers(limiter.spendUpstream()) == [])
        #expect(store.attempts == 0)
    }
}
