import Testing

@testable import ZeroWeightProxy

@Suite struct IPAddressTests {
    @Test(
        arguments: [
            ("1.2.3.4", [1, 2, 3, 4]),
            ("0.0.0.0", [0, 0, 0, 0]),
            ("255.255.255.255", [255, 255, 255, 255]),
            ("203.0.113.7", [203, 0, 113, 7]),
            ("10.0.0.10", [10, 0, 0, 10]),
        ] as [(String, [UInt8])])
    func ipv4(text: String, bytes: [UInt8]) throws {
        let address = try #require(IPAddress(text))
        #expect(address.bytes == bytes)
        #expect(address.isIPv4)
        #expect(address.description == text)
    }

    @Test(
        arguments: [
            ("::1", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            ("::", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            ("2001:db8::1", [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            (
                "fe80::1:ff:fe00:abcd",
                [0xFE, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0xFF, 0xFE, 0, 0xAB, 0xCD]
            ),
            // IPv4-compatible (not mapped) addresses stay IPv6.
            ("::1.2.3.4", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
        ] as [(String, [UInt8])])
    func ipv6(text: String, bytes: [UInt8]) throws {
        let address = try #require(IPAddress(text))
        #expect(address.bytes == bytes)
        #expect(!address.isIPv4)
        #expect(address.description == text)
    }

    @Test(arguments: [("[::1]", "::1"), ("[2001:db8::1]", "2001:db8::1")])
    func bracketsAreDropped(text: String, plain: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address == IPAddress(plain))
        #expect(address.description == plain)
    }

    @Test(arguments: [
        "::ffff:1.2.3.4", "::FFFF:1.2.3.4", "[::ffff:1.2.3.4]", "::ffff:102:304", "0:0:0:0:0:ffff:1.2.3.4",
    ])
    func mappedIPv4BecomesIPv4(text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.bytes == [1, 2, 3, 4])
        #expect(address.isIPv4)
        #expect(address == IPAddress("1.2.3.4"))
        #expect(address.hashValue == IPAddress("1.2.3.4")?.hashValue)
    }

    @Test func equalityIsByBytes() {
        #expect(IPAddress("2001:db8::1") == IPAddress("2001:0DB8:0:0:0:0:0:1"))
        #expect(IPAddress("2001:db8::1") != IPAddress("2001:db8::2"))
        #expect(Set(["2001:db8::1", "2001:0db8::0001", "[2001:db8::1]"].compactMap(IPAddress.init)).count == 1)
    }

    @Test(arguments: [
        "", " ", "abc", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-1", "1.2.3.4/32", "1.2.3.4 ",
        " 1.2.3.4", "1.2.3.4\n", "0x1.2.3.4", "1..2.3", "[]", "[", "[::1", "::1]", "[[::1]]", ":::1", "1::2::3",
        "::g", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "2001:db8::1/64", "::ffff:1.2.3.256",
        String(repeating: "1", count: 46),
    ])
    func garbageIsRefused(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test(arguments: ["01.2.3.4", "1.02.3.4", "1.2.3.04", "00.0.0.0", "001.002.003.004", "::ffff:01.2.3.4"])
    func leadingZerosInIPv4AreRefused(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test(arguments: ["1.2.3.4:80", "[::1]:80", "[2001:db8::1]:443", "::1:80:", "[::ffff:1.2.3.4]:8080"])
    func portsAreRefused(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test(arguments: ["::ffff:1.2.3.4", "[::ffff:1.2.3.4]", "::ffff:102:304"])
    func mappedAddressesAreWrittenAsIPv4(text: String) {
        #expect(IPAddress(text)?.description == "1.2.3.4")
    }
}
