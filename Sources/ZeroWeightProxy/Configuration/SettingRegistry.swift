import Foundation

/// Every setting the proxy knows, with its environment variable, and how to gather their values.
enum SettingRegistry {
    /// Setting name (as in the config file) and its environment variable; nil: file only.
    static let variables: [String: String?] = [
        "api_key": "ZEROWEIGHT_API_KEY",
        "api_key_file": "ZEROWEIGHT_API_KEY_FILE",
        "api_base": "ZEROWEIGHT_API_BASE",
        "timeout_seconds": "ZEROWEIGHT_TIMEOUT_SECONDS",
        "max_response_bytes": "ZEROWEIGHT_MAX_RESPONSE_BYTES",
        "auth": "ZEROWEIGHT_PROXY_AUTH",
        "remote_user.tenant_variable": "ZEROWEIGHT_PROXY_REMOTE_USER_TENANT_VARIABLE",
        "jwt.jwks_file": "ZEROWEIGHT_PROXY_JWT_JWKS_FILE",
        "jwt.hmac_secret_file": "ZEROWEIGHT_PROXY_JWT_HMAC_SECRET_FILE",
        "jwt.algorithms": "ZEROWEIGHT_PROXY_JWT_ALGORITHMS",
        "jwt.issuer": "ZEROWEIGHT_PROXY_JWT_ISSUER",
        "jwt.audience": "ZEROWEIGHT_PROXY_JWT_AUDIENCE",
        "jwt.leeway_seconds": "ZEROWEIGHT_PROXY_JWT_LEEWAY_SECONDS",
        "jwt.cookie": "ZEROWEIGHT_PROXY_JWT_COOKIE",
        "jwt.subject_claim": "ZEROWEIGHT_PROXY_JWT_SUBJECT_CLAIM",
        "jwt.tenant_claim": "ZEROWEIGHT_PROXY_JWT_TENANT_CLAIM",
        "avatars": "ZEROWEIGHT_PROXY_AVATARS",
        "token.name": "ZEROWEIGHT_PROXY_TOKEN_NAME",
        "token.name_mismatch": "ZEROWEIGHT_PROXY_TOKEN_NAME_MISMATCH",
        "token.allow_anonymous": "ZEROWEIGHT_PROXY_TOKEN_ALLOW_ANONYMOUS",
        "token.room": "ZEROWEIGHT_PROXY_TOKEN_ROOM",
        "trusted_proxies": "ZEROWEIGHT_PROXY_TRUSTED_PROXIES",
        "log": "ZEROWEIGHT_PROXY_LOG",
        "rate_limit.store": "ZEROWEIGHT_PROXY_RATE_LIMIT_STORE",
        "rate_limit.sqlite_path": "ZEROWEIGHT_PROXY_RATE_LIMIT_SQLITE_PATH",
        "rate_limit.redis_url": "ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_URL",
        "rate_limit.redis_password_file": "ZEROWEIGHT_PROXY_RATE_LIMIT_REDIS_PASSWORD_FILE",
        "rate_limit.on_store_failure": "ZEROWEIGHT_PROXY_RATE_LIMIT_ON_STORE_FAILURE",
        "rate_limit.upstream": "ZEROWEIGHT_PROXY_RATE_LIMIT_UPSTREAM",
        "rate_limit.bundle.ip": "ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_IP",
        "rate_limit.bundle.subject": "ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_SUBJECT",
        "rate_limit.bundle.tenant": "ZEROWEIGHT_PROXY_RATE_LIMIT_BUNDLE_TENANT",
        "rate_limit.token.ip": "ZEROWEIGHT_PROXY_RATE_LIMIT_TOKEN_IP",
        "rate_limit.token.subject": "ZEROWEIGHT_PROXY_RATE_LIMIT_TOKEN_SUBJECT",
        "rate_limit.token.tenant": "ZEROWEIGHT_PROXY_RATE_LIMIT_TOKEN_TENANT",
        "bundle_cache_seconds": "ZEROWEIGHT_PROXY_BUNDLE_CACHE_SECONDS",
    ]

    /// File-only names with a part of the operator's choosing.
    static let filePatterns: [(prefix: String, suffix: String)] = [("tenant.", ".avatars")]

    /// Names that replace one another as a whole when one comes from the environment.
    static let groups: [Set<String>] = [["api_key", "api_key_file"]]

    /// Where the config file is read from unless `ZEROWEIGHT_PROXY_CONFIG` names another.
    static let defaultConfigPath = "/etc/zeroweight-proxy/zeroweight-proxy.conf"

    /// The merged values of the config file and `environment`.
    static func values(
        environment: [String: String], readFile: ProxyConfiguration.FileReader
    ) throws(ConfigurationError) -> SettingValues {
        let file = try loadFile(environment: environment, readFile: readFile)
        return try SettingValues(
            file: file, environment: environment, variables: variables, filePatterns: filePatterns, groups: groups)
    }

    /// The parsed config file: the one `ZEROWEIGHT_PROXY_CONFIG` names (which must exist), else the
    /// default path if a file is there.
    private static func loadFile(
        environment: [String: String], readFile: ProxyConfiguration.FileReader
    ) throws(ConfigurationError) -> ConfigFile? {
        let named = environment[SettingValues.configPathVariable].flatMap { $0.isEmpty ? nil : $0 }
        let path = named ?? defaultConfigPath
        let setting = named == nil ? path : SettingValues.configPathVariable
        let data: Data?
        do { data = try readFile(path) } catch {
            throw ConfigurationError(setting: setting, problem: "names a config file that cannot be read")
        }
        guard let data else {
            if named != nil {
                throw ConfigurationError(setting: setting, problem: "names a config file that does not exist")
            }
            return nil
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigurationError(setting: path, problem: "is not UTF-8 text")
        }
        return try ConfigFile(parsing: text, path: path)
    }
}
