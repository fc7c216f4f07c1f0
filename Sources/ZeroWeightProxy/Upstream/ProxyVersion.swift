/// The proxy's version, sent in the upstream `User-Agent`.
public enum ProxyVersion {
    public static let current = "0.1.0"
}
