import Foundation
import Testing

@testable import ZeroWeightProxy

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite struct UpstreamRequestTests {
    private func token(_ id: String, name: String? = nil, room: String? = nil) -> UpstreamRequest {
        UpstreamRequest(
            .token(avatarID: AvatarID(id)!, name: name.map { DisplayName($0)! }, room: room.map { RoomName($0)! }))
    }

    @Test(arguments: [
        ("abc", "/api/v1/avatars/bundle/abc"),
        ("A-Z_a-z_0-9", "/api/v1/avatars/bundle/A-Z_a-z_0-9"),
        ("--", "/api/v1/avatars/bundle/--"),
    ])
    func bundlePath(id: String, expected: String) {
        #expect(UpstreamRequest(.bundle(avatarID: AvatarID(id)!)).pathAndQuery == expected)
    }

    @Test func tokenWithOnlyTheAvatar() {
        #expect(token("abc").pathAndQuery == "/api/v1/livekit/getToken?avatar_id=abc")
    }

    @Test func tokenWithNameAndRoom() {
        #expect(
            token("abc", name: "Alice", room: "r1").pathAndQuery
                == "/api/v1/livekit/getToken?avatar_id=abc&name=Alice&room=r1")
    }

    @Test func tokenOmitsAnAbsentName() {
        #expect(token("abc", room: "r1").pathAndQuery == "/api/v1/livekit/getToken?avatar_id=abc&room=r1")
    }

    @Test func tokenOmitsAnAbsentRoom() {
        #expect(token("abc", name: "Bob").pathAndQuery == "/api/v1/livekit/getToken?avatar_id=abc&name=Bob")
    }

    @Test(arguments: [
        ("Alice Smith", "Alice%20Smith"),
        ("Alice&avatar_id=other", "Alice%26avatar_id%3Dother"),
        ("Alice&room=x", "Alice%26room%3Dx"),
        ("a+b", "a%2Bb"),
        ("../../x", "..%2F..%2Fx"),
        ("100%", "100%25"),
        ("a?b#c", "a%3Fb%23c"),
        ("O'Brien", "O%27Brien"),
        ("<b>\"x\"", "%3Cb%3E%22x%22"),
        ("Zoë", "Zo%C3%AB"),
        ("ÿ", "%C3%BF"),
        ("张伟", "%E5%BC%A0%E4%BC%9F"),
        ("👋", "%F0%9F%91%8B"),
        ("a-b_c.d~e", "a-b_c.d~e"),
    ])
    func tokenEncodesTheName(name: String, encoded: String) {
        #expect(token("abc", name: name).pathAndQuery == "/api/v1/livekit/getToken?avatar_id=abc&name=" + encoded)
    }

    @Test(arguments: [
        ("", ""),
        ("AZaz09", "AZaz09"),
        ("-_.~", "-_.~"),
        ("&", "%26"),
        ("=", "%3D"),
        ("/", "%2F"),
        (" ", "%20"),
        ("+", "%2B"),
        ("%", "%25"),
        ("?", "%3F"),
        ("#", "%23"),
        (":", "%3A"),
        ("@", "%40"),
        ("!*'();$,[]", "%21%2A%27%28%29%3B%24%2C%5B%5D"),
        ("\u{0}", "%00"),
        ("\n", "%0A"),
        ("\u{7F}", "%7F"),
        ("é", "%C3%A9"),
        ("\u{FFFF}", "%EF%BF%BF"),
        ("👋", "%F0%9F%91%8B"),
    ])
    func encodeKeepsOnlyUnreservedBytes(value: String, expected: String) {
        #expect(UpstreamRequest.encode(value) == expected)
    }

    @Test func encodeWritesEveryNonUnreservedByteAsUppercaseHex() {
        for byte in UInt8(0)...UInt8(0x7F) {
            let scalar = Unicode.Scalar(byte)
            let encoded = UpstreamRequest.encode(String(Character(scalar)))
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", "-", "_", ".", "~":
                #expect(encoded == String(Character(scalar)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                #expect(encoded == "%" + (hex.count == 1 ? "0" + hex : hex))
            }
        }
    }

    @Test func userAgentNamesTheVersion() {
        #expect(UpstreamRequest.userAgent == "zeroweight-proxy/" + ProxyVersion.current)
        #expect(UpstreamRequest.userAgent == "zeroweight-proxy/0.1.0")
    }

    @Test func urlRequestCarriesTheKeyAndIdentity() throws {
        let key = try #require(APIKey("zw_live_K3y!~"))
        let request = token("abc", name: "Alice Smith", room: "r1").urlRequest(base: .default, key: key, timeout: 10)
        #expect(
            request.url?.absoluteString
                == "https://api.zeroweight.ai/api/v1/livekit/getToken?avatar_id=abc&name=Alice%20Smith&room=r1")
        #expect(request.httpMethod == "GET")
        let headers = Dictionary(
            uniqueKeysWithValues: (request.allHTTPHeaderFields ?? [:]).map { ($0.key.lowercased(), $0.value) })
        #expect(
            headers == [
                "x-zw-api-key": "zw_live_K3y!~",
                "accept": "application/json",
                "user-agent": "zeroweight-proxy/0.1.0",
            ])
        #expect(request.value(forHTTPHeaderField: "X-ZW-Api-Key") == "zw_live_K3y!~")
        #expect(request.value(forHTTPHeaderField: "x-zw-api-key") == "zw_live_K3y!~")
        #expect(request.httpBody == nil)
        #expect(request.timeoutInterval == 10)
        #expect(request.cachePolicy == .reloadIgnoringLocalCacheData)
        #expect(request.httpShouldHandleCookies == false)
    }

    @Test(arguments: [
        ("https://api.zeroweight.ai", "https://api.zeroweight.ai/api/v1/avatars/bundle/abc"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v1/avatars/bundle/abc"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v1/avatars/bundle/abc"),
        ("http://[::1]:9", "http://[::1]:9/api/v1/avatars/bundle/abc"),
        ("https://gateway.example/zw/", "https://gateway.example/zw/api/v1/avatars/bundle/abc"),
    ])
    func urlRequestAppendsToTheBase(base: String, expected: String) throws {
        let apiBase = try #require(APIBase(validating: base))
        let key = try #require(APIKey("k"))
        let request = UpstreamRequest(.bundle(avatarID: AvatarID("abc")!)).urlRequest(
            base: apiBase, key: key, timeout: 5)
        #expect(request.url?.absoluteString == expected)
    }

    @Test func urlKeepsEncodedNonASCIIAsSent() throws {
        let key = try #require(APIKey("k"))
        let request = token("abc", name: "Zoë & 👋").urlRequest(base: .default, key: key, timeout: 5)
        #expect(
            request.url?.absoluteString
                == "https://api.zeroweight.ai/api/v1/livekit/getToken"
                + "?avatar_id=abc&name=Zo%C3%AB%20%26%20%F0%9F%91%8B")
        let items = URLComponents(url: try #require(request.url), resolvingAgainstBaseURL: false)?.queryItems
        #expect(items == [URLQueryItem(name: "avatar_id", value: "abc"), URLQueryItem(name: "name", value: "Zoë & 👋")])
    }

    @Test(arguments: [(0.2, 1.0), (1.0, 1.0), (2.5, 3.0), (10.0, 10.0), (300.0, 300.0)])
    func timeoutIntervalIsWholeSecondsAtLeastOne(timeout: Double, expected: Double) throws {
        let key = try #require(APIKey("k"))
        let request = token("abc").urlRequest(base: .default, key: key, timeout: timeout)
        #expect(request.timeoutInterval == expected)
    }
}
