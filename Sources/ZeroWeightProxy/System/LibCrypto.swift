import CCrypto

/// Every libcrypto (OpenSSL) call the proxy makes: SHA-256, HMAC-SHA256, constant-time comparison, and
/// signature verification for RS256, ES256 and EdDSA.
///
/// Callers above this file never touch C. Public keys are built once from JWK parameters and
/// reused: RSA and P-256 keys by writing their DER `SubjectPublicKeyInfo` here and parsing it with
/// `d2i_PUBKEY` (which also checks that an EC point lies on the curve), Ed25519 keys with
/// `EVP_PKEY_new_raw_public_key`. Each verification has its own `EVP_MD_CTX`, so one key may serve
/// several threads at once. Failures are `false` or nil, and OpenSSL's error queue is cleared.
enum LibCrypto {
    /// The kinds of public key the proxy verifies with.
    enum KeyType: Sendable, Hashable {
        case rsa, p256, ed25519
    }

    /// An OpenSSL public key (`EVP_PKEY`), freed with `EVP_PKEY_free` with its last reference.
    ///
    /// `@unchecked Sendable`: after construction the key is only read, and OpenSSL allows a public
    /// key to verify from several threads at once.
    final class PublicKey: @unchecked Sendable {
        /// What kind of key this is; each verify function takes only its own kind.
        let type: KeyType
        fileprivate let pointer: OpaquePointer

        fileprivate init(type: KeyType, pointer: OpaquePointer) {
            self.type = type
            self.pointer = pointer
        }

        deinit {
            EVP_PKEY_free(pointer)
        }

        /// The key size in bits (`EVP_PKEY_get_bits`): the RSA modulus, 256 for P-256 and Ed25519.
        var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }
    }

    // MARK: HMAC

    /// HMAC-SHA256 of `message` under `key` (one-shot `HMAC` with `EVP_sha256`).
    ///
    /// - Returns: The 32-byte MAC, or nil if OpenSSL fails (out of memory).
    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8]? {
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { key in
            message.withUnsafeBufferPointer { message in
                mac.withUnsafeMutableBufferPointer { mac in
                    HMAC(
                        EVP_sha256(), key.baseAddress, Int32(key.count), message.baseAddress, message.count,
                        mac.baseAddress, &length)
                }
            }
        }
        guard result != nil, length == 32 else {
            ERR_clear_error()
            return nil
        }
        return Array(mac.prefix(32))
    }

    // MARK: Digest

    /// SHA-256 of `bytes` (`SHA256_Init`, `SHA256_Update`, `SHA256_Final`).
    ///
    /// The low-level calls, not `EVP_Digest`: OpenSSL 3 fetches a digest from its providers on
    /// first use, ~3 million instructions that a CGI run (one ETag per process) would pay every time.
    /// - Returns: The 32-byte digest, or nil if OpenSSL fails.
    static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var context = SHA256_CTX()
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let done = digest.withUnsafeMutableBufferPointer { digest in
            SHA256_Init(&context) == 1 && SHA256_Update(&context, bytes.baseAddress, bytes.count) == 1
                && SHA256_Final(digest.baseAddress, &context) == 1
        }
        return done ? digest : nil
    }

    /// Whether `a` and `b` are equal, in time that depends only on their length (`CRYPTO_memcmp`).
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { a in
            b.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
        }
    }

    // MARK: Public keys

    /// An RSA public key from its modulus and public exponent (JWK `n`, `e`: unsigned big-endian).
    ///
    /// Writes an `rsaEncryption` `SubjectPublicKeyInfo` and parses it with `d2i_PUBKEY`.
    /// - Returns: The key, or nil when OpenSSL refuses it.
    static func rsaPublicKey(modulus: [UInt8], exponent: [UInt8]) -> PublicKey? {
        let algorithm = DER.sequence(DER.rsaEncryption + DER.null)
        let key = DER.sequence(DER.unsignedInteger(modulus) + DER.unsignedInteger(exponent))
        return publicKey(subjectPublicKeyInfo: DER.sequence(algorithm + DER.bitString(key)), type: .rsa)
    }

    /// A P-256 public key from its affine coordinates (JWK `x`, `y`: 32 bytes each).
    ///
    /// Writes an `id-ecPublicKey` / `prime256v1` `SubjectPublicKeyInfo` with the uncompressed point
    /// and parses it with `d2i_PUBKEY`, which refuses a point that is not on the curve.
    /// - Returns: The key, or nil when the coordinates are not 32 bytes or not a curve point.
    static func p256PublicKey(x: [UInt8], y: [UInt8]) -> PublicKey? {
        guard x.count == 32, y.count == 32 else { return nil }
        let algorithm = DER.sequence(DER.ecPublicKey + DER.prime256v1)
        let point: [UInt8] = [0x04] + x + y
        return publicKey(subjectPublicKeyInfo: DER.sequence(algorithm + DER.bitString(point)), type: .p256)
    }

    /// An Ed25519 public key from its 32 raw bytes (JWK `x`), via `EVP_PKEY_new_raw_public_key`.
    ///
    /// - Returns: The key, or nil when `x` is not 32 bytes or OpenSSL refuses it.
    static func ed25519PublicKey(_ x: [UInt8]) -> PublicKey? {
        guard x.count == 32 else { return nil }
        let pointer = x.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
        }
        guard let pointer else {
            ERR_clear_error()
            return nil
        }
        return PublicKey(type: .ed25519, pointer: pointer)
    }

    /// `d2i_PUBKEY` over all of `der`, kept only if OpenSSL reads every byte and the key is a `type`.
    private static func publicKey(subjectPublicKeyInfo der: [UInt8], type: KeyType) -> PublicKey? {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            guard let key = d2i_PUBKEY(nil, &cursor, buffer.count) else { return nil }
            guard cursor == buffer.baseAddress.map({ $0 + buffer.count }) else {
                EVP_PKEY_free(key)
                return nil
            }
            return key
        }
        guard let parsed else {
            ERR_clear_error()
            return nil
        }
        let key = PublicKey(type: type, pointer: parsed)
        switch type {
        case .rsa:
            guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_RSA else { return nil }
        case .p256:
            guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_EC, groupName(parsed) == "prime256v1" else { return nil }
        case .ed25519:
            guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_ED25519 else { return nil }
        }
        return key
    }

    /// The curve name of an EC key (`EVP_PKEY_get_group_name`).
    private static func groupName(_ key: OpaquePointer) -> String? {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1, length < name.count else {
            ERR_clear_error()
            return nil
        }
        return String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Signatures

    /// Whether `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature (RS256) of `message`.
    ///
    /// `EVP_DigestVerifyInit` with `EVP_sha256` and `RSA_PKCS1_PADDING`, then `EVP_DigestVerify`.
    static func verifyRS256(signature: [UInt8], message: [UInt8], key: PublicKey) -> Bool {
        guard key.type == .rsa else { return false }
        return digestVerify(key, digest: EVP_sha256(), signature: signature, message: message, rsaPadding: true)
    }

    /// Whether the JOSE ES256 signature `signature` (raw `r || s`, 32 bytes each) is valid for `message`.
    ///
    /// The pair is rewritten as a DER `ECDSA-Sig-Value` and checked with `EVP_DigestVerify` and
    /// `EVP_sha256`.
    static func verifyES256(signature: [UInt8], message: [UInt8], key: PublicKey) -> Bool {
        guard key.type == .p256, signature.count == 64 else { return false }
        let der = DER.sequence(DER.unsignedInteger(signature[..<32]) + DER.unsignedInteger(signature[32...]))
        return digestVerify(key, digest: EVP_sha256(), signature: der, message: message)
    }

    /// Whether `signature` (64 bytes) is a valid Ed25519 signature of `message`.
    ///
    /// One-shot `EVP_DigestVerify` after `EVP_DigestVerifyInit` with a NULL digest, as Ed25519
    /// hashes the message itself.
    static func verifyEd25519(signature: [UInt8], message: [UInt8], key: PublicKey) -> Bool {
        guard key.type == .ed25519, signature.count == 64 else { return false }
        return digestVerify(key, digest: nil, signature: signature, message: message)
    }

    /// `EVP_DigestVerifyInit` + `EVP_DigestVerify` in a fresh `EVP_MD_CTX`; true only for a result of 1.
    private static func digestVerify(
        _ key: PublicKey, digest: OpaquePointer?, signature: [UInt8], message: [UInt8], rsaPadding: Bool = false
    ) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
        }
        var keyContext: OpaquePointer?
        guard EVP_DigestVerifyInit(context, &keyContext, digest, nil, key.pointer) == 1 else { return false }
        if rsaPadding {
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING) == 1 else { return false }
        }
        let result = signature.withUnsafeBufferPointer { signature in
            message.withUnsafeBufferPointer { message in
                EVP_DigestVerify(context, signature.baseAddress, signature.count, message.baseAddress, message.count)
            }
        }
        return result == 1
    }
}

/// The little DER (X.690) the key and signature formats above need: definite lengths only.
private enum DER {
    /// OID 1.2.840.113549.1.1.1 (`rsaEncryption`).
    static let rsaEncryption: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
    /// OID 1.2.840.10045.2.1 (`id-ecPublicKey`).
    static let ecPublicKey: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    /// OID 1.2.840.10045.3.1.7 (`prime256v1`, P-256).
    static let prime256v1: [UInt8] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
    static let null: [UInt8] = [0x05, 0x00]

    static func sequence(_ content: [UInt8]) -> [UInt8] { tagged(0x30, content) }

    /// A BIT STRING with no unused bits.
    static func bitString(_ content: [UInt8]) -> [UInt8] { tagged(0x03, [0x00] + content) }

    /// An unsigned big-endian magnitude as a minimal INTEGER: leading zeros dropped, a zero byte
    /// added when the top bit is set so it stays positive.
    static func unsignedInteger(_ magnitude: some Collection<UInt8>) -> [UInt8] {
        var bytes = Array(magnitude.drop { $0 == 0 })
        if bytes.first.map({ $0 & 0x80 != 0 }) ?? true { bytes.insert(0, at: 0) }
        return tagged(0x02, bytes)
    }

    private static func tagged(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag] + length(content.count) + content
    }

    private static func length(_ count: Int) -> [UInt8] {
        guard count >= 0x80 else { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var remaining = count
        while remaining > 0 {
            bytes.insert(UInt8(truncatingIfNeeded: remaining), at: 0)
            remaining >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }
}
