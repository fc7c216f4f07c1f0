import Foundation

/// A strong entity tag naming one exact bundle body, and the `If-None-Match` test against it.
///
/// The tag is the first 128 bits of the body's SHA-256, base64url-encoded, so equal bodies get equal
/// tags in every process on every host, and a browser revalidating against any of them gets a 304.
public struct EntityTag: Sendable, Hashable, CustomStringConvertible {
    /// The tag with its quotes, as sent in `ETag`.
    public let value: String

    /// The tag of `body`.
    public init(of body: Data) {
        let digest = body.withUnsafeBytes { LibCrypto.sha256($0) } ?? []
        value = "\"" + Base64URL.encode(digest.prefix(16)) + "\""
    }

    /// A tag read back from the cache, nil unless it has the shape `init(of:)` gives.
    init?(stored: String) {
        guard stored.utf8.first == 0x22, stored.utf8.last == 0x22,
            Base64URL.decode(bytes: stored.utf8.dropFirst().dropLast())?.count == 16
        else { return nil }
        value = stored
    }

    public var description: String { value }

    /// Whether an `If-None-Match` field value names this tag: `*`, or this tag in its list, compared
    /// weakly (RFC 9110 13.1.2: a `W/` prefix is ignored). A malformed field matches nothing, so the
    /// full answer goes out; a field over 8 KiB is not read.
    public func isMatched(byIfNoneMatch field: String) -> Bool {
        let bytes = Array(field.utf8)
        guard bytes.count <= 8192 else { return false }
        let mine = Array(value.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x09 || byte == 0x2C {
                index += 1
                continue
            }
            if byte == 0x2A { return true }
            if byte == 0x57, index + 1 < bytes.count, bytes[index + 1] == 0x2F { index += 2 }
            guard index < bytes.count, bytes[index] == 0x22,
                let close = bytes[(index + 1)...].firstIndex(of: 0x22)
            else { return false }
            if bytes[index...close].elementsEqual(mine) { return true }
            index = close + 1
        }
        return false
    }
}
