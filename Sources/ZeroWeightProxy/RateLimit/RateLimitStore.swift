import Foundation

/// Where rate-limit state (and cached bundles) live: one process, one host, or many hosts.
///
/// Every method is one atomic operation against the store; callers never read, compute and write
/// in separate steps (the overshoot bug of read-then-increment limiters).
public protocol RateLimitStore: Sendable {
    /// The store's name for logs: memory, sqlite, redis.
    var name: String { get }

    /// Applies GCRA to `key` under `rule` atomically, at the store's own clock.
    func decide(key: String, rule: RateLimitRule, cost: Int) throws(StoreError) -> RateLimitDecision

    /// Moves `key`'s TAT to at least `until` seconds from now (the upstream said "slow down").
    func hold(key: String, rule: RateLimitRule, for seconds: Double) throws(StoreError)

    /// A cached value that has not expired, or nil.
    func cachedValue(key: String) throws(StoreError) -> Data?

    /// Caches `value` under `key` for `ttl` seconds.
    func cache(key: String, value: Data, ttl: Double) throws(StoreError)

    /// Takes the claim on `key` for `ttl` seconds, unless another holder's claim is still live
    /// (set if absent): how processes agree that only one of them fetches a bundle nobody has cached.
    ///
    /// - Parameter token: names this holder; only it can release the claim.
    /// - Returns: whether the caller now holds the claim.
    func claim(key: String, token: String, ttl: Double) throws(StoreError) -> Bool

    /// Gives up the claim on `key` if `token` still holds it (an expired claim may belong to another).
    func release(key: String, token: String) throws(StoreError)
}
