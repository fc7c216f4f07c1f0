/// An avatar id: 1 to 128 characters of `[A-Za-z0-9_-]`, safe in a URL path segment as it is.
public struct AvatarID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    /// nil unless `rawValue` is a valid id.
    public init?(_ rawValue: String) {
        guard Self.isToken(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    /// Whether `value` is 1 to 128 characters of `[A-Za-z0-9_-]`.
    static func isToken(_ value: String) -> Bool {
        let utf8 = value.utf8
        guard (1...128).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }
}

/// A LiveKit room name, with the same rules as an avatar id.
public struct RoomName: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    /// nil unless `rawValue` is 1 to 128 characters of `[A-Za-z0-9_-]`.
    public init?(_ rawValue: String) {
        guard AvatarID.isToken(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
}
