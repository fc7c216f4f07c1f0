/// A CIDR block such as `10.0.0.0/8` or `2001:db8::/32`; a bare address is a /32 or /128.
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int

    /// nil unless `text` is an address, optionally followed by `/` and a prefix length that fits it.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        let maximum = address.bytes.count * 8
        if parts.count == 2 {
            // Digits only: Int() alone would take "+8" and "-0" (which made /-0 trust everything).
            guard parts[1].utf8.allSatisfy({ (48...57).contains($0) }), let length = Int(parts[1]),
                (0...maximum).contains(length)
            else {
                return nil
            }
            prefixLength = length
        } else {
            prefixLength = maximum
        }
        network = address
    }

    public var description: String { "\(network)/\(prefixLength)" }

    /// Whether `address` is inside this block (IPv4 and IPv6 never match each other).
    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(network.bytes, address.bytes) {
            guard remaining > 0 else { return true }
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            guard mine & mask == theirs & mask else { return false }
            remaining -= bits
        }
        return true
    }

    /// Parses a comma- or space-separated list; nil names the first entry that is not a range.
    static func parseList(_ text: String) -> Result<[AddressRange], BadEntry> {
        var ranges: [AddressRange] = []
        for entry in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
            guard let range = AddressRange(String(entry)) else { return .failure(BadEntry(text: String(entry))) }
            ranges.append(range)
        }
        return .success(ranges)
    }

    struct BadEntry: Error { let text: String }
}
