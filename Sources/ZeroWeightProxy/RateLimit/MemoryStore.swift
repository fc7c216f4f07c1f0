import Foundation

/// State inside one process: right for a single FastCGI process, useless across CGI processes.
public final class MemoryStore: RateLimitStore, @unchecked Sendable {
    private let lock = NSLock()
    private var tats: [String: Double] = [:]
    private var values: [String: (value: Data, expires: Double)] = [:]
    private var claims: [String: (token: String, expires: Double)] = [:]
    private let clock: @Sendable () -> Double

    /// - Parameter clock: seconds on a monotonic-enough clock (tests inject one).
    public init(clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.clock = clock
    }

    public var name: String { "memory" }

    public func decide(key: String, rule: RateLimitRule, cost: Int) throws(StoreError) -> RateLimitDecision {
        let now = clock()
        return lock.withLock {
            let (decision, newTAT) = GCRA.decide(storedTAT: tats[key], now: now, rule: rule, cost: cost)
            if let newTAT { tats[key] = newTAT }
            if tats.count > 100_000 { tats = tats.filter { $0.value > now } }
            return decision
        }
    }

    public func hold(key: String, rule: RateLimitRule, for seconds: Double) throws(StoreError) {
        let now = clock()
        lock.withLock {
            let floor = now + seconds + rule.capacity - rule.emissionInterval
            tats[key] = max(tats[key] ?? now, floor)
        }
    }

    public func cachedValue(key: String) throws(StoreError) -> Data? {
        let now = clock()
        return lock.withLock {
            guard let entry = values[key], entry.expires > now else { return nil }
            return entry.value
        }
    }

    public func cache(key: String, value: Data, ttl: Double) throws(StoreError) {
        let now = clock()
        lock.withLock {
            values[key] = (value, now + ttl)
            if values.count > 10_000 { values = values.filter { $0.value.expires > now } }
        }
    }

    public func claim(key: String, token: String, ttl: Double) throws(StoreError) -> Bool {
        let now = clock()
        return lock.withLock {
            if let held = claims[key], held.expires > now { return false }
            claims[key] = (token, now + ttl)
            return true
        }
    }

    public func release(key: String, token: String) throws(StoreError) {
        lock.withLock {
            if claims[key]?.token == token { claims[key] = nil }
        }
    }
}
