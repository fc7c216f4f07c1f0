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

    /// Reads the settings from `environment`.
    ///
    /// - Parameters:
    ///   - environment: the variables, usually the process environment.
    ///   - readFile: reads the key file named by `ZEROWEIGHT_API_KEY_FILE`.
    /// - Throws: `ConfigurationError` naming the first bad or missing setting.
    public static func load(
        environment: [String: String], readFile: (String) throws -> Data = { try Data(contentsOf: URL(filePath: $0)) }
    ) throws(ConfigurationError) -> ProxyConfiguration {
        let apiKey = try loadKey(environment: environment, readFile: readFile)
        var configuration = ProxyConfiguration(apiKey: apiKey)
        if let text = environment["ZEROWEIGHT_API_BASE"], !text.isEmpty {
            guard let base = APIBase(validating: text) else {
                throw ConfigurationError(
                    setting: "ZEROWEIGHT_API_BASE",
                    problem: "must be an https URL, or an http URL to a loopback host, without query or user info")
            }
            configuration.apiBase = base
        }
        if let text = environment["ZEROWEIGHT_TIMEOUT_SECONDS"], !text.isEmpty {
            guard text.utf8.allSatisfy({ (48...57).contains($0) || $0 == UInt8(ascii: ".") }),
                let seconds = Double(text), seconds.isFinite, seconds > 0, seconds <= 300
            else {
                throw ConfigurationError(
                    setting: "ZEROWEIGHT_TIMEOUT_SECONDS",
                    problem: "must be a number of seconds above 0 and at most 300")
            }
            configuration.timeout = seconds
        }
        if let text = environment["ZEROWEIGHT_MAX_RESPONSE_BYTES"], !text.isEmpty {
            guard let bytes = Int(text), bytes >= 1024, bytes <= 256 << 20 else {
                throw ConfigurationError(
                    setting: "ZEROWEIGHT_MAX_RESPONSE_BYTES", problem: "must be a whole number from 1024 to 268435456")
            }
            configuration.maximumResponseBytes = bytes
        }
        return configuration
    }

    private static func loadKey(
        environment: [String: String], readFile: (String) throws -> Data
    ) throws(ConfigurationError) -> APIKey {
        let inline = environment["ZEROWEIGHT_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let path = environment["ZEROWEIGHT_API_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        switch (inline, path) {
        case (.some, .some):
            throw ConfigurationError(
                setting: "ZEROWEIGHT_API_KEY_FILE", problem: "is set together with ZEROWEIGHT_API_KEY; set only one")
        case (let value?, nil):
            guard let key = APIKey(value) else {
                throw ConfigurationError(
                    setting: "ZEROWEIGHT_API_KEY", problem: "must be visible ASCII without spaces or line breaks")
            }
            return key
        case (nil, let path?):
            let data: Data
            do { data = try readFile(path) } catch {
                throw ConfigurationError(
                    setting: "ZEROWEIGHT_API_KEY_FILE", problem: "names a file that cannot be read")
            }
            var text = String(decoding: data, as: UTF8.self)
            while let last = text.last, last == "\n" || last == "\r\n" || last == "\r" { text.removeLast() }
            guard let key = APIKey(text) else {
                throw ConfigurationError(
                    setting: "ZEROWEIGHT_API_KEY_FILE",
                    problem: "must hold one line of visible ASCII without spaces (a trailing newline is fine)")
            }
            return key
        case (nil, nil):
            throw ConfigurationError(
                setting: "ZEROWEIGHT_API_KEY", problem: "is not set; set it or ZEROWEIGHT_API_KEY_FILE")
        }
    }
}
