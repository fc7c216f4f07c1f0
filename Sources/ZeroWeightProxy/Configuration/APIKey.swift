/// The ZeroWeight API key: visible ASCII only, and never printed.
///
/// `description`, `debugDescription` and reflection all show `<redacted>`, so the key cannot reach a
/// log line or an error message by accident; only `headerValue` hands it out, for the one header.
public struct APIKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    /// nil unless `value` is 1 to 4096 visible ASCII characters (no spaces or line breaks that
    /// could split the header).
    public init?(_ value: String) {
        guard (1...4096).contains(value.utf8.count),
            value.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        else { return nil }
        self.value = value
    }

    /// The value for the `X-ZW-Api-Key` request header.
    var headerValue: String { value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
