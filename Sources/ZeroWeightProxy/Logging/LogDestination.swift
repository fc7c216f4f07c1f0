/// Where request logs go: standard error (the web server's error log), a file, or syslog (journald).
public enum LogDestination: Sendable, Hashable {
    case standardError
    /// Appended to, one `write(2)` per line (`O_APPEND` keeps concurrent processes' lines whole).
    case file(path: String)
    /// `syslog(3)` with ident `zeroweight-proxy`, facility daemon; journald reads it.
    case syslog

    /// Parses `stderr`, `syslog` or an absolute file path.
    static func parse(_ value: SettingValues.Value) throws(ConfigurationError) -> LogDestination {
        switch value.text {
        case "stderr": return .standardError
        case "syslog": return .syslog
        case let path where path.hasPrefix("/"): return .file(path: path)
        default: throw ConfigurationError(setting: value.origin, problem: "must be stderr, syslog or an absolute path")
        }
    }
}
