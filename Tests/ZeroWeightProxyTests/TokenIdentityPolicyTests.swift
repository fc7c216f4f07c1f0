import Testing

@testable import ZeroWeightProxy

@Suite struct TokenIdentityPolicyTests {
    private static let alice = Caller(subject: "alice", tenant: "acme", boundName: "Alice Liddell")
    private static let subjectNoRoom = TokenIdentityPolicy(name: .subject, room: .none)

    /// What `policy` sends upstream for `caller` asking for `name` and `room`, as plain strings.
    private func bind(
        _ policy: TokenIdentityPolicy, name: String?, room: String?, caller: Caller = Self.alice
    ) throws -> Result<[String?], ProxyError> {
        let requestedName = try name.map { try #require(DisplayName($0)) }
        let requestedRoom = try room.map { try #require(RoomName($0)) }
        return Result { () throws(ProxyError) in
            let bound = try policy.bind(name: requestedName, room: requestedRoom, caller: caller)
            return [bound.name?.rawValue, bound.room?.rawValue]
        }
    }

    @Test func theVendorsAnonymousNameIsSpelledAsTheVendorDoes() {
        #expect(TokenIdentityPolicy.anonymousName == "anonymuous")
    }

    @Test func defaultsRejectMismatchesAndAllowTheAnonymousName() {
        let policy = TokenIdentityPolicy(name: .subject, room: .none)
        #expect(policy.mismatch == .reject)
        #expect(policy.allowAnonymous)
    }

    // MARK: The name

    @Test(
        arguments: [
            (nil, .success("Alice Liddell")),
            ("Alice Liddell", .success("Alice Liddell")),
            ("alice liddell", .failure(.nameNotAllowed)),
            ("Mallory", .failure(.nameNotAllowed)),
            ("anonymuous", .success("anonymuous")),
            ("anonymous", .failure(.nameNotAllowed)),
        ] as [(String?, Result<String, ProxyError>)])
    func nameFromTheIdentityRejectsOthers(requested: String?, expected: Result<String, ProxyError>) throws {
        #expect(try bind(Self.subjectNoRoom, name: requested, room: nil) == expected.map { [$0, nil] })
    }

    @Test(arguments: [nil, "Alice Liddell", "Mallory"] as [String?])
    func ignoringAMismatchSendsTheIdentitysName(requested: String?) throws {
        let policy = TokenIdentityPolicy(name: .subject, mismatch: .ignore, room: .none)
        #expect(try bind(policy, name: requested, room: nil) == .success(["Alice Liddell", nil]))
    }

    @Test func ignoringAMismatchStillLetsTheAnonymousNameThrough() throws {
        let policy = TokenIdentityPolicy(name: .subject, mismatch: .ignore, room: .none)
        #expect(try bind(policy, name: "anonymuous", room: nil) == .success(["anonymuous", nil]))
    }

    @Test(arguments: [(TokenIdentityPolicy.Mismatch.reject, false), (.ignore, true)])
    func theAnonymousNameCanBeTurnedOff(mismatch: TokenIdentityPolicy.Mismatch, sendsIdentity: Bool) throws {
        let policy = TokenIdentityPolicy(name: .subject, mismatch: mismatch, allowAnonymous: false, room: .none)
        #expect(
            try bind(policy, name: "anonymuous", room: nil)
                == (sendsIdentity ? .success(["Alice Liddell", nil]) : .failure(.nameNotAllowed)))
    }

    @Test func aClaimNameUsesTheBoundName() throws {
        let policy = TokenIdentityPolicy(name: .claim("name"), room: .none)
        #expect(try bind(policy, name: nil, room: nil) == .success(["Alice Liddell", nil]))
        #expect(try bind(policy, name: "Mallory", room: nil) == .failure(.nameNotAllowed))
    }

    @Test(arguments: [nil, "Mallory", "anonymuous"] as [String?])
    func nameFromTheQueryIsPassedUnchecked(requested: String?) throws {
        let policy = TokenIdentityPolicy(name: .query, room: .query)
        #expect(try bind(policy, name: requested, room: nil, caller: .anonymous) == .success([requested, nil]))
    }

    @Test(
        arguments: [
            Caller.anonymous,
            Caller(subject: "alice", boundName: nil),
            Caller(subject: "alice", boundName: "line\nbreak"),
            Caller(subject: "alice", boundName: String(repeating: "a", count: 65)),
            Caller(subject: "alice", boundName: " "),
        ])
    func anIdentityThatIsNoDisplayNameIsRefused(caller: Caller) throws {
        #expect(try bind(Self.subjectNoRoom, name: nil, room: nil, caller: caller) == .failure(.identityNotUsable))
        #expect(
            try bind(Self.subjectNoRoom, name: "Mallory", room: nil, caller: caller) == .failure(.identityNotUsable))
        #expect(
            try bind(Self.subjectNoRoom, name: "anonymuous", room: nil, caller: caller)
                == .success(["anonymuous", nil]))
    }

    // MARK: The room

    @Test(
        arguments: [(nil, .success(nil)), ("r1", .failure(.roomNotAllowed))] as [(String?, Result<String?, ProxyError>)]
    )
    func noRoomFromCallers(requested: String?, expected: Result<String?, ProxyError>) throws {
        #expect(try bind(Self.subjectNoRoom, name: nil, room: requested) == expected.map { ["Alice Liddell", $0] })
    }

    @Test(arguments: [nil, "r1"] as [String?])
    func roomFromTheQuery(requested: String?) throws {
        let policy = TokenIdentityPolicy(name: .subject, room: .query)
        #expect(try bind(policy, name: nil, room: requested) == .success(["Alice Liddell", requested]))
    }

    @Test(
        arguments: [
            (TokenIdentityPolicy.Mismatch.reject, nil, .success("alice")),
            (.reject, "alice", .success("alice")),
            (.reject, "bob", .failure(.roomNotAllowed)),
            (.ignore, "bob", .success("alice")),
        ] as [(TokenIdentityPolicy.Mismatch, String?, Result<String, ProxyError>)])
    func roomFromTheSubject(
        mismatch: TokenIdentityPolicy.Mismatch, requested: String?, expected: Result<String, ProxyError>
    ) throws {
        let policy = TokenIdentityPolicy(name: .subject, mismatch: mismatch, room: .subject)
        #expect(try bind(policy, name: nil, room: requested) == expected.map { ["Alice Liddell", $0] })
    }

    @Test(arguments: [Caller.anonymous, Caller(subject: "alice@example.com", boundName: "Alice")])
    func aSubjectThatIsNoRoomNameIsRefused(caller: Caller) throws {
        let policy = TokenIdentityPolicy(name: .query, room: .subject)
        #expect(try bind(policy, name: nil, room: nil, caller: caller) == .failure(.identityNotUsable))
    }

    @Test func theNameIsCheckedBeforeTheRoom() throws {
        #expect(try bind(Self.subjectNoRoom, name: "Mallory", room: "r1") == .failure(.nameNotAllowed))
    }
}
