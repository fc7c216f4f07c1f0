import Foundation

/// The rate limits and where their state lives.
///
/// Rules apply per route and per dimension (client IP, subject, tenant); a global upstream budget
/// keeps the whole site under ZeroWeight's own limit (200 requests a minute per client IP, and
/// behind this proxy the site is one client).
public struct RateLimitConfiguration: Sendable, Hashable {
    /// What a limit is counted by.
    public enum Dimension: String, Sendable, Hashable, CaseIterable {
        case ip, subject, tenant
    }

    /// Where the state lives.
    public enum StoreKind: Sendable, Hashable {
        case off
        case memory
        case sqlite(path: String)
        case redis(url: String)
    }

    /// What happens when the store cannot answer.
    public enum FailurePolicy: String, Sendable, Hashable {
        /// 503: nothing passes unlimited (the default for a public endpoint).
        case closed
        /// Let the request through, and log it loudly.
        case open
    }

    public var store: StoreKind
    public var rules: [Route: [Dimension: RateLimitRule]]
    public var upstream: RateLimitRule?
    public var onStoreFailure: FailurePolicy
    /// A file holding the Redis password (`AUTH`), for `redis` stores; read when the store opens.
    public var redisPasswordFile: String?
    /// Seconds a successful bundle stays cached in the store (0: no cache; no store: no cache).
    public var bundleCacheSeconds: Double

    public static let defaultRules: [Route: [Dimension: RateLimitRule]] = [
        .bundle: [
            .ip: RateLimitRule(limit: 60, period: 60, burst: 20),
            .subject: RateLimitRule(limit: 120, period: 60, burst: 30),
            .tenant: RateLimitRule(limit: 1200, period: 60, burst: 200),
        ],
        .token: [
            .ip: RateLimitRule(limit: 20, period: 60, burst: 5),
            .subject: RateLimitRule(limit: 10, period: 60, burst: 3),
            .tenant: RateLimitRule(limit: 600, period: 60, burst: 100),
        ],
    ]
    public static let defaultUpstream = RateLimitRule(limit: 200, period: 60, burst: 20)

    public init(
        store: StoreKind = .memory, rules: [Route: [Dimension: RateLimitRule]] = Self.defaultRules,
        upstream: RateLimitRule? = Self.defaultUpstream, onStoreFailure: FailurePolicy = .closed,
        bundleCacheSeconds: Double = Self.defaultBundleCacheSeconds
    ) {
        self.store = store
        self.rules = rules
        self.upstream = upstream
        self.onStoreFailure = onStoreFailure
        self.redisPasswordFile = nil
        self.bundleCacheSeconds = bundleCacheSeconds
    }

    /// A minute: an edited avatar shows within a minute, and a busy avatar costs the upstream budget
    /// one call a minute per store instead of one per visitor.
    public static let defaultBundleCacheSeconds: Double = 60

    /// Where the state goes when `rate_limit.store` is not set: SQLite in the state directory
    /// (systemd's `STATE_DIRECTORY`, else /var/lib/zeroweight-proxy) when it is writable, else memory.
    static func defaultStore(environment: [String: String], isWritable: (String) -> Bool) -> StoreKind {
        let directory =
            environment["STATE_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) }
            ?? "/var/lib/zeroweight-proxy"
        return isWritable(directory) ? .sqlite(path: directory + "/state.db") : .memory
    }

    /// The `rate_limit.*` settings among `settings`.
    static func load(
        _ settings: SettingValues, environment: [String: String], isWritable: (String) -> Bool
    ) throws(ConfigurationError) -> RateLimitConfiguration {
        var configuration = RateLimitConfiguration(
            store: defaultStore(environment: environment, isWritable: isWritable))
        if let path = settings["rate_limit.sqlite_path"], !path.text.hasPrefix("/") {
            throw ConfigurationError(setting: path.origin, problem: "must be an absolute path")
        }
        if let value = settings["rate_limit.store"] {
            switch value.text {
            case "off": configuration.store = .off
            case "memory": configuration.store = .memory
            case "sqlite":
                let path = settings["rate_limit.sqlite_path"]?.text ?? ""
                if path.hasPrefix("/") {
                    configuration.store = .sqlite(path: path)
                } else if case .sqlite = configuration.store {
                    // the state directory's default
                } else {
                    throw ConfigurationError(
                        setting: value.origin,
                        problem: "sqlite needs rate_limit.sqlite_path (an absolute path) or a writable state directory")
                }
            case "redis":
                guard let url = settings["rate_limit.redis_url"] else {
                    throw ConfigurationError(setting: value.origin, problem: "redis needs rate_limit.redis_url")
                }
                configuration.store = .redis(url: url.text)
            default:
                throw ConfigurationError(setting: value.origin, problem: "must be memory, sqlite, redis or off")
            }
        } else if let path = settings["rate_limit.sqlite_path"], path.text.hasPrefix("/") {
            configuration.store = .sqlite(path: path.text)
        }
        if let value = settings["rate_limit.redis_password_file"] {
            guard value.text.hasPrefix("/") else {
                throw ConfigurationError(setting: value.origin, problem: "must be an absolute path")
            }
            configuration.redisPasswordFile = value.text
        }
        if let value = settings["rate_limit.on_store_failure"] {
            guard let policy = FailurePolicy(rawValue: value.text) else {
                throw ConfigurationError(setting: value.origin, problem: "must be closed or open")
            }
            configuration.onStoreFailure = policy
        }
        for route in Route.allCases {
            for dimension in Dimension.allCases {
                guard let value = settings["rate_limit.\(route.rawValue).\(dimension.rawValue)"] else { continue }
                configuration.rules[route, default: [:]][dimension] = try parseRule(value)
            }
        }
        if let value = settings["rate_limit.upstream"] {
            configuration.upstream = try parseRule(value)
        }
        if let value = settings["bundle_cache_seconds"] {
            guard value.text.utf8.allSatisfy({ (48...57).contains($0) }), value.text.utf8.count <= 5,
                let seconds = Double(value.text), seconds <= 86_400
            else {
                throw ConfigurationError(setting: value.origin, problem: "must be whole seconds from 0 to 86400")
            }
            configuration.bundleCacheSeconds = seconds
        }
        return configuration
    }

    /// `off`, or `<limit>/<period>` with an optional `burst <n>`: `30/minute`, `10/1s burst 20`, `200/60s`.
    static func parseRule(_ value: SettingValues.Value) throws(ConfigurationError) -> RateLimitRule? {
        if value.text == "off" { return nil }
        let problem = "must be off or <limit>/<period> [burst <n>], e.g. 30/minute or 10/1s burst 20"
        let words = value.text.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 1 || (words.count == 3 && words[1] == "burst") else {
            throw ConfigurationError(setting: value.origin, problem: problem)
        }
        let parts = words[0].split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let limit = Int(parts[0]), limit >= 1, limit <= 1_000_000,
            let period = parsePeriod(parts[1])
        else { throw ConfigurationError(setting: value.origin, problem: problem) }
        var burst = limit
        if words.count == 3 {
            guard let parsed = Int(words[2]), parsed >= 1, parsed <= 1_000_000 else {
                throw ConfigurationError(setting: value.origin, problem: problem)
            }
            burst = parsed
        }
        return RateLimitRule(limit: limit, period: period, burst: burst)
    }

    static func parsePeriod(_ text: Substring) -> Double? {
        switch text {
        case "second", "s": return 1
        case "minute", "min", "m": return 60
        case "hour", "h": return 3600
        case "day", "d": return 86_400
        default:
            let units: [(String, Double)] = [("s", 1), ("m", 60), ("h", 3600)]
            for (unit, seconds) in units where text.hasSuffix(unit) {
                guard let count = Int(text.dropLast()), count >= 1, count <= 86_400 else { return nil }
                return Double(count) * seconds
            }
            return nil
        }
    }
}
