import Foundation

@testable import ZeroWeightProxy

/// A signing key made by the `openssl` command line, and tokens signed with it.
///
/// Keys are generated, signatures made and JWK parameters read by `openssl` itself, so a passing
/// test means the verifier agrees with an independent implementation, not with itself.
final class TestSigner: Sendable {
    enum Kind: Sendable {
        case rsa, p256, ed25519
    }

    let kind: Kind
    let algorithm: JWTAlgorithm
    private let privateKeyPEM: Data
    /// The public key as `SubjectPublicKeyInfo` DER and as PEM text bytes (what an attacker has).
    let publicKeyDER: [UInt8]
    let publicKeyPEM: [UInt8]
    /// The JWK members for the public key: `kty` and `n`/`e` or `crv`/`x`/`y`.
    let jwkMembers: [String: String]

    static let rsa = TestSigner(.rsa)
    static let otherRSA = TestSigner(.rsa)
    static let p256 = TestSigner(.p256)
    static let otherP256 = TestSigner(.p256)
    static let ed25519 = TestSigner(.ed25519)
    static let otherEd25519 = TestSigner(.ed25519)

    init(_ kind: Kind) {
        self.kind = kind
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("key.pem").path
        switch kind {
        case .rsa:
            algorithm = .rs256
            Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyPath])
        case .p256:
            algorithm = .es256
            Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyPath])
        case .ed25519:
            algorithm = .edDSA
            Self.openssl(["genpkey", "-algorithm", "ED25519", "-out", keyPath])
        }
        privateKeyPEM = FileManager.default.contents(atPath: keyPath)!
        publicKeyDER = Self.openssl(["pkey", "-in", keyPath, "-pubout", "-outform", "DER"])
        publicKeyPEM = Self.openssl(["pkey", "-in", keyPath, "-pubout"])
        switch kind {
        case .rsa:
            let text = String(decoding: Self.openssl(["rsa", "-in", keyPath, "-noout", "-modulus"]), as: UTF8.self)
            let hex = text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(
                of: "Modulus=", with: "")
            jwkMembers = ["kty": "RSA", "n": Base64URL.encode(Self.bytes(hex: hex)), "e": "AQAB"]
        case .p256:
            precondition(publicKeyDER.count == 91 && publicKeyDER[26] == 0x04, "unexpected P-256 SPKI layout")
            jwkMembers = [
                "kty": "EC", "crv": "P-256", "x": Base64URL.encode(publicKeyDER[27..<59]),
                "y": Base64URL.encode(publicKeyDER[59..<91]),
            ]
        case .ed25519:
            precondition(publicKeyDER.count == 44, "unexpected Ed25519 SPKI layout")
            jwkMembers = ["kty": "OKP", "crv": "Ed25519", "x": Base64URL.encode(publicKeyDER[12...])]
        }
    }

    /// This key as a JWK object text, with extra members such as `kid` or `alg`.
    func jwk(_ extra: [String: String] = [:]) -> String {
        let members = jwkMembers.merging(extra) { _, new in new }
        return "{" + members.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
            + "}"
    }

    /// The JOSE signature of `message`: PKCS#1 v1.5, raw `r || s`, or Ed25519.
    func sign(_ message: [UInt8]) -> [UInt8] {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("key.pem").path
        let input = directory.appendingPathComponent("message").path
        try! privateKeyPEM.write(to: URL(fileURLWithPath: keyPath))
        try! Data(message).write(to: URL(fileURLWithPath: input))
        switch kind {
        case .rsa:
            return Self.openssl(["dgst", "-sha256", "-sign", keyPath, input])
        case .p256:
            return Self.rawECDSASignature(der: Self.openssl(["dgst", "-sha256", "-sign", keyPath, input]))
        case .ed25519:
            return Self.openssl(["pkeyutl", "-sign", "-inkey", keyPath, "-rawin", "-in", input])
        }
    }

    /// A compact JWS of the header and claims JSON texts, exactly as given, signed with this key.
    func token(header: String, claims: String) -> String {
        let input = Self.signingInput(header: header, claims: claims)
        return input + "." + Base64URL.encode(sign(Array(input.utf8)))
    }

    // MARK: Helpers

    static func signingInput(header: String, claims: String) -> String {
        Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
    }

    /// HMAC-SHA256 by `openssl dgst -mac HMAC`, independent of the code under test.
    static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        let hexKey = key.map { String(format: "%02x", $0) }.joined()
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("message").path
        try! Data(message).write(to: URL(fileURLWithPath: input))
        return openssl(["dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:\(hexKey)", "-binary", input])
    }

    /// A compact JWS of the header and claims JSON texts with an HMAC-SHA256 signature under `key`.
    static func hmacToken(header: String, claims: String, key: [UInt8]) -> String {
        let input = signingInput(header: header, claims: claims)
        return input + "." + Base64URL.encode(hmac(key: key, message: Array(input.utf8)))
    }

    static func temporaryDirectory() -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @discardableResult
    static func openssl(_ arguments: [String]) -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try! process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "openssl \(arguments.first ?? "") failed")
        return Array(data)
    }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map {
            UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
        }
    }

    /// DER `ECDSA-Sig-Value` (as `openssl dgst -sign` writes it) to JOSE's 64-byte `r || s`.
    static func rawECDSASignature(der: [UInt8]) -> [UInt8] {
        precondition(der.count > 8 && der[0] == 0x30 && der[1] < 0x80, "unexpected ECDSA signature")
        var index = 2
        var raw: [UInt8] = []
        for _ in 0..<2 {
            precondition(der[index] == 0x02)
            let length = Int(der[index + 1])
            let magnitude = der[(index + 2)..<(index + 2 + length)].drop { $0 == 0 }
            raw += [UInt8](repeating: 0, count: 32 - magnitude.count) + magnitude
            index += 2 + length
        }
        return raw
    }
}
