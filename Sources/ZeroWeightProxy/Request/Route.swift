/// The two routes the proxy serves, one per executable.
public enum Route: String, Sendable, Hashable, CaseIterable {
    /// `GET /api/avatars/bundle/{avatar_id}`, served by `zw-bundle`.
    case bundle
    /// `GET /api/livekit/token?avatar_id=…&name=…&room=…`, served by `zw-token`.
    case token

    /// Validates `request` for this route.
    ///
    /// Checks run from the outside in: method, body, then the route's own inputs. Nothing here
    /// touches the network, so a rejected request never reaches the upstream.
    /// - Throws: the `ProxyError` to answer with.
    public func parse(_ request: CGIRequest) throws(ProxyError) -> RouteRequest {
        guard let method = request.method else { throw .missingMethod }
        guard method == "GET" || method == "HEAD" else { throw .methodNotAllowed }
        guard !request.hasBody else { throw .unexpectedBody }
        switch self {
        case .bundle:
            _ = try QueryParameters(parsing: request.queryString, allowed: [])
            return .bundle(avatarID: try Self.avatarID(pathInfo: request.pathInfo))
        case .token:
            // Under Apache's ScriptAlias, /api/livekit/token/anything would arrive as PATH_INFO.
            guard request.pathInfo.isEmpty else { throw .invalidPath }
            let query = try QueryParameters(parsing: request.queryString, allowed: ["avatar_id", "name", "room"])
            guard let rawID = query["avatar_id"] else { throw .missingAvatarID }
            guard let avatarID = AvatarID(rawID) else { throw .invalidAvatarID }
            let name = try query["name"].map { (raw: String) throws(ProxyError) -> DisplayName in
                guard let name = DisplayName(raw) else { throw .invalidName }
                return name
            }
            let room = try query["room"].map { (raw: String) throws(ProxyError) -> RoomName in
                guard let room = RoomName(raw) else { throw .invalidRoom }
                return room
            }
            return .token(avatarID: avatarID, name: name, room: room)
        }
    }

    /// The avatar id from a `PATH_INFO` of exactly `/{id}`.
    static func avatarID(pathInfo: String) throws(ProxyError) -> AvatarID {
        guard pathInfo.utf8.first == UInt8(ascii: "/") else {
            throw pathInfo.isEmpty ? .missingAvatarID : .invalidPath
        }
        // Bytes, not Characters: "/\u{301}abc" is one Character "/\u{301}" then "abc", never the id "abc".
        let segment = pathInfo.utf8.dropFirst()
        if segment.isEmpty { throw .missingAvatarID }
        if segment.contains(UInt8(ascii: "/")) { throw .invalidPath }
        guard let id = AvatarID(String(Substring(segment))) else { throw .invalidAvatarID }
        return id
    }
}

/// A request that passed validation, holding only validated values.
public enum RouteRequest: Sendable, Hashable {
    case bundle(avatarID: AvatarID)
    case token(avatarID: AvatarID, name: DisplayName?, room: RoomName?)

    public var avatarID: AvatarID {
        switch self {
        case .bundle(let id), .token(let id, _, _): id
        }
    }
}
