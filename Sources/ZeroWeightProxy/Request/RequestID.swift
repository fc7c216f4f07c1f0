/// The request's id: a valid incoming `X-Request-ID`, or a fresh random one.
///
/// Accepted ids are 1 to 64 characters of `[A-Za-z0-9._-]`, so they are safe in a header, a JSON
/// body and a log line as they are.
public struct RequestID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    /// The incoming id when valid, else a new one.
    public init(incoming: String?) {
        if let incoming, Self.isValid(incoming) {
            rawValue = incoming
        } else {
            var generator = SystemRandomNumberGenerator()
            let high = generator.next() as UInt64
            let low = generator.next() as UInt64
            rawValue = Self.hex(high) + Self.hex(low)
        }
    }

    public var description: String { rawValue }

    static func isValid(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                    true
                default:
                    false
                }
            }
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
