import Foundation

/// Everything the handlers need to reach ZeroWeight, read once per process.
///
/// Sources, in order: the process environment (CGI: what the web server set; FastCGI: what the
/// process was started with). The loader is pure over its inputs so tests pass plain dictionaries.
public struct ProxyConfiguration: Sendable, Hashable {
    public static let defaultTimeout = 10.0
    public static let defaultMaximumResponseBytes = 4 << 20

    public var apiKey: APIKey
    public var apiBase: APIBase
    /// The whole-request deadline for one upstream exchange, in seconds.
    public var timeout: Double
    /// Upstream bodies larger than this are refused with 502.
    public var maximumResponseBytes: Int

    public init(
        apiKey: APIKey, apiBase: APIBase = .default, timeout: Double = Self.defaultTimeout,
        maximumResponseBytes: Int = Self.defaultMaximumResponseBytes
    ) {
        self.apiKey = apiKey
        self.apiBase = apiBase
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// Where the config file is read from unless `ZEROWEIGHT_PROXY_CONFIG` names another.
    public static let defaultConfigPath = SettingRegistry.defaultConfigPath

    /// Reads a file: its bytes, nil when there is no such file, or an error when it cannot be read.
    public typealias FileReader = (String) throws -> Data?

    /// The real file reader.
    public static func readFileFromDisk(_ path: String) throws -> Data? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try Data(contentsOf: URL(filePath: path))
    }

    /// Reads the settings from the config file and `environment`; the environment wins.
    ///
    /// - Parameters:
    ///   - environment: the variables, usually the process environment.
    ///   - readFile: reads the config file and the key file.
    /// - Throws: `ConfigurationError` naming the first bad, unknown or missing setting and where it is.
    public static func load(
        environment: [String: String], readFile: FileReader = readFileFromDisk
    ) throws(ConfigurationError) -> ProxyConfiguration {
        try load(SettingRegistry.values(environment: environment, readFile: readFile), readFile: readFile)
    }

    /// The upstream settings among `settings`.
    static func load(_ settings: SettingValues, readFile: FileReader) throws(ConfigurationError) -> ProxyConfiguration {
        let apiKey = try loadKey(settings, readFile: readFile)
        var configuration = ProxyConfiguration(apiKey: apiKey)
        if let value = settings["api_base"] {
            guard let base = APIBase(validating: value.text) else {
                throw ConfigurationError(
                    setting: value.origin,
                    problem: "must be an https URL, or an http URL to a loopback host, without query or user info")
            }
            configuration.apiBase = base
        }
        if let value = settings["timeout_seconds"] {
            guard value.text.utf8.allSatisfy({ (48...57).contains($0) || $0 == UInt8(ascii: ".") }),
                let seconds = Double(value.text), seconds.isFinite, seconds > 0, seconds <= 300
            else {
                throw ConfigurationError(
                    setting: value.origin, problem: "must be a number of seconds above 0 and at most 300")
            }
            configuration.timeout = seconds
        }
        if let value = settings["max_response_bytes"] {
            guard let bytes = Int(value.text), bytes >= 1024, bytes <= 256 << 20 else {
                throw ConfigurationError(
                    setting: value.origin, problem: "must be a whole number from 1024 to 268435456")
            }
            configuration.maximumResponseBytes = bytes
        }
        return configuration
    }

    private static func loadKey(_ settings: SettingValues, readFile: FileReader) throws(ConfigurationError) -> APIKey {
        switch (settings["api_key"], settings["api_key_file"]) {
        case (.some, .some(let file)):
            throw ConfigurationError(
                setting: file.origin,
                problem: "is set together with the key itself (ZEROWEIGHT_API_KEY or api_key); set only one")
        case (let value?, nil):
            guard let key = APIKey(value.text) else {
                throw ConfigurationError(
                    setting: value.origin, problem: "must be visible ASCII without spaces or line breaks")
            }
            return key
        case (nil, let file?):
            let data: Data?
            do { data = try readFile(file.text) } catch { data = nil }
            guard let data else {
                throw ConfigurationError(setting: file.origin, problem: "names a file that cannot be read")
            }
            var text = String(decoding: data, as: UTF8.self)
            while let last = text.last, last == "\n" || last == "\r\n" || last == "\r" { text.removeLast() }
            guard let key = APIKey(text) else {
                throw ConfigurationError(
                    setting: file.origin,
                    problem: "must hold one line of visible ASCII without spaces (a trailing newline is fine)")
            }
            return key
        case (nil, nil):
            throw ConfigurationError(
                setting: "ZEROWEIGHT_API_KEY", problem: "is not set; set it or ZEROWEIGHT_API_KEY_FILE")
        }
    }
}
