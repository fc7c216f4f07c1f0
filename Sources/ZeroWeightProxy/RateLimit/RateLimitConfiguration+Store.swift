import Foundation

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
            let passwordFile = redisPasswordFile
            store = ReopeningStore(name: "redis") { () throws(StoreError) in
                try RedisStore(url: url, password: try Self.readPassword(passwordFile))
            }
        }
        return RateLimiter(configuration: self, store: store)
    }

    /// The password in `path` (one line; trailing line breaks trimmed), or nil without a file.
    static func readPassword(_ path: String?) throws(StoreError) -> String? {
        guard let path else { return nil }
        guard let data = FileManager.default.contents(atPath: path),
            var text = String(data: data, encoding: .utf8)
        else { throw .unavailable("cannot read the Redis password file \(path)") }
        while let last = text.last, last.isNewline { text.removeLast() }
        return text
    }
}
