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

    /// Merges `file` and the `ZEROWEIGHT_*` variables of `environment`.
    ///
    /// - Parameters:
    ///   - variables: every setting's name and its environment variable (nil: file only).
    ///   - filePatterns: prefix and suffix of file-only names with a part of the operator's
    ///     choosing, such as `tenant.` … `.avatars`.
    ///   - groups: names that replace one another as a whole: setting `ZEROWEIGHT_API_KEY` in the
    ///     environment drops the file's `api_key_file` too.
    /// - Throws: `ConfigurationError` for an unknown name in either place.
    init(
        file: ConfigFile?, environment: [String: String], variables: [String: String?],
        filePatterns: [(prefix: String, suffix: String)] = [], groups: [Set<String>] = []
    ) throws(ConfigurationError) {
        var names: [String: String] = [:]
        for case (let name, let variable?) in variables { names[variable] = name }
        var fromEnvironment: [String: Value] = [:]
        for (variable, text) in environment where variable.hasPrefix(Self.environmentPrefix) {
            guard variable != Self.configPathVariable else { continue }
            guard let name = names[variable] else {
                throw ConfigurationError(setting: variable, problem: "is not a zeroweight-proxy setting")
            }
            if !text.isEmpty { fromEnvironment[name] = Value(text: text, origin: variable) }
        }
        if let file {
            for entry in file.entries {
                let patterned = filePatterns.contains { pattern in
                    entry.name.hasPrefix(pattern.prefix) && entry.name.hasSuffix(pattern.suffix)
                        && entry.name.count > pattern.prefix.count + pattern.suffix.count
                }
                guard variables.keys.contains(entry.name) || patterned else {
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

    /// The values whose names start with `prefix` and end with `suffix`, by the part between.
    func matching(prefix: String, suffix: String) -> [(key: String, value: Value)] {
        values.compactMap { name, value in
            guard name.hasPrefix(prefix), name.hasSuffix(suffix), name.count > prefix.count + suffix.count else {
                return nil
            }
            return (String(name.dropFirst(prefix.count).dropLast(suffix.count)), value)
        }.sorted { $0.key < $1.key }
    }
}
