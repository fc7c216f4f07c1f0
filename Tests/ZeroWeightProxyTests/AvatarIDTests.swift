import Testing

@testable import ZeroWeightProxy

@Suite struct AvatarIDTests {
    static let valid = [
        "a", "Z", "0", "_", "-", "abc", "A-Z_a-z_0-9", "--", "__init__", "0123456789",
        String(repeating: "x", count: 128),
    ]

    static let invalid = [
        "", " ", "a b", "a+b", "a/b", "/", "..", ".", "a.b", "a%2Fb", "a?b", "a#b", "a&b", "a=b", "a:b", "a\\b", "é",
        "ａ", "a\u{0}", "a\n", "\u{202E}a", "a\u{200B}", String(repeating: "x", count: 129),
    ]

    @Test(arguments: valid)
    func acceptsTokens(value: String) throws {
        let id = try #require(AvatarID(value))
        #expect(id.rawValue == value)
        #expect(id.description == value)
        #expect(AvatarID.isToken(value))
    }

    @Test(arguments: invalid)
    func refusesEverythingElse(value: String) {
        #expect(AvatarID(value) == nil)
        #expect(!AvatarID.isToken(value))
    }

    @Test(arguments: valid)
    func roomNamesFollowTheSameRules(value: String) throws {
        let room = try #require(RoomName(value))
        #expect(room.rawValue == value)
        #expect(room.description == value)
    }

    @Test(arguments: invalid)
    func roomNamesRefuseTheSameValues(value: String) {
        #expect(RoomName(value) == nil)
    }

    @Test func lengthIsCountedInBytes() {
        #expect(AvatarID(String(repeating: "x", count: 128)) != nil)
        #expect(AvatarID(String(repeating: "x", count: 129)) == nil)
    }
}
