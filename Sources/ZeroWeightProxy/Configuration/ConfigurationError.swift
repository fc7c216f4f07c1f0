/// A setting that is missing or wrong, named so the operator can fix it.
///
/// The message names the setting and the problem, never the value (which may be the key).
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The environment variable or config key at fault.
    public let setting: String
    /// What is wrong with it, in one sentence.
    public let problem: String

    public init(setting: String, problem: String) {
        self.setting = setting
        self.problem = problem
    }

    public var description: String { "\(setting): \(problem)" }

    /// A value's problem before it is known which setting it belongs to.
    struct BadValue: Error, Sendable, Hashable {
        let problem: String
        init(_ problem: String) { self.problem = problem }
    }
}
