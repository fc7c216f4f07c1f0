import Foundation

/// Everything a handler process is configured with, loaded together from one set of sources.
public struct ProxySettings: Sendable {
    public var upstream: ProxyConfiguration
    public var access: AccessConfiguration
    public var log: LogDestination
    public var rateLimits: RateLimitConfiguration

    public init(
        upstream: ProxyConfiguration, access: AccessConfiguration, log: LogDestination = .standardError,
        rateLimits: RateLimitConfiguration = RateLimitConfiguration(store: .off)
    ) {
        self.upstream = upstream
        self.access = access
        self.log = log
        self.rateLimits = rateLimits
    }

    /// Whether `path` is a directory this process may create files in.
    public static func isWritableDirectory(_ path: String) -> Bool { Syscalls.isWritableDirectory(path) }

    /// Reads the config file and `environment` (the environment wins).
    ///
    /// - Throws: `ConfigurationError` naming the first bad, unknown or missing setting and where it is.
    public static func load(
        environment: [String: String],
        readFile: ProxyConfiguration.FileReader = ProxyConfiguration.readFileFromDisk,
        isWritable: (String) -> Bool = ProxySettings.isWritableDirectory
    ) throws(ConfigurationError) -> ProxySettings {
        let settings = try SettingRegistry.values(environment: environment, readFile: readFile)
        let log = try settings["log"].map { (value) throws(ConfigurationError) in try LogDestination.parse(value) }
        return ProxySettings(
            upstream: try ProxyConfiguration.load(settings, readFile: readFile),
            access: try AccessConfiguration.load(settings, readFile: readFile),
            log: log ?? .standardError,
            rateLimits: try RateLimitConfiguration.load(settings, environment: environment, isWritable: isWritable))
    }
}
