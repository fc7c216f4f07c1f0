import Foundation

/// A store opened on first use and opened again, at most every few seconds, after it failed to open.
///
/// A FastCGI process started while its SQLite folder or Redis server was unavailable recovers by
/// itself instead of failing every request until restarted; a CGI process opens once.
public final class ReopeningStore: RateLimitStore, @unchecked Sendable {
    private let open: @Sendable () throws(StoreError) -> any RateLimitStore
    private let lock = NSLock()
    private var store: (any RateLimitStore)?
    private var lastFailure: (error: StoreError, at: Double)?
    private let retryInterval: Double
    public let name: String

    /// - Parameters:
    ///   - name: the store's name for logs.
    ///   - retryInterval: seconds between attempts to open after a failure.
    ///   - open: opens the real store.
    public init(
        name: String, retryInterval: Double = 5, open: @escaping @Sendable () throws(StoreError) -> any RateLimitStore
    ) {
        self.name = name
        self.retryInterval = retryInterval
        self.open = open
    }

    private func current() throws(StoreError) -> any RateLimitStore {
        lock.lock()
        defer { lock.unlock() }
        if let store { return store }
        let now = Date().timeIntervalSince1970
        if let lastFailure, now - lastFailure.at < retryInterval { throw lastFailure.error }
        do {
            let opened = try open()
            store = opened
            lastFailure = nil
            return opened
        } catch {
            lastFailure = (error, now)
            throw error
        }
    }

    public func decide(key: String, rule: RateLimitRule, cost: Int) throws(StoreError) -> RateLimitDecision {
        try current().decide(key: key, rule: rule, cost: cost)
    }

    public func hold(key: String, rule: RateLimitRule, for seconds: Double) throws(StoreError) {
        try current().hold(key: key, rule: rule, for: seconds)
    }

    public func cachedValue(key: String) throws(StoreError) -> Data? {
        try current().cachedValue(key: key)
    }

    public func cache(key: String, value: Data, ttl: Double) throws(StoreError) {
        try current().cache(key: key, value: value, ttl: ttl)
    }

    public func claim(key: String, token: String, ttl: Double) throws(StoreError) -> Bool {
        try current().claim(key: key, token: token, ttl: ttl)
    }

    public func release(key: String, token: String) throws(StoreError) {
        try current().release(key: key, token: token)
    }
}
