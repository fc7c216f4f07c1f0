/// Setting values gathered from the config file and the environment, the environment winning.
///
/// Each value remembers where it came from (`ZEROWEIGHT_TIMEOUT_SECONDS`, or
/// `/etc/zeroweight-proxy/zeroweight-proxy.conf:12 (timeout_seconds)`), so an error names the
/// place the operator has to fix.
struct SettingValues: Sendable, Hashable {
    struct Value: Sendable, Hashable {
        let text: String
        let origin: String
    }

    /// The environment variable that names the config file; not a setting itself.
    static let configPathVariable = "ZEROWEIGHT_PROXY_CONFIG"
    static let environmentPrefix = "ZEROWEIGHT_"

    private(set) var values: [String: Value] = [:]

    /// Merges `file` and the `ZEROWEIGHT_*` variables of `environment`, accepting only `known` names.
    ///
    /// A name set in the environment replaces the file's; the names in each of `groups` replace one
    /// another as a whole (setting `ZEROWEIGHT_API_KEY` in the environment drops the file's
    /// `api_key_file` too).
    /// - Throws: `ConfigurationError` for an unknown name in either place.
    init(
        file: ConfigFile?, environment: [String: String], known: Set<String>, groups: [Set<String>]
    ) throws(ConfigurationError) {
        var fromEnvironment: [String: Value] = [:]
        for (variable, text) in environment where variable.hasPrefix(Self.environmentPrefix) {
            guard variable != Self.configPathVariable else { continue }
            let name = String(variable.dropFirst(Self.environmentPrefix.count)).lowercased()
            guard known.contains(name), variable == Self.environmentPrefix + name.uppercased() else {
                throw ConfigurationError(setting: variable, problem: "is not a zeroweight-proxy setting")
            }
            if !text.isEmpty { fromEnvironment[name] = Value(text: text, origin: variable) }
        }
        if let file {
            for entry in file.entries {
                guard known.contains(entry.name) else {
                    throw ConfigurationError(
                        setting: "\(file.path):\(entry.line)",
                        problem: "\(entry.name) is not a zeroweight-proxy setting")
                }
                values[entry.name] = Value(text: entry.value, origin: "\(file.path):\(entry.line) (\(entry.name))")
            }
        }
        for group in groups where !group.isDisjoint(with: fromEnvironment.keys) {
            for name in group { values[name] = nil }
        }
        values.merge(fromEnvironment) { _, environment in environment }
    }

    subscript(name: String) -> Value? { values[name] }
}
