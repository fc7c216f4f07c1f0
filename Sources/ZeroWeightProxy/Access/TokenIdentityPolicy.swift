/// How the token route's `name` and `room` relate to the caller's identity.
///
/// The upstream keys a user's memory with a character by `name`, and LiveKit drops a participant
/// when another joins under the same identity; so with authentication on, `name` comes from the
/// verified identity, not from the query. The vendor's anonymous name (which turns memory off)
/// stays available on request.
public struct TokenIdentityPolicy: Sendable, Hashable {
    /// The vendor's spelling, from its React example.
    public static let anonymousName = "anonymuous"

    public enum NameSource: Sendable, Hashable {
        /// The query's `name`, unchecked against any identity (only without authentication).
        case query
        /// The caller's subject.
        case subject
        /// A claim of the caller's token (JWT mode).
        case claim(String)
    }

    public enum Mismatch: String, Sendable, Hashable {
        /// A query value that disagrees with the identity is a 403.
        case reject
        /// A query value that disagrees is dropped; the identity's is sent.
        case ignore
    }

    public enum RoomSource: String, Sendable, Hashable {
        /// The query's `room`, validated like an avatar id.
        case query
        /// No `room` from callers; the upstream generates one.
        case none
        /// The caller's subject, when it is a valid room name.
        case subject
    }

    public var name: NameSource
    public var mismatch: Mismatch
    public var allowAnonymous: Bool
    public var room: RoomSource

    public init(name: NameSource, mismatch: Mismatch = .reject, allowAnonymous: Bool = true, room: RoomSource) {
        self.name = name
        self.mismatch = mismatch
        self.allowAnonymous = allowAnonymous
        self.room = room
    }

    /// The `name` and `room` to send upstream for `caller`, given what the query asked for.
    ///
    /// - Throws: `nameNotAllowed`, `roomNotAllowed` or `identityNotUsable`.
    public func bind(
        name requested: DisplayName?, room requestedRoom: RoomName?, caller: Caller
    ) throws(ProxyError) -> (name: DisplayName?, room: RoomName?) {
        let name: DisplayName?
        if self.name == .query {
            name = requested
        } else if allowAnonymous, requested?.rawValue == Self.anonymousName {
            name = requested
        } else {
            guard let bound = caller.boundName.flatMap(DisplayName.init) else { throw .identityNotUsable }
            if let requested, requested != bound, mismatch == .reject { throw .nameNotAllowed }
            name = bound
        }
        let room: RoomName?
        switch self.room {
        case .query:
            room = requestedRoom
        case .none:
            guard requestedRoom == nil else { throw .roomNotAllowed }
            room = nil
        case .subject:
            guard let bound = caller.subject.flatMap(RoomName.init) else { throw .identityNotUsable }
            if let requestedRoom, requestedRoom != bound, mismatch == .reject { throw .roomNotAllowed }
            room = bound
        }
        return (name, room)
    }
}
