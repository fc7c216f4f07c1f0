import Testing

@testable import ZeroWeightProxy

@Suite struct AddressRangeTests {
    private func contains(_ range: String, _ address: String) throws -> Bool {
        try #require(AddressRange(range)).contains(try #require(IPAddress(address)))
    }

    @Test(
        arguments: [
            ("10.0.0.0/8", "10.0.0.0", 8),
            ("1.2.3.4", "1.2.3.4", 32),
            ("1.2.3.4/32", "1.2.3.4", 32),
            ("0.0.0.0/0", "0.0.0.0", 0),
            ("::1", "::1", 128),
            ("2001:db8::/32", "2001:db8::", 32),
            ("::/0", "::", 0),
            ("[::1]/128", "::1", 128),
            ("::ffff:10.0.0.0/8", "10.0.0.0", 8),
        ] as [(String, String, Int)])
    func parses(text: String, network: String, prefixLength: Int) throws {
        let range = try #require(AddressRange(text))
        #expect(range.network == IPAddress(network))
        #expect(range.prefixLength == prefixLength)
        #expect(range.description == "\(network)/\(prefixLength)")
    }

    @Test(arguments: [
        "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/-0", "10.0.0.0/+8", "10.0.0.0/", "10.0.0.0/8/8",
        "10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0.0/a", "10.0.0.0/0x8", "10.0.0.0/255.0.0.0", "10.0.0.0/\u{0668}",
        "/8", "", "10.0.0/8", "10.0.0.0:80/8", "::ffff:10.0.0.0/104",
    ])
    func badRangesAreRefused(text: String) {
        #expect(AddressRange(text) == nil)
    }

    // MARK: Prefix edges

    @Test(
        arguments: [
            ("0.0.0.0/0", "0.0.0.0", true), ("0.0.0.0/0", "255.255.255.255", true),
            ("0.0.0.0/0", "::", false), ("0.0.0.0/0", "::1", false),
            ("10.0.0.0/8", "10.0.0.0", true), ("10.0.0.0/8", "10.255.255.255", true),
            ("10.0.0.0/8", "9.255.255.255", false), ("10.0.0.0/8", "11.0.0.0", false),
            ("192.0.2.0/31", "192.0.2.0", true), ("192.0.2.0/31", "192.0.2.1", true),
            ("192.0.2.0/31", "192.0.2.2", false), ("192.0.2.0/31", "192.0.1.255", false),
            ("192.0.2.7/32", "192.0.2.7", true), ("192.0.2.7/32", "192.0.2.6", false),
            ("192.0.2.7/32", "192.0.2.8", false),
            ("192.0.2.128/25", "192.0.2.200", true), ("192.0.2.128/25", "192.0.2.127", false),
            ("172.16.0.0/12", "172.31.255.255", true), ("172.16.0.0/12", "172.32.0.0", false),
            ("128.0.0.0/1", "200.0.0.0", true), ("128.0.0.0/1", "127.255.255.255", false),
            // Host bits in the network are ignored.
            ("10.1.2.3/8", "10.9.9.9", true),
        ] as [(String, String, Bool)])
    func ipv4Edges(range: String, address: String, inside: Bool) throws {
        #expect(try contains(range, address) == inside)
    }

    @Test(
        arguments: [
            ("::/0", "::", true), ("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("::/0", "1.2.3.4", false), ("::/0", "::ffff:1.2.3.4", false),
            ("::1/128", "::1", true), ("::1/128", "::2", false), ("::1/128", "::", false),
            ("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2001:db8::/32", "2001:db9::", false), ("2001:db8::/32", "2001:db7:ffff::", false),
            ("2001:db8::/127", "2001:db8::1", true), ("2001:db8::/127", "2001:db8::2", false),
            ("2001:db8:0:1::/64", "2001:db8:0:1:ffff::1", true), ("2001:db8:0:1::/64", "2001:db8:0:2::1", false),
        ] as [(String, String, Bool)])
    func ipv6Edges(range: String, address: String, inside: Bool) throws {
        #expect(try contains(range, address) == inside)
    }

    @Test(
        arguments: [
            ("1.2.3.4", "::ffff:1.2.3.4", true),
            ("::ffff:10.0.0.0/8", "10.1.1.1", true),
            ("1.2.3.4/32", "::1.2.3.4", false),
            ("::1.2.3.4/128", "1.2.3.4", false),
        ] as [(String, String, Bool)])
    func mappedAddressesCountAsIPv4(range: String, address: String, inside: Bool) throws {
        #expect(try contains(range, address) == inside)
    }

    // MARK: Lists

    @Test func listsTakeCommasSpacesAndTabs() throws {
        let ranges = try AddressRange.parseList(" 10.0.0.0/8, 192.168.1.1  ::1\t2001:db8::/32,").get()
        #expect(ranges.map(\.description) == ["10.0.0.0/8", "192.168.1.1/32", "::1/128", "2001:db8::/32"])
    }

    @Test func anEmptyListIsEmpty() throws {
        #expect(try AddressRange.parseList("").get().isEmpty)
        #expect(try AddressRange.parseList(" , ").get().isEmpty)
    }

    @Test(arguments: [
        ("10.0.0.0/8, bogus, ::1", "bogus"), ("10.0.0.0/33", "10.0.0.0/33"), ("1.2.3.4;5.6.7.8", "1.2.3.4;5.6.7.8"),
    ])
    func aListNamesItsFirstBadEntry(text: String, bad: String) {
        guard case .failure(let entry) = AddressRange.parseList(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(entry.text == bad)
    }
}
