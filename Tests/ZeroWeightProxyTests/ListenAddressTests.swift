import Testing

@testable import ZeroWeightProxy

@Suite struct ListenAddressTests {
    @Test(arguments: [
        ("/run/zw/bundle.sock", ListenAddress.unix(path: "/run/zw/bundle.sock")),
        ("/tmp/a b.sock", .unix(path: "/tmp/a b.sock")),
        ("/host:9000", .unix(path: "/host:9000")),
        ("127.0.0.1:9000", .tcp(host: "127.0.0.1", port: 9000)),
        ("0.0.0.0:80", .tcp(host: "0.0.0.0", port: 80)),
        ("localhost:1", .tcp(host: "localhost", port: 1)),
        ("example.org:65535", .tcp(host: "example.org", port: 65535)),
        (":9000", .tcp(host: "127.0.0.1", port: 9000)),
        ("[::1]:9000", .tcp(host: "::1", port: 9000)),
        ("[fe80::1%eth0]:9000", .tcp(host: "fe80::1%eth0", port: 9000)),
        ("[::]:9000", .tcp(host: "::", port: 9000)),
        ("host:09000", .tcp(host: "host", port: 9000)),
    ])
    func parses(text: String, expected: ListenAddress) {
        #expect(ListenAddress(text) == expected)
    }

    @Test(arguments: [
        "", "relative.sock", "./bundle.sock", "host", "host:", ":", "host:0", ":0", "host:65536", "host:-1",
        "host:abc", "host: 9000", "host:9000 ", "host:80/", "::1:9000", "::1", "[::1]", "[::1:9000", "::1]:9000",
        "[]:9000",
    ])
    func refuses(text: String) {
        #expect(ListenAddress(text) == nil)
    }
}
