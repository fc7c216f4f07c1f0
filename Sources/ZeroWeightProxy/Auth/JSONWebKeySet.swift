/// The public keys of a JWKS document (`{"keys": […]}`, RFC 7517 section 5), parsed once.
///
/// Pure parsing, no I/O: the caller reads the file. Each usable key is bound to one algorithm (see
/// `JSONWebKey`). Keys this verifier cannot use are skipped and listed in `skipped` for the log;
/// anything that looks like an operator error refuses the whole set, because a half-loaded key set
/// fails later and confusingly: a private or symmetric key, a malformed or too-small key, an `alg`
/// that contradicts its key type, two keys with one `kid`, or no usable key at all.
public struct JSONWebKeySet: Sendable {
    /// Longer documents are refused.
    public static let maximumBytes = 1 << 20

    /// The usable keys, in document order.
    public let keys: [JSONWebKey]
    /// Why each skipped key was left out (`keys[3] has kty "AKP", which is not supported`).
    public let skipped: [String]

    /// Parses a JWKS document read from `path`.
    ///
    /// - Parameters:
    ///   - bytes: The document's UTF-8 JSON text.
    ///   - path: Where it came from, for error messages.
    /// - Throws: `ConfigurationError` naming `path` (and the key's index) and the problem.
    public init(parsing bytes: [UInt8], path: String) throws(ConfigurationError) {
        guard bytes.count <= Self.maximumBytes else {
            throw ConfigurationError(setting: path, problem: "is larger than 1 MiB")
        }
        guard let document = JSONValue(parsing: bytes)?.objectValue else {
            throw ConfigurationError(setting: path, problem: "is not a JSON object (or repeats a member name)")
        }
        guard let members = document["keys"]?.arrayValue else {
            throw ConfigurationError(setting: path, problem: "has no \"keys\" array")
        }
        var keys: [JSONWebKey] = []
        var skipped: [String] = []
        for (index, member) in members.enumerated() {
            let origin = "\(path) keys[\(index)]"
            switch try JSONWebKey.read(member, origin: origin) {
            case .usable(let key):
                if let id = key.keyID,
                    keys.contains(where: { $0.keyID.map { $0.utf8.elementsEqual(id.utf8) } ?? false })
                {
                    throw ConfigurationError(setting: origin, problem: "repeats the kid of an earlier key")
                }
                keys.append(key)
            case .skipped(let reason):
                skipped.append("keys[\(index)] \(reason)")
            }
        }
        guard !keys.isEmpty else {
            throw ConfigurationError(
                setting: path, problem: "has no usable signing key (RS256, ES256 or EdDSA); \(skipped.count) skipped")
        }
        self.keys = keys
        self.skipped = skipped
    }

    /// Parses a JWKS document given as text; see `init(parsing:path:)` for bytes.
    public init(parsing text: String, path: String) throws(ConfigurationError) {
        try self.init(parsing: Array(text.utf8), path: path)
    }

    /// The key whose `kid` is exactly `id` (byte for byte), if any.
    func key(withID id: String) -> JSONWebKey? {
        keys.first { $0.keyID.map { $0.utf8.elementsEqual(id.utf8) } ?? false }
    }
}
