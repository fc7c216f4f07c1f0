extension RateLimitConfiguration {
    /// The limiter for this configuration, over its store; nil when rate limiting is off.
    ///
    /// The store is opened on first use (and again after a failure), so a store that is down when
    /// the process starts costs the configured failure policy, not a process that cannot start.
    public func makeLimiter() -> RateLimiter? {
        let store: any RateLimitStore
        switch self.store {
        case .off:
            return nil
        case .memory:
            store = MemoryStore()
        case .sqlite(let path):
            store = ReopeningStore(name: "sqlite") { () throws(StoreError) in try SQLiteStore(path: path) }
        case .redis(let url):
            store = ReopeningStore(name: "redis") { () throws(StoreError) in try RedisStore(url: url) }
        }
        return RateLimiter(configuration: self, store: store)
    }
}
