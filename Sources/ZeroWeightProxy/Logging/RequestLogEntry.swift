import Foundation

/// The logged facts about one request, an allowlist: no headers, no query values but validated ids.
public struct RequestLogEntry: Sendable, Hashable {
    public var time: Date
    public var requestID: String?
    public var route: Route
    public var method: String
    public var status: Int
    public var errorCode: String?
    public var durationMilliseconds: Double
    public var upstreamStatus: Int?
    public var upstreamMilliseconds: Double?
    public var avatarID: AvatarID?
    public var clientAddress: String
    /// Whether the request carried credentials (never what they were).
    public var hasAuthorization: Bool = false
    /// The authentication outcome: none, ok, missing, invalid.
    public var auth: String?
    /// Why authentication failed, as a stable code (never the credentials).
    public var authDetail: String?
    public var subject: String?
    public var tenant: String?
    /// The rate-limit outcome: ok, the limit that refused (ip, subject, tenant, upstream), or a store failure.
    public var rateLimit: String?
    /// Where a bundle came from: hit, miss, shared or waited (`BundleLookup.Source`); nil without a cache.
    public var cache: String?
    public var detail: String?

    public init(
        time: Date, route: Route, method: String, status: Int, errorCode: String? = nil,
        durationMilliseconds: Double, upstreamStatus: Int? = nil, upstreamMilliseconds: Double? = nil,
        avatarID: AvatarID? = nil, clientAddress: String, detail: String? = nil
    ) {
        self.time = time
        self.route = route
        self.method = method
        self.status = status
        self.errorCode = errorCode
        self.durationMilliseconds = durationMilliseconds
        self.upstreamStatus = upstreamStatus
        self.upstreamMilliseconds = upstreamMilliseconds
        self.avatarID = avatarID
        self.clientAddress = clientAddress
        self.detail = detail
    }

    /// The entry as one JSON line, newline included.
    func jsonLine() -> String {
        var line = #"{"time":"# + JSONText.quoted(Self.timestamp(time))
        if let requestID { line += #","request_id":"# + JSONText.quoted(requestID) }
        line += #","route":"# + JSONText.quoted(route.rawValue)
        line += #","method":"# + JSONText.quoted(String(method.prefix(16)))
        line += #","status":"# + String(status)
        if let errorCode { line += #","error":"# + JSONText.quoted(errorCode) }
        line += #","duration_ms":"# + Self.milliseconds(durationMilliseconds)
        if let upstreamStatus { line += #","upstream_status":"# + String(upstreamStatus) }
        if let upstreamMilliseconds { line += #","upstream_ms":"# + Self.milliseconds(upstreamMilliseconds) }
        if let avatarID { line += #","avatar_id":"# + JSONText.quoted(avatarID.rawValue) }
        line += #","client_ip":"# + JSONText.quoted(String(clientAddress.prefix(64)))
        if hasAuthorization { line += #","authorization":true"# }
        if let auth { line += #","auth":"# + JSONText.quoted(auth) }
        if let authDetail { line += #","auth_detail":"# + JSONText.quoted(authDetail) }
        if let subject { line += #","subject":"# + JSONText.quoted(String(subject.prefix(256))) }
        if let tenant { line += #","tenant":"# + JSONText.quoted(String(tenant.prefix(256))) }
        if let rateLimit { line += #","rate_limit":"# + JSONText.quoted(rateLimit) }
        if let cache { line += #","cache":"# + JSONText.quoted(cache) }
        if let detail { line += #","detail":"# + JSONText.quoted(detail) }
        return line + "}\n"
    }

    static func milliseconds(_ value: Double) -> String {
        String(Double((value * 1000).rounded()) / 1000)
    }

    static func timestamp(_ date: Date) -> String {
        LogTimestamp.format(date)
    }
}
