import Foundation
import Testing

@testable import ZeroWeightProxy

/// The `rate_limit.*` settings, loaded the way the handlers load them.
@Suite struct RateLimitConfigurationTests {
    private static let base = [
        "ZEROWEIGHT_PROXY_AUTH": "none", "ZEROWEIGHT_PROXY_AVATARS": "*", "ZEROWEIGHT_API_KEY": "zw_test_key",
    ]
    private static let ruleProblem = "must be off or <limit>/<period> [burst <n>], e.g. 30/minute or 10/1s burst 20"
    private static let configPath = ProxyConfiguration.defaultConfigPath

    /// What the loader concluded, and which directories it asked about.
    private struct Loaded {
        let result: Result<RateLimitConfiguration, ConfigurationError>
        let asked: [String]

        var configuration: RateLimitConfiguration? { try? result.get() }
    }

    private func load(
        _ environment: [String: String], writable: Set<String> = [], file: String? = nil
    ) -> Loaded {
        var asked: [String] = []
        let result = Result { () throws(ConfigurationError) in
            try ProxySettings.load(
                environment: Self.base.merging(environment) { _, new in new },
                readFile: { path in path == Self.configPath ? file.map { Data($0.utf8) } : nil },
                isWritable: { directory in
                    asked.append(directory)
                    return writable.contains(directory)
                }
            ).rateLimits
        }
        return Loaded(result: result, asked: asked)
    }

    private func refused(_ setting: String, _ problem: String) -> Result<RateLimitConfiguration, ConfigurationError> {
        .failure(ConfigurationError(setting: setting, problem: problem))
    }

    // MARK: Defaults

    @Test func defaultsAreTheDocumentedOnes() {
        let loaded = load([:])
        #expect(
            loaded.result
                == .success(
                    RateLimitConfiguration(
                        store: .memory, rules: RateLimitConfiguration.defaultRules,
                        upstream: RateLimitConfiguration.defaultUpstream, onStoreFailure: .closed)))
        #expect(
            RateLimitConfiguration.defaultRules == [
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
            ])
        #expect(RateLimitConfiguration.defaultUpstream == RateLimitRule(limit: 200, period: 60, burst: 20))
    }

    // MARK: Where the state lives

    @Test func defaultStoreIsSQLiteInAWritableStateDirectory() {
        let loaded = load(["STATE_DIRECTORY": "/var/lib/zw-state"], writable: ["/var/lib/zw-state"])
        #expect(loaded.configuration?.store == .sqlite(path: "/var/lib/zw-state/state.db"))
        #expect(loaded.asked == ["/var/lib/zw-state"])
    }

    @Test func defaultStoreUsesTheFirstOfSeveralStateDirectories() {
        let loaded = load(["STATE_DIRECTORY": "/var/lib/a:/var/lib/b"], writable: ["/var/lib/a", "/var/lib/b"])
        #expect(loaded.configuration?.store == .sqlite(path: "/var/lib/a/state.db"))
        #expect(loaded.asked == ["/var/lib/a"])
    }

    @Test func defaultStoreIsMemoryWhenTheStateDirectoryIsNotWritable() {
        let loaded = load(["STATE_DIRECTORY": "/var/lib/zw-state"], writable: ["/var/lib/zeroweight-proxy"])
        #expect(loaded.configuration?.store == .memory)
        #expect(loaded.asked == ["/var/lib/zw-state"])
    }

    @Test func withoutStateDirectoryTheDefaultIsVarLib() {
        let loaded = load([:], writable: ["/var/lib/zeroweight-proxy"])
        #expect(loaded.configuration?.store == .sqlite(path: "/var/lib/zeroweight-proxy/state.db"))
        #expect(loaded.asked == ["/var/lib/zeroweight-proxy"])
        #expect(load([:]).configuration?.store == .memory)
    }

    @Test(
        arguments: [
            (["ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "memory"], RateLimitConfiguration.StoreKind.memory),
            (["ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "off"], .off),
            (["ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "sqlite"], .sqlite(path: "/state/state.db")),
            (
                [
                    "ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "sqlite",
                    "ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH": "/srv/rl.db",
                ],
                .sqlite(path: "/srv/rl.db")
            ),
            (["ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH": "/srv/rl.db"], .sqlite(path: "/srv/rl.db")),
            (
                [
                    "ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "redis",
                    "ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_URL": "redis://10.0.0.5:6379/2",
                ],
                .redis(url: "redis://10.0.0.5:6379/2")
            ),
            (
                [
                    "ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "redis",
                    "ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_URL": "unix:/run/redis/redis.sock",
                ],
                .redis(url: "unix:/run/redis/redis.sock")
            ),
        ] as [([String: String], RateLimitConfiguration.StoreKind)])
    func explicitStoreIsTaken(environment: [String: String], store: RateLimitConfiguration.StoreKind) {
        let loaded = load(environment.merging(["STATE_DIRECTORY": "/state"]) { old, _ in old }, writable: ["/state"])
        #expect(loaded.configuration?.store == store)
    }

    @Test func explicitSQLitePathNeedsNoWritableStateDirectory() {
        let loaded = load([
            "ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "sqlite", "ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH": "/srv/rl.db",
        ])
        #expect(loaded.configuration?.store == .sqlite(path: "/srv/rl.db"))
    }

    @Test func sqliteWithoutPathOrWritableStateDirectoryIsRefused() {
        #expect(
            load(["ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "sqlite"]).result
                == refused(
                    "ZEROWEIGHT_PROXY_RATE_LIMIT_STORE",
                    "sqlite needs rate_limit.sqlite_path (an absolute path) or a writable state directory"))
    }

    @Test(
        arguments: [
            ["ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH": "state.db"],
            ["ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "sqlite", "ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH": "state.db"],
            ["ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "sqlite", "ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH": "./rl/x.db"],
        ])
    func relativeSQLitePathIsRefusedRatherThanIgnored(environment: [String: String]) {
        // Even with a writable state directory to fall back on, the operator's path must not be dropped.
        let loaded = load(environment.merging(["STATE_DIRECTORY": "/state"]) { old, _ in old }, writable: ["/state"])
        #expect(loaded.result == refused("ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH", "must be an absolute path"))
    }

    @Test func redisWithoutURLIsRefused() {
        #expect(
            load(["ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "redis"]).result
                == refused("ZEROWEIGHT_PROXY_RATE_LIMIT_STORE", "redis needs rate_limit.redis_url"))
    }

    @Test(arguments: ["postgres", "Memory", "sqlite3", "none"])
    func unknownStoreIsRefused(store: String) {
        #expect(
            load(["ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": store]).result
                == refused("ZEROWEIGHT_PROXY_RATE_LIMIT_STORE", "must be memory, sqlite, redis or off"))
    }

    @Test func storeFromTheFileIsNamedByFileAndLine() {
        let loaded = load([:], file: "# limits\nrate_limit.store = redis\n")
        #expect(loaded.result == refused("\(Self.configPath):2 (rate_limit.store)", "redis needs rate_limit.redis_url"))
    }

    // MARK: Rules

    @Test(
        arguments: [
            ("30/minute", RateLimitRule(limit: 30, period: 60, burst: 30)),
            ("10/1s burst 20", RateLimitRule(limit: 10, period: 1, burst: 20)),
            ("200/60s", RateLimitRule(limit: 200, period: 60, burst: 200)),
            ("5/2m", RateLimitRule(limit: 5, period: 120, burst: 5)),
            ("3/second", RateLimitRule(limit: 3, period: 1)),
            ("3/s", RateLimitRule(limit: 3, period: 1)),
            ("4/min", RateLimitRule(limit: 4, period: 60)),
            ("4/m burst 1", RateLimitRule(limit: 4, period: 60, burst: 1)),
            ("100/hour", RateLimitRule(limit: 100, period: 3600)),
            ("100/h", RateLimitRule(limit: 100, period: 3600)),
            ("7/2h", RateLimitRule(limit: 7, period: 7200)),
            ("1000/day", RateLimitRule(limit: 1000, period: 86_400)),
            ("1000/d", RateLimitRule(limit: 1000, period: 86_400)),
            ("1000000/1s burst 1000000", RateLimitRule(limit: 1_000_000, period: 1, burst: 1_000_000)),
        ] as [(String, RateLimitRule)])
    func ruleSyntax(text: String, rule: RateLimitRule) {
        let configuration = load(["ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_IP": text]).configuration
        var expected = RateLimitConfiguration.defaultRules
        expected[.bundle]?[.ip] = rule
        #expect(configuration?.rules == expected)
    }

    @Test(
        arguments: [
            ("ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_IP", Route.bundle, RateLimitConfiguration.Dimension.ip),
            ("ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_SUBJECT", .bundle, .subject),
            ("ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_TENANT", .bundle, .tenant),
            ("ZEROWEIGHT_PROXY_RATE_LIMIT_TOKEN_IP", .token, .ip),
            ("ZEROWEIGHT_PROXY_RATE_LIMIT_TOKEN_SUBJECT", .token, .subject),
            ("ZEROWEIGHT_PROXY_RATE_LIMIT_TOKEN_TENANT", .token, .tenant),
        ] as [(String, Route, RateLimitConfiguration.Dimension)])
    func eachVariableSetsItsOwnRule(variable: String, route: Route, dimension: RateLimitConfiguration.Dimension) {
        let configuration = load([variable: "7/minute burst 2"]).configuration
        var expected = RateLimitConfiguration.defaultRules
        expected[route]?[dimension] = RateLimitRule(limit: 7, period: 60, burst: 2)
        #expect(configuration?.rules == expected)
        #expect(configuration?.upstream == RateLimitConfiguration.defaultUpstream)

        var removed = RateLimitConfiguration.defaultRules
        removed[route]?[dimension] = nil
        #expect(load([variable: "off"]).configuration?.rules == removed)
    }

    @Test func offRemovesOnlyThatRule() throws {
        let configuration = try #require(
            load([
                "ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_IP": "off", "ZEROWEIGHT_PROXY_RATE_LIMIT_TOKEN_TENANT": "off",
            ]).configuration)
        #expect(
            configuration.rules == [
                .bundle: [
                    .subject: RateLimitRule(limit: 120, period: 60, burst: 30),
                    .tenant: RateLimitRule(limit: 1200, period: 60, burst: 200),
                ],
                .token: [
                    .ip: RateLimitRule(limit: 20, period: 60, burst: 5),
                    .subject: RateLimitRule(limit: 10, period: 60, burst: 3),
                ],
            ])
        #expect(configuration.upstream == RateLimitConfiguration.defaultUpstream)
    }

    @Test func upstreamBudgetIsSetOrTurnedOff() {
        #expect(
            load(["ZEROWEIGHT_PROXY_RATE_LIMIT_UPSTREAM": "150/minute burst 10"]).configuration?.upstream
                == RateLimitRule(limit: 150, period: 60, burst: 10))
        let off = load(["ZEROWEIGHT_PROXY_RATE_LIMIT_UPSTREAM": "off"]).configuration
        #expect(off != nil)
        #expect(off?.upstream == nil)
        #expect(off?.rules == RateLimitConfiguration.defaultRules)
    }

    @Test(
        arguments: [
            "0/minute", "10", "10/", "10/fortnight", "10/1s burst", "10/1s burst 0", "-1/s", "/s", "10/0s", "10/60",
            "10/1.5s", "10/-1s", "10/1s burst -3", "10/1s bursts 5", "10/1s burst 20 now", "1000001/s",
            "10/1s burst 1000001", "OFF", "ten/minute", "10 / minute",
        ])
    func malformedRuleIsRefusedNamingTheVariable(text: String) {
        #expect(
            load(["ZEROWEIGHT_PROXY_RATE_LIMIT_TOKEN_SUBJECT": text]).result
                == refused("ZEROWEIGHT_PROXY_RATE_LIMIT_TOKEN_SUBJECT", Self.ruleProblem))
        #expect(
            load(["ZEROWEIGHT_PROXY_RATE_LIMIT_UPSTREAM": text]).result
                == refused("ZEROWEIGHT_PROXY_RATE_LIMIT_UPSTREAM", Self.ruleProblem))
    }

    @Test func ruleInTheFileIsNamedByFileAndLineAndTheEnvironmentWins() {
        let file = "rate_limit.token.ip = 10/fortnight\n"
        #expect(load([:], file: file).result == refused("\(Self.configPath):1 (rate_limit.token.ip)", Self.ruleProblem))
        let overridden = load(["ZEROWEIGHT_PROXY_RATE_LIMIT_TOKEN_IP": "9/minute"], file: file).configuration
        #expect(overridden?.rules[.token]?[.ip] == RateLimitRule(limit: 9, period: 60))
        let fromFile = load([:], file: "rate_limit.token.ip = 9/1m burst 3\n").configuration
        #expect(fromFile?.rules[.token]?[.ip] == RateLimitRule(limit: 9, period: 60, burst: 3))
    }

    // MARK: Store failures and the bundle cache

    @Test(arguments: [("closed", RateLimitConfiguration.FailurePolicy.closed), ("open", .open)])
    func onStoreFailureIsClosedOrOpen(text: String, policy: RateLimitConfiguration.FailurePolicy) {
        #expect(load(["ZEROWEIGHT_PROXY_RATE_LIMIT_ON_STORE_FAILURE": text]).configuration?.onStoreFailure == policy)
    }

    @Test(arguments: ["Open", "fail-open", "allow", " open"])
    func unknownFailurePolicyIsRefused(text: String) {
        #expect(
            load(["ZEROWEIGHT_PROXY_RATE_LIMIT_ON_STORE_FAILURE": text]).result
                == refused("ZEROWEIGHT_PROXY_RATE_LIMIT_ON_STORE_FAILURE", "must be closed or open"))
    }

    @Test func bundlesAreCachedForAMinuteUnlessSetOtherwise() {
        #expect(RateLimitConfiguration.defaultBundleCacheSeconds == 60)
        #expect(load([:]).configuration?.bundleCacheSeconds == 60)
        #expect(load(["ZEROWEIGHT_PROXY_BUNDLE_CACHE_SECONDS": "300"]).configuration?.bundleCacheSeconds == 300)
        #expect(load(["ZEROWEIGHT_PROXY_BUNDLE_CACHE_SECONDS": "0"]).configuration?.bundleCacheSeconds == 0)
        #expect(load([:], file: "bundle_cache_seconds = 86400\n").configuration?.bundleCacheSeconds == 86_400)
    }

    @Test(arguments: ["-1", "1.5", "86401", "1e3", " 60", "sixty", "000000000060"])
    func bundleCacheSecondsMustBeWholeSecondsUpToADay(value: String) {
        #expect(
            load(["ZEROWEIGHT_PROXY_BUNDLE_CACHE_SECONDS": value]).result
                == refused("ZEROWEIGHT_PROXY_BUNDLE_CACHE_SECONDS", "must be whole seconds from 0 to 86400"))
    }

    @Test func theRedisPasswordComesFromAnAbsoluteFilePath() {
        let settings = [
            "ZEROWEIGHT_PROXY_RATE_LIMIT_STORE": "redis", "ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_URL": "redis://r:6379/0",
        ]
        #expect(load(settings).configuration?.redisPasswordFile == nil)
        let withFile = settings.merging(["ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_PASSWORD_FILE": "/run/secrets/redis"]) {
            $1
        }
        #expect(load(withFile).configuration?.redisPasswordFile == "/run/secrets/redis")
        let relative = settings.merging(["ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_PASSWORD_FILE": "redis-password"]) { $1 }
        #expect(
            load(relative).result
                == refused("ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_PASSWORD_FILE", "must be an absolute path"))
    }

    @Test func aMissingRedisPasswordFileIsAStoreFailureNotACrash() {
        #expect(throws: StoreError.self) {
            _ = try RateLimitConfiguration.readPassword("/nonexistent/zeroweight-redis-password")
        }
        #expect(throws: Never.self) { _ = try RateLimitConfiguration.readPassword(nil) }
    }
}
