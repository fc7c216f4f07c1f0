import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The upstream call for a validated request: URL, method and headers.
///
/// Every value is percent-encoded here, by one builder, never spliced into the URL as it came.
public struct UpstreamRequest: Sendable, Hashable {
    public static let userAgent = "zeroweight-proxy/\(ProxyVersion.current)"

    /// Path and query after the base, e.g. `/api/v1/avatars/bundle/abc`.
    public let pathAndQuery: String

    public init(_ request: RouteRequest) {
        switch request {
        case .bundle(let avatarID):
            pathAndQuery = "/api/v1/avatars/bundle/" + Self.encode(avatarID.rawValue)
        case .token(let avatarID, let name, let room):
            var query = [("avatar_id", avatarID.rawValue)]
            if let name { query.append(("name", name.rawValue)) }
            if let room { query.append(("room", room.rawValue)) }
            pathAndQuery =
                "/api/v1/livekit/getToken?"
                + query.map { Self.encode($0.0) + "=" + Self.encode($0.1) }.joined(separator: "&")
        }
    }

    /// The `URLRequest` against `base`, carrying the key and the proxy's identity.
    func urlRequest(base: APIBase, key: APIKey, timeout: Double) -> URLRequest {
        // The builder only emits unreserved characters and `%XX`, so the URL always parses.
        var request = URLRequest(url: URL(string: base.origin + pathAndQuery)!)
        request.httpMethod = "GET"
        request.setValue(key.headerValue, forHTTPHeaderField: "X-ZW-Api-Key")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        request.setValue(Self.userAgent, forHTTPHeaderField: "User-Agent")
        request.timeoutInterval = max(1, timeout.rounded(.up))
        request.cachePolicy = .reloadIgnoringLocalCacheData
        request.httpShouldHandleCookies = false
        return request
    }

    /// `value` with every byte outside RFC 3986's unreserved set written as `%XX`.
    static func encode(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                out +=
                    "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
