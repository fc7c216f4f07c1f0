/// An IPv4 or IPv6 address as its bytes (4 or 16), parsed strictly from its text form.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// Network-order bytes: 4 for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
    private let text: String

    /// nil unless `text` is a literal IPv4 (`a.b.c.d`) or IPv6 address (`inet_pton`), optionally in
    /// brackets; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) becomes the IPv4 address.
    public init?(_ text: String) {
        var literal = Substring(text)
        if literal.hasPrefix("[") && literal.hasSuffix("]") { literal = literal.dropFirst().dropLast() }
        // A NUL would end the C string: inet_pton would read "::1" from "::1\0junk" and ignore the rest.
        guard !literal.isEmpty, literal.utf8.count <= 45, !literal.utf8.contains(0) else { return nil }
        if let v4 = Syscalls.parseIPv4(String(literal)) {
            bytes = v4
        } else if let v6 = Syscalls.parseIPv6(String(literal)) {
            let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
            bytes = Array(v6.prefix(12)) == mapped ? Array(v6.suffix(4)) : v6
        } else {
            return nil
        }
        // A mapped address is logged and compared as the IPv4 address it is.
        self.text = bytes.count == 4 ? bytes.map(String.init).joined(separator: ".") : String(literal)
    }

    public var description: String { text }
    public var isIPv4: Bool { bytes.count == 4 }

    public static func == (lhs: IPAddress, rhs: IPAddress) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}
