/// Finds the client's address: `REMOTE_ADDR`, or, when that peer is a trusted proxy, the first
/// untrusted hop of `X-Forwarded-For` read from the right.
///
/// Never the leftmost entry, which any client can write (the gin CVE-2020-28483 and oauth2-proxy
/// spoofing bugs): a header from an untrusted peer changes nothing.
public struct ClientAddressResolver: Sendable, Hashable {
    public let trustedProxies: [AddressRange]

    public init(trustedProxies: [AddressRange]) {
        self.trustedProxies = trustedProxies
    }

    /// The client address for a request from `remoteAddress` carrying `forwardedFor`.
    ///
    /// - Returns: the address text; `remoteAddress` as given when it is not an address at all.
    public func clientAddress(remoteAddress: String, forwardedFor: String?) -> String {
        guard let peer = IPAddress(remoteAddress), isTrusted(peer), let forwardedFor else { return remoteAddress }
        var nearest = peer
        for hop in forwardedFor.split(separator: ",").reversed() {
            guard let address = IPAddress(hop.trimmingCharacters(in: .whitespaces)) else {
                // Garbage from beyond the last trusted proxy: that proxy is the best we know.
                return nearest.description
            }
            guard isTrusted(address) else { return address.description }
            nearest = address
        }
        return nearest.description
    }

    func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }
}
