import Foundation

/// Everything a handler process is configured with, loaded together from one set of sources.
public struct ProxySettings: Sendable {
    public var upstream: ProxyConfiguration
    public var access: AccessConfiguration
    public var log: LogDestination

    public init(upstream: ProxyConfiguration, access: AccessConfiguration, log: LogDestination = .standardError) {
        self.upstream = upstream
        self.access = access
        self.log = log
    }

    /// Reads the config file and `environment` (the environment wins).
    ///
    /// - Throws: `ConfigurationError` naming the first bad, unknown or missing setting and where it is.
    public static func load(
        environment: [String: String],
        readFile: ProxyConfiguration.FileReader = ProxyConfiguration.readFileFromDisk
    ) throws(ConfigurationError) -> ProxySettings {
        let settings = try SettingRegistry.values(environment: environment, readFile: readFile)
        let log = try settings["log"].map { (value) throws(ConfigurationError) in try LogDestination.parse(value) }
        return ProxySettings(
            upstream: try ProxyConfiguration.load(settings, readFile: readFile),
            access: try AccessConfiguration.load(settings, readFile: readFile),
            log: log ?? .standardError)
    }
}
