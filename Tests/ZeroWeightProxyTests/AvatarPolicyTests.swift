import Testing

@testable import ZeroWeightProxy

@Suite struct AvatarPolicyTests {
    typealias Avatars = AvatarPolicy.Avatars

    // MARK: Parsing a list

    @Test(arguments: [
        ("*", Avatars.all),
        (" * ", .all),
        ("abc", .only(["abc"])),
        ("abc,def", .only(["abc", "def"])),
        ("abc, def\tghi  jkl", .only(["abc", "def", "ghi", "jkl"])),
        ("abc,,abc", .only(["abc"])),
        ("A-b_9", .only(["A-b_9"])),
        ("", .only([])),
    ])
    func acceptedLists(text: String, avatars: Avatars) {
        #expect(Avatars.parse(text) == .success(avatars))
    }

    @Test(arguments: ["abc,*", "* abc", "*,*", "* *"])
    func starMustStandAlone(text: String) {
        #expect(Avatars.parse(text) == .failure(ConfigurationError.BadValue("* must stand alone")))
    }

    @Test(arguments: ["a/b", "abc,d e/f", "abc;def", "ab*", "é", String(repeating: "a", count: 129)])
    func invalidIDsAreRefused(text: String) {
        #expect(Avatars.parse(text) == .failure(ConfigurationError.BadValue("has an invalid avatar id")))
    }

    // MARK: Who may use what

    private let policy = AvatarPolicy(
        everyone: .only(["shared"]), tenants: ["a": .only(["alpha", "both"]), "b": .only(["beta", "both"])])

    @Test(
        arguments: [
            ("shared", nil, true), ("shared", "a", true), ("shared", "z", true),
            ("alpha", "a", true), ("alpha", "b", false), ("alpha", nil, false), ("alpha", "z", false),
            ("beta", "b", true), ("beta", "a", false),
            ("both", "a", true), ("both", "b", true), ("both", nil, false),
            ("other", "a", false), ("other", nil, false),
        ] as [(String, String?, Bool)])
    func aTenantReachesOnlyItsOwnAndSharedAvatars(avatar: String, tenant: String?, allowed: Bool) throws {
        #expect(policy.allows(try #require(AvatarID(avatar)), tenant: tenant) == allowed)
    }

    @Test(arguments: [nil, "a", "z"] as [String?])
    func everyAvatarForEveryone(tenant: String?) throws {
        let open = AvatarPolicy(everyone: .all, tenants: ["a": .only(["alpha"])])
        #expect(open.allows(try #require(AvatarID("anything")), tenant: tenant))
    }

    @Test(arguments: [("a", true), ("b", false)])
    func everyAvatarForOneTenant(tenant: String, allowed: Bool) throws {
        let policy = AvatarPolicy(everyone: .only([]), tenants: ["a": .all])
        #expect(policy.allows(try #require(AvatarID("anything")), tenant: tenant) == allowed)
        #expect(!policy.allows(try #require(AvatarID("anything")), tenant: nil))
    }

    @Test func theDefaultPolicyAllowsNothing() throws {
        #expect(AvatarPolicy() == AvatarPolicy(everyone: .only([]), tenants: [:]))
        #expect(!AvatarPolicy().allows(try #require(AvatarID("abc")), tenant: nil))
        #expect(!AvatarPolicy().allows(try #require(AvatarID("abc")), tenant: "a"))
    }

    @Test func tenantNamesAreCaseSensitive() throws {
        #expect(!policy.allows(try #require(AvatarID("alpha")), tenant: "A"))
    }
}
