import Testing

@testable import ZeroWeightProxy

@Suite struct APIBaseTests {
    @Test func defaultIsTheVendor() {
        #expect(APIBase.default.origin == "https://api.zeroweight.ai")
        #expect(APIBase.default.description == "https://api.zeroweight.ai")
    }

    @Test(arguments: [
        ("https://api.zeroweight.ai", "https://api.zeroweight.ai"),
        ("https://api.zeroweight.ai/", "https://api.zeroweight.ai"),
        ("https://api.zeroweight.ai//", "https://api.zeroweight.ai"),
        ("HTTPS://API.EXAMPLE.COM", "HTTPS://API.EXAMPLE.COM"),
        ("https://api.example.com:8443", "https://api.example.com:8443"),
        ("https://gateway.example/zw/", "https://gateway.example/zw"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://127.8.9.10:1", "http://127.8.9.10:1"),
        ("http://localhost", "http://localhost"),
        ("http://LOCALHOST:80/", "http://LOCALHOST:80"),
        ("http://[::1]:9", "http://[::1]:9"),
        ("http://[::1]", "http://[::1]"),
    ])
    func accepts(text: String, origin: String) throws {
        let base = try #require(APIBase(validating: text))
        #expect(base.origin == origin)
        #expect(base.description == origin)
    }

    @Test(arguments: [
        ("", "empty"),
        ("api.zeroweight.ai", "no scheme"),
        ("//api.zeroweight.ai", "scheme-relative"),
        ("https://", "no host"),
        ("https:api.zeroweight.ai", "no authority"),
        ("http://example.com", "plain http to a remote host"),
        ("http://api.zeroweight.ai", "plain http to the vendor"),
        ("http://127.0.0.1.example.com", "loopback-looking name"),
        ("http://localhost.example.com", "localhost-looking name"),
        ("http://127.1", "short dotted form"),
        ("http://127.0.0.256", "octet out of range"),
        ("http://128.0.0.1", "not 127/8"),
        ("http://0.0.0.0", "unspecified address"),
        ("http://[::2]", "other IPv6 address"),
        ("http://[::ffff:8.8.8.8]", "mapped remote IPv4"),
        ("ftp://127.0.0.1", "ftp"),
        ("ftp://example.com", "ftp"),
        ("file:///etc/passwd", "file"),
        ("ws://127.0.0.1", "websocket"),
        ("javascript:alert(1)", "javascript"),
        ("https://user@api.example.com", "user"),
        ("https://user:pass@api.example.com", "user and password"),
        ("https://:pass@api.example.com", "password"),
        ("http://127.0.0.1@evil.example", "user that looks like loopback"),
        ("https://api.example.com?x=1", "query"),
        ("https://api.example.com/?", "empty query"),
        ("https://api.example.com#top", "fragment"),
        ("https://api.example.com#", "empty fragment"),
        (" https://api.example.com", "leading space"),
        ("https://api.example.com ", "trailing space"),
        ("https://api.example.com\n", "trailing newline"),
        ("https://api.example.com/a b", "space in the path"),
        ("https://api.example.com/\tx", "tab in the path"),
    ])
    func refuses(text: String, why: String) {
        #expect(APIBase(validating: text) == nil, "\(why)")
    }

    @Test(arguments: [
        ("localhost", true),
        ("LocalHost", true),
        ("[::1]", true),
        ("::1", true),
        ("127.0.0.1", true),
        ("127.255.255.254", true),
        ("127.0.0.01", true),
        ("0127.0.0.1", false),
        ("127.0.0", false),
        ("127.0.0.1.", false),
        ("127.0.0.1.2", false),
        ("127..0.1", false),
        ("127.0.0.-1", false),
        ("10.0.0.1", false),
        ("localhost.", false),
        ("example.com", false),
        ("", false),
    ])
    func loopbackHosts(host: String, isLoopback: Bool) {
        #expect(APIBase.isLoopback(host) == isLoopback)
    }
}
