import Foundation

extension JWTAuthentication {
    /// The `jwt.*` settings among `settings`.
    ///
    /// - Parameter nameClaim: the claim `token.name = claim:<name>` asks for, if any.
    /// - Throws: `ConfigurationError` naming the setting; never a secret's contents.
    static func load(
        _ settings: SettingValues, readFile: ProxyConfiguration.FileReader, nameClaim: String?
    ) throws(ConfigurationError) -> JWTAuthentication {
        var keySet: JSONWebKeySet?
        if let value = settings["jwt.jwks_file"] {
            let bytes = try read(value, readFile: readFile)
            keySet = try JSONWebKeySet(parsing: bytes, path: value.text)
        }
        var secret: [UInt8]?
        if let value = settings["jwt.hmac_secret_file"] {
            var bytes = try read(value, readFile: readFile)
            while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
            secret = bytes
        }
        guard keySet != nil || secret != nil else {
            throw ConfigurationError(
                setting: "ZEROWEIGHT_PROXY_JWT_JWKS_FILE",
                problem: "is not set (nor jwt.hmac_secret_file): auth = jwt needs keys to verify tokens with")
        }
        var algorithms: Set<JWTAlgorithm> = []
        if let value = settings["jwt.algorithms"] {
            for name in value.text.split(whereSeparator: { $0 == "," || $0 == " " }) {
                guard let algorithm = JWTAlgorithm(rawValue: String(name)) else {
                    throw ConfigurationError(setting: value.origin, problem: "must list HS256, RS256, ES256 or EdDSA")
                }
                algorithms.insert(algorithm)
            }
        } else {
            if keySet != nil { algorithms.formUnion([.rs256, .es256, .edDSA]) }
            if secret != nil { algorithms.insert(.hs256) }
        }
        var leeway = 60.0
        if let value = settings["jwt.leeway_seconds"] {
            guard value.text.utf8.allSatisfy({ (48...57).contains($0) }), let seconds = Double(value.text) else {
                throw ConfigurationError(setting: value.origin, problem: "must be a whole number of seconds")
            }
            leeway = seconds
        }
        let configuration: JWTVerifier.Configuration
        do {
            configuration = try JWTVerifier.Configuration(
                algorithms: algorithms, keySet: keySet, hmacSecret: secret, issuer: settings["jwt.issuer"]?.text,
                audience: settings["jwt.audience"]?.text, leeway: leeway)
        } catch {
            // The error names a parameter; name the setting to change: the secret's file for its
            // length, the leeway for its range, else the algorithms (which asked for missing keys).
            let name =
                switch error.setting {
                case "JWT HMAC secret" where secret != nil: "jwt.hmac_secret_file"
                case "JWT leeway": "jwt.leeway_seconds"
                default: "jwt.algorithms"
                }
            let origin = settings[name]?.origin ?? settings["jwt.algorithms"]?.origin ?? "jwt settings"
            throw ConfigurationError(setting: origin, problem: "\(error.setting) \(error.problem)")
        }
        let cookie = settings["jwt.cookie"]
        if let cookie, !isToken(cookie.text) {
            throw ConfigurationError(setting: cookie.origin, problem: "must be a cookie name")
        }
        return JWTAuthentication(
            verifier: JWTVerifier(configuration), cookie: cookie?.text,
            subjectClaim: settings["jwt.subject_claim"]?.text ?? "sub", tenantClaim: settings["jwt.tenant_claim"]?.text,
            nameClaim: nameClaim)
    }

    private static func read(
        _ value: SettingValues.Value, readFile: ProxyConfiguration.FileReader
    ) throws(ConfigurationError) -> [UInt8] {
        let data: Data?
        do { data = try readFile(value.text) } catch { data = nil }
        guard let data else {
            throw ConfigurationError(setting: value.origin, problem: "names a file that cannot be read")
        }
        return Array(data)
    }

    /// An RFC 6265 cookie name: visible ASCII without separators.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { byte in
                (0x21...0x7E).contains(byte) && !"()<>@,;:\\\"/[]?={}".utf8.contains(byte)
            }
    }
}
