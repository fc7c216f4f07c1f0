// Fuzzes the upstream body validator (JSONValidator) against the strict JSONValue parser and Foundation.
// Input: the body bytes.

import Foundation

@testable import ZeroWeightProxy

private let validator = JSONValidator()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    let topLevel = validator.validate(bytes)
    // The copying path for collections without contiguous storage must agree with the direct one.
    Fuzz.require(validator.validate(AnyCollection(bytes)) == topLevel, "contiguous and copied scans disagree")

    // JSONValue is stricter (no duplicate keys, lone surrogates or infinite numbers), never looser.
    let value = JSONValue(parsing: bytes, maximumDepth: validator.maximumDepth)
    if let value {
        Fuzz.require(topLevel == kind(of: value), "validator says \(String(describing: topLevel)), JSONValue \(value)")
        let rendered = Array(render(value).utf8)
        Fuzz.require(JSONValue(parsing: rendered, maximumDepth: validator.maximumDepth) == value, "no round trip")
        Fuzz.require(validator.validate(rendered) == topLevel, "validator refuses the re-rendered value")
    }

    // Foundation's parser reads whatever JSONValue reads. The validator alone is looser on purpose: it
    // passes on duplicate keys, lone surrogate escapes and numbers beyond Double's range, as a browser's
    // JSON.parse takes them. (Foundation is looser still elsewhere: it takes `[1,]` and `{"a":1,}`.)
    if value != nil {
        let parsed = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        Fuzz.require(parsed != nil, "JSONSerialization refuses what JSONValue reads")
    }
    return 0
}

private func kind(of value: JSONValue) -> JSONValidator.TopLevel {
    switch value {
    case .object: .object
    case .array: .array
    default: .scalar
    }
}

/// `value` as JSON text, through the proxy's own string quoting.
private func render(_ value: JSONValue) -> String {
    switch value {
    case .string(let text): JSONText.quoted(text)
    case .number(let number): "\(number)"
    case .bool(let flag): flag ? "true" : "false"
    case .null: "null"
    case .array(let elements): "[" + elements.map(render).joined(separator: ",") + "]"
    case .object(let members):
        "{" + members.map { JSONText.quoted($0.key) + ":" + render($0.value) }.joined(separator: ",") + "}"
    }
}
