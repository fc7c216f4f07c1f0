// Fuzzes JWKS parsing: JSONWebKeySet, JSONWebKey.read, Base64URL and the key import through libcrypto.
// Input: the JWKS document bytes.

@testable import ZeroWeightProxy

private let path = "/etc/zeroweight-proxy/jwks.json"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONWebKeySet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    let members = JSONValue(parsing: bytes)?.objectValue?["keys"]?.arrayValue
    let keySet: JSONWebKeySet
    do throws(ConfigurationError) {
        keySet = try JSONWebKeySet(parsing: bytes, path: path)
    } catch {
        Fuzz.require(error.setting.hasPrefix(path), "error names \(error.setting), not the file")
        return 0
    }
    guard let members else { Fuzz.fail("accepted a document without a keys array") }
    Fuzz.require(!keySet.keys.isEmpty, "accepted a set without a usable key")
    Fuzz.require(keySet.keys.count + keySet.skipped.count == members.count, "keys neither used nor skipped")
    var keyIDs: Set<[UInt8]> = []
    for key in keySet.keys {
        Fuzz.require(key.algorithm != .hs256, "a JWKS key was bound to HS256")
        guard let keyID = key.keyID else { continue }
        Fuzz.require(keyIDs.insert(Array(keyID.utf8)).inserted, "two keys share the kid \(keyID.debugDescription)")
        Fuzz.require(keySet.key(withID: keyID)?.keyID == keyID, "key(withID:) misses \(keyID.debugDescription)")
    }
    for member in members {
        guard let object = member.objectValue else { Fuzz.fail("accepted a non-object key") }
        Fuzz.require(object["kty"]?.stringValue != "oct", "accepted a symmetric key")
        for name in JSONWebKey.privateMembers {
            Fuzz.require(object[name] == nil, "accepted a key with the private member \(name)")
        }
    }
    return 0
}
