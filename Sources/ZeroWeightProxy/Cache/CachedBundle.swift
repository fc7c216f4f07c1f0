import Foundation

/// A bundle body with its entity tag, as the cache stores it and as every bundle answer is made.
public struct CachedBundle: Sendable, Hashable {
    public let etag: EntityTag
    public let body: Data

    /// Marks a stored value as this format; anything else is a miss.
    private static let magic = Array("zwb1 ".utf8)

    public init(body: Data) {
        self.etag = EntityTag(of: body)
        self.body = body
    }

    /// Reads a stored value back; nil for anything `encoded()` did not write (a miss, not an error).
    init?(decoding data: Data) {
        let bytes = [UInt8](data)
        guard bytes.starts(with: Self.magic),
            let newline = bytes[Self.magic.count...].firstIndex(of: 0x0A),
            let tagText = String(bytes: bytes[Self.magic.count..<newline], encoding: .utf8),
            let etag = EntityTag(stored: tagText)
        else { return nil }
        self.etag = etag
        self.body = Data(bytes[(newline + 1)...])
    }

    /// `zwb1 <etag>\n<body>`: the tag travels with the body, so a hit needs no hashing.
    func encoded() -> Data {
        var data = Data(Self.magic)
        data.append(contentsOf: etag.value.utf8)
        data.append(0x0A)
        data.append(body)
        return data
    }

    /// The 200 answer, or 304 when `ifNoneMatch` names this body: browsers may keep the bundle
    /// (`private`: never a shared cache, since it was authorised for one caller) but must ask again
    /// before each use (`no-cache`), so every use still passes the sign-in and tenant checks.
    func response(ifNoneMatch: String?) -> ProxyResponse {
        let headers = [HTTPHeader("ETag", etag.value)]
        if let ifNoneMatch, etag.isMatched(byIfNoneMatch: ifNoneMatch) {
            return ProxyResponse(
                status: .notModified, headers: headers, body: Data(), cacheControl: Self.cacheControl)
        }
        return ProxyResponse(status: .ok, headers: headers, body: body, cacheControl: Self.cacheControl)
    }

    static let cacheControl = "private, no-cache"
}
