/// One response header field.
public struct HTTPHeader: Sendable, Hashable {
    public let name: String
    public let value: String

    /// - Precondition: neither part contains CR, LF or NUL (header injection is a programmer error here;
    ///   untrusted values are validated before they get this far).
    public init(_ name: String, _ value: String) {
        precondition(!name.isEmpty && !name.contains(where: \.isNewline) && !name.contains(":"))
        precondition(!name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }))
        precondition(!value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }))
        self.name = name
        self.value = value
    }
}
