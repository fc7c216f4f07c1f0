// Fuzzes QUERY_STRING parsing: PercentDecoding, QueryParameters, AvatarID, RoomName and DisplayName.
// Input: the raw query string (invalid UTF-8 is repaired, as the web server's environment would be).

@testable import ZeroWeightProxy

private let tokenNames: Set<String> = ["avatar_id", "name", "room"]
private let queryErrors: [ProxyError] = [
    .queryTooLong, .malformedQuery, .unknownParameter, .duplicateParameter, .emptyParameter,
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQueryString(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let query = Fuzz.text(Fuzz.bytes(data, size))
    var candidates = [query]
    if let decoded = checkDecoding(query) { candidates.append(decoded) }
    _ = checkParameters(query, allowed: [])
    candidates += checkParameters(query, allowed: tokenNames)
    for candidate in candidates { checkIdentifiers(candidate) }
    return 0
}

/// Decoding never grows the text, only `%` can make it fail, and encoding every byte round-trips.
private func checkDecoding(_ component: String) -> String? {
    let hasEscape = component.utf8.contains(UInt8(ascii: "%"))
    guard let decoded = PercentDecoding.decode(Substring(component).utf8) else {
        Fuzz.require(hasEscape, "decoding failed without any % in \(component.debugDescription)")
        return nil
    }
    Fuzz.require(decoded.utf8.count <= component.utf8.count, "decoding grew \(component.debugDescription)")
    if !hasEscape {
        let expected = component.utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }
        Fuzz.require(decoded.utf8.elementsEqual(expected), "plain text changed: \(component.debugDescription)")
    }
    let again = PercentDecoding.decode(Substring(Fuzz.percentEncoded(decoded)).utf8)
    Fuzz.require(again.map { $0.utf8.elementsEqual(decoded.utf8) } ?? false, "re-encoding did not round-trip")
    return decoded
}

/// Parsed values are allowed, non-empty, and parse again the same when re-encoded.
private func checkParameters(_ query: String, allowed: Set<String>) -> [String] {
    let parameters: QueryParameters
    do throws(ProxyError) {
        parameters = try QueryParameters(parsing: query, allowed: allowed)
    } catch {
        Fuzz.require(queryErrors.contains(error), "undocumented error \(error)")
        let tooLong = query.utf8.count > QueryParameters.maximumLength
        Fuzz.require((error == .queryTooLong) == tooLong, "queryTooLong for \(query.utf8.count) bytes")
        return []
    }
    Fuzz.require(query.utf8.count <= QueryParameters.maximumLength, "accepted a query over the limit")
    var values: [String] = []
    var pairs: [String] = []
    for name in allowed.sorted() {
        guard let value = parameters[name] else { continue }
        Fuzz.require(!value.isEmpty, "empty value for \(name)")
        values.append(value)
        pairs.append(Fuzz.percentEncoded(name) + "=" + Fuzz.percentEncoded(value))
    }
    Fuzz.require(parameters["not-allowed"] == nil, "a name outside the allowlist has a value")
    let rebuilt = pairs.joined(separator: "&")
    if rebuilt.utf8.count <= QueryParameters.maximumLength {
        let again = try? QueryParameters(parsing: rebuilt, allowed: allowed)
        Fuzz.require(again == parameters, "re-encoded parameters parse differently: \(rebuilt)")
    }
    return values
}

/// The validators accept exactly their documented character sets and lengths.
private func checkIdentifiers(_ text: String) {
    let isToken =
        (1...128).contains(text.utf8.count)
        && text.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    Fuzz.require((AvatarID(text) != nil) == isToken, "AvatarID disagrees on \(text.debugDescription)")
    Fuzz.require((RoomName(text) != nil) == isToken, "RoomName disagrees on \(text.debugDescription)")
    if let id = AvatarID(text) { Fuzz.require(id.rawValue.utf8.elementsEqual(text.utf8), "AvatarID changed the text") }

    guard let name = DisplayName(text) else { return }
    let scalars = text.unicodeScalars
    Fuzz.require((1...DisplayName.maximumLength).contains(scalars.count), "name of \(scalars.count) scalars")
    for scalar in scalars {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned:
            Fuzz.fail("name kept U+\(String(scalar.value, radix: 16))")
        default:
            Fuzz.require(scalar != "\u{FFFD}" && !scalar.properties.isNoncharacterCodePoint, "name kept \(scalar)")
        }
    }
    Fuzz.require(scalars.contains { !$0.properties.isWhitespace }, "blank name accepted")
    // A name is written into JSON (logs, answers): its quoted form must read back as the same text.
    let quoted = JSONValue(parsing: Array(JSONText.quoted(name.rawValue).utf8))
    Fuzz.require(quoted?.stringValue.map { $0.utf8.elementsEqual(text.utf8) } ?? false, "JSON quoting lost the name")
}
