import Foundation

/// The upstream's base URL: `https://…`, or `http://` to a loopback host for local stand-ins.
public struct APIBase: Sendable, Hashable, CustomStringConvertible {
    public static let `default` = APIBase(validating: "https://api.zeroweight.ai")!

    /// Scheme, host, port and optional path prefix, without a trailing slash.
    public let origin: String

    /// nil for anything but an absolute `https` URL, or an `http` URL whose host is loopback,
    /// without user info, query or fragment.
    public init?(validating text: String) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty,
            components.user == nil, components.password == nil,
            components.query == nil, components.fragment == nil,
            !text.contains(where: { $0.isWhitespace })
        else { return nil }
        switch scheme {
        case "https": break
        case "http": guard Self.isLoopback(host) else { return nil }
        default: return nil
        }
        var origin = text
        while origin.hasSuffix("/") { origin.removeLast() }
        self.origin = origin
    }

    public var description: String { origin }

    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "[::1]" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }
}
