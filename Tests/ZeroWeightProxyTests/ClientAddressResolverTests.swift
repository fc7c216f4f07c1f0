import Testing

@testable import ZeroWeightProxy

@Suite struct ClientAddressResolverTests {
    private func resolver(_ trusted: [String]) throws -> ClientAddressResolver {
        ClientAddressResolver(trustedProxies: try trusted.map { try #require(AddressRange($0)) })
    }

    private func client(_ trusted: [String], peer: String, forwardedFor: String?) throws -> String {
        try resolver(trusted).clientAddress(remoteAddress: peer, forwardedFor: forwardedFor)
    }

    @Test(
        arguments: [
            ([], "10.0.0.1", "198.51.100.9"),
            (["10.0.0.0/8"], "203.0.113.7", "198.51.100.9"),
            (["10.0.0.0/8"], "203.0.113.7", "198.51.100.9, 10.0.0.2"),
            (["10.0.0.0/8"], "203.0.113.7", "10.0.0.2"),
            (["10.0.0.0/8"], "203.0.113.7", "garbage"),
            (["10.0.0.0/8"], "11.0.0.1", "198.51.100.9"),
            (["2001:db8::/32"], "2001:db9::1", "198.51.100.9"),
        ] as [([String], String, String)])
    func anUntrustedPeerIsTheClientWhateverItForwards(trusted: [String], peer: String, forwardedFor: String) throws {
        #expect(try client(trusted, peer: peer, forwardedFor: forwardedFor) == peer)
    }

    @Test(arguments: [nil, ""] as [String?])
    func aTrustedPeerWithoutForwardedForIsTheClient(forwardedFor: String?) throws {
        #expect(try client(["10.0.0.0/8"], peer: "10.0.0.1", forwardedFor: forwardedFor) == "10.0.0.1")
    }

    @Test(arguments: [
        ("198.51.100.9", "198.51.100.9"),
        ("198.51.100.9, 10.0.0.2", "198.51.100.9"),
        ("6.6.6.6, 198.51.100.9, 10.0.0.2", "198.51.100.9"),
        ("6.6.6.6, 198.51.100.9, 10.0.0.3, 10.0.0.2", "198.51.100.9"),
        ("10.0.0.9, 198.51.100.9, 10.0.0.2", "198.51.100.9"),
    ])
    func aTrustedPeerIsWalkedRightToLeftToTheFirstUntrustedHop(forwardedFor: String, expected: String) throws {
        #expect(try client(["10.0.0.0/8"], peer: "10.0.0.1", forwardedFor: forwardedFor) == expected)
    }

    @Test(arguments: [
        ("10.0.0.3, 10.0.0.2", "10.0.0.3"), ("10.0.0.2", "10.0.0.2"), ("192.168.0.5, 10.0.0.2", "192.168.0.5"),
    ])
    func allTrustedHopsGiveTheLeftmost(forwardedFor: String, expected: String) throws {
        #expect(
            try client(["10.0.0.0/8", "192.168.0.0/16"], peer: "10.0.0.1", forwardedFor: forwardedFor) == expected)
    }

    @Test(arguments: [
        ("6.6.6.6, garbage, 10.0.0.2", "10.0.0.2"),
        ("6.6.6.6, garbage", "10.0.0.1"),
        ("198.51.100.9:4711, 10.0.0.2", "10.0.0.2"),
        ("6.6.6.6, unknown", "10.0.0.1"),
        ("6.6.6.6, 198.51.100.9\n{\"forged\":1}", "10.0.0.1"),
        ("6.6.6.6, , 10.0.0.2", "10.0.0.2"),
    ])
    func aGarbageHopStopsTheWalkAtTheNearestTrustedHop(forwardedFor: String, expected: String) throws {
        #expect(try client(["10.0.0.0/8"], peer: "10.0.0.1", forwardedFor: forwardedFor) == expected)
    }

    @Test(arguments: ["  198.51.100.9 ,10.0.0.2", "198.51.100.9,\t10.0.0.2 ", "198.51.100.9,10.0.0.2"])
    func spacesAroundHopsAreIgnored(forwardedFor: String) throws {
        #expect(try client(["10.0.0.0/8"], peer: "10.0.0.1", forwardedFor: forwardedFor) == "198.51.100.9")
    }

    @Test(arguments: [
        ("2001:db8::1", "2a00:1450::1, 2001:db8::2", "2a00:1450::1"),
        ("2001:db8::1", "[2a00:1450::1], [2001:db8::2]", "2a00:1450::1"),
        ("2001:db8::1", "198.51.100.9, 2001:db8::2", "198.51.100.9"),
        ("[2001:db8::1]", "2a00:1450::1", "2a00:1450::1"),
        ("2001:db8::1", "2001:db8::3, 2001:db8::2", "2001:db8::3"),
    ])
    func ipv6Hops(peer: String, forwardedFor: String, expected: String) throws {
        #expect(try client(["2001:db8::/32"], peer: peer, forwardedFor: forwardedFor) == expected)
    }

    @Test func aMappedPeerMatchesAnIPv4Range() throws {
        #expect(try client(["10.0.0.0/8"], peer: "::ffff:10.0.0.1", forwardedFor: "198.51.100.9") == "198.51.100.9")
    }

    @Test(arguments: ["", "unix:/run/zw.sock", "1.2.3.4\n{\"forged\":1}"])
    func aPeerThatIsNoAddressIsReturnedAsGiven(peer: String) throws {
        #expect(try client(["0.0.0.0/0", "::/0"], peer: peer, forwardedFor: "198.51.100.9") == peer)
    }
}
