/// Where `--listen` binds: a Unix socket path or `host:port`.
public enum ListenAddress: Sendable, Hashable {
    case unix(path: String)
    case tcp(host: String, port: UInt16)

    /// Parses `/path/to.sock`, `host:port`, `[v6]:port` or `:port` (loopback).
    /// nil for anything else.
    public init?(_ text: String) {
        if text.hasPrefix("/") {
            self = .unix(path: text)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            guard !host.isEmpty else { return nil }
        } else if host.contains(":") {
            return nil
        }
        self = .tcp(host: host.isEmpty ? "127.0.0.1" : host, port: port)
    }
}
