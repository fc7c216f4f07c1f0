/// The claims of a token whose signature, times, issuer and audience have been checked.
///
/// Only `JWTVerifier.verify(_:now:)` makes these, so holding one means the checks passed.
public struct JWTClaims: Sendable, Hashable {
    /// Every top-level claim, as the issuer wrote it.
    public let values: [String: JSONValue]

    init(_ values: [String: JSONValue]) {
        self.values = values
    }

    /// The `sub` claim, when it is a string.
    public var subject: String? { values["sub"]?.stringValue }

    /// A string claim by name, or by a dotted path into nested objects.
    ///
    /// A top-level claim whose name is exactly `name` wins, dots and all (claim names are often
    /// URLs such as `https://example.com/roles`); only when there is none is `name` read as a path,
    /// so `org.id` finds `{"org": {"id": "…"}}`.
    /// - Parameter name: A claim name, or names joined by `.`.
    /// - Returns: The string there, or nil when it is missing or not a string.
    public func string(_ name: String) -> String? {
        if let value = values[name] { return value.stringValue }
        let path = name.split(separator: ".", omittingEmptySubsequences: false)
        guard path.count > 1, !path.contains(where: \.isEmpty) else { return nil }
        var current = JSONValue.object(values)
        for component in path {
            guard let next = current.objectValue?[String(component)] else { return nil }
            current = next
        }
        return current.stringValue
    }
}
