/// Which avatars a caller may load and talk to, checked before any upstream call.
///
/// `avatars` lists what every caller may use (`*`: every avatar the site's key reaches, for
/// single-tenant sites); `tenant.<id>.avatars` adds what callers of one tenant may use. A caller of
/// tenant A never reaches an avatar listed only for tenant B.
public struct AvatarPolicy: Sendable, Hashable {
    /// A set of avatars, or all of them.
    public enum Avatars: Sendable, Hashable {
        case all
        case only(Set<String>)

        func contains(_ avatar: AvatarID) -> Bool {
            switch self {
            case .all: true
            case .only(let ids): ids.contains(avatar.rawValue)
            }
        }

        /// Parses `*` or a comma- or space-separated list of avatar ids; nil names a bad entry.
        static func parse(_ text: String) -> Result<Avatars, ConfigurationError.BadValue> {
            let entries = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
            if entries == ["*"] { return .success(.all) }
            var ids: Set<String> = []
            for entry in entries {
                guard AvatarID(entry) != nil else {
                    return .failure(
                        ConfigurationError.BadValue(entry == "*" ? "* must stand alone" : "has an invalid avatar id"))
                }
                ids.insert(entry)
            }
            return .success(.only(ids))
        }
    }

    public var everyone: Avatars
    public var tenants: [String: Avatars]

    public init(everyone: Avatars = .only([]), tenants: [String: Avatars] = [:]) {
        self.everyone = everyone
        self.tenants = tenants
    }

    /// Whether a caller of `tenant` (nil: none) may use `avatar`.
    public func allows(_ avatar: AvatarID, tenant: String?) -> Bool {
        if everyone.contains(avatar) { return true }
        guard let tenant, let own = tenants[tenant] else { return false }
        return own.contains(avatar)
    }
}
