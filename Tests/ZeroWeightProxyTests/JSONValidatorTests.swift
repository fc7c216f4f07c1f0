import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct JSONValidatorTests {
    private let validator = JSONValidator()

    private func nested(_ depth: Int, open: String = "[", close: String = "]", inner: String = "") -> String {
        String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
    }

    @Test(arguments: [
        ("{}", JSONValidator.TopLevel.object),
        ("[]", .array),
        (#"{"a":1}"#, .object),
        (#"{"a":[1,{"b":null}],"c":"\u00e9\n\"","d":{}}"#, .object),
        (#"[1,"two",true,false,null,{},[]]"#, .array),
        ("0", .scalar),
        ("-0", .scalar),
        ("7", .scalar),
        ("-12", .scalar),
        ("1.5", .scalar),
        ("0.0", .scalar),
        ("1e5", .scalar),
        ("1E+2", .scalar),
        ("-1.25e-10", .scalar),
        ("123456789012345678901234567890", .scalar),
        (#""""#, .scalar),
        (#""abc""#, .scalar),
        (#""\/\b\f\n\r\t\\\"""#, .scalar),
        (#""\u0041\u00e9\uFFFF""#, .scalar),
        (#""\uD83D\uDC4B""#, .scalar),
        (#""\uD800""#, .scalar),
        ("\"é€👋\"", .scalar),
        ("\"\u{7F}\"", .scalar),
        ("true", .scalar),
        ("false", .scalar),
        ("null", .scalar),
        (" \t\r\n{} \t\r\n", .object),
        ("[ 1 , 2 ]", .array),
        ("{ \"a\" : 1 , \"b\" : [ ] }", .object),
        (#"{"a":1,"a":2}"#, .object),
    ])
    func acceptsValidDocuments(text: String, kind: JSONValidator.TopLevel) {
        #expect(validator.validate(Array(text.utf8)) == kind)
    }

    @Test(arguments: [
        ("", "empty"),
        (" \n\t", "only white space"),
        ("01", "leading zero"),
        ("-01", "negative leading zero"),
        ("00", "double zero"),
        ("[01]", "leading zero in an array"),
        ("1.", "no fraction digits"),
        (".5", "no integer part"),
        ("+1", "plus sign"),
        ("-", "lone minus"),
        ("- 1", "space after minus"),
        ("1e", "no exponent digits"),
        ("1e+", "signed exponent without digits"),
        ("0x1F", "hexadecimal"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "negative Infinity"),
        ("[1,]", "trailing comma in an array"),
        (#"{"a":1,}"#, "trailing comma in an object"),
        ("[,1]", "leading comma"),
        ("[1,,2]", "double comma"),
        ("{,}", "comma only"),
        ("[1 2]", "missing comma"),
        (#"{"a":1 "b":2}"#, "missing comma between members"),
        (#"{"a"}"#, "member without value"),
        (#"{"a":}"#, "colon without value"),
        (#"{"a" 1}"#, "missing colon"),
        ("{a:1}", "unquoted key"),
        ("{1:1}", "number key"),
        ("{'a':1}", "single quotes"),
        ("['a']", "single-quoted string"),
        (#""\x""#, "unknown escape"),
        (#""\'""#, "escaped single quote"),
        (#""\u12""#, "short unicode escape"),
        (#""\u12G4""#, "non-hex unicode escape"),
        (#""\U0041""#, "uppercase U escape"),
        (#""\"#, "backslash at the end"),
        (#""abc"#, "unterminated string"),
        ("\"a\tb\"", "raw tab in a string"),
        ("\"a\nb\"", "raw line feed in a string"),
        ("\"a\rb\"", "raw carriage return in a string"),
        ("\"\u{0}\"", "raw NUL in a string"),
        ("\"\u{1F}\"", "raw unit separator in a string"),
        ("tru", "truncated true"),
        ("True", "capitalised true"),
        ("nul", "truncated null"),
        ("nulll", "null with trailing letter"),
        ("{} {}", "two documents"),
        ("{}x", "trailing garbage"),
        ("[]]", "extra bracket"),
        ("1 2", "two numbers"),
        ("[", "unclosed array"),
        ("{", "unclosed object"),
        (#"{"a":[1}"#, "mismatched brackets"),
        ("\u{FEFF}{}", "byte order mark"),
        ("\u{0C}{}", "form feed is not white space"),
        ("\u{A0}{}", "no-break space is not white space"),
        ("// c\n{}", "comment"),
    ])
    func refusesInvalidDocuments(text: String, why: String) {
        #expect(validator.validate(Array(text.utf8)) == nil, "\(why)")
    }

    @Test(
        arguments: [
            ([0x22, 0xED, 0xA0, 0x80, 0x22], "lone high surrogate"),
            ([0x22, 0xED, 0xBF, 0xBF, 0x22], "lone low surrogate"),
            ([0x22, 0xC0, 0x80, 0x22], "overlong NUL"),
            ([0x22, 0xC1, 0xBF, 0x22], "overlong two-byte"),
            ([0x22, 0xE0, 0x80, 0x80, 0x22], "overlong three-byte"),
            ([0x22, 0xE0, 0x9F, 0xBF, 0x22], "overlong three-byte, top"),
            ([0x22, 0xF0, 0x80, 0x80, 0x80, 0x22], "overlong four-byte"),
            ([0x22, 0xF0, 0x8F, 0xBF, 0xBF, 0x22], "overlong four-byte, top"),
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], "above U+10FFFF"),
            ([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], "F5 lead"),
            ([0x22, 0xF8, 0x88, 0x80, 0x80, 0x80, 0x22], "five-byte lead"),
            ([0x22, 0xFF, 0x22], "FF"),
            ([0x22, 0xFE, 0x22], "FE"),
            ([0x22, 0x80, 0x22], "lone continuation byte"),
            ([0x22, 0xBF, 0x22], "lone last continuation byte"),
            ([0x22, 0xC3, 0x22], "truncated two-byte"),
            ([0x22, 0xE2, 0x82, 0x22], "truncated three-byte"),
            ([0x22, 0xF0, 0x9F, 0x91, 0x22], "truncated four-byte"),
            ([0x22, 0xC3, 0x28, 0x22], "bad continuation"),
            ([0x22, 0xE2, 0x28, 0xAC, 0x22], "bad second of three"),
            ([0x22, 0xE2, 0x82, 0x28, 0x22], "bad third of three"),
            ([0x22, 0xC3], "truncated at the end of input"),
            ([0xC3, 0xA9], "non-ASCII outside a string"),
            ([0x7B, 0x22, 0xC0, 0x80, 0x22, 0x3A, 0x31, 0x7D], "overlong in a key"),
        ] as [([UInt8], String)])
    func refusesInvalidUTF8(bytes: [UInt8], why: String) {
        #expect(validator.validate(bytes) == nil, "\(why)")
    }

    @Test(
        arguments: [
            [0x22, 0xC2, 0x80, 0x22],
            [0x22, 0xDF, 0xBF, 0x22],
            [0x22, 0xE0, 0xA0, 0x80, 0x22],
            [0x22, 0xED, 0x9F, 0xBF, 0x22],
            [0x22, 0xEE, 0x80, 0x80, 0x22],
            [0x22, 0xEF, 0xBF, 0xBF, 0x22],
            [0x22, 0xF0, 0x90, 0x80, 0x80, 0x22],
            [0x22, 0xF4, 0x8F, 0xBF, 0xBF, 0x22],
        ] as [[UInt8]])
    func acceptsTheEdgesOfUTF8(bytes: [UInt8]) {
        #expect(validator.validate(bytes) == .scalar)
    }

    @Test func depth64IsAcceptedAnd65Refused() {
        #expect(validator.maximumDepth == 64)
        #expect(validator.validate(Array(nested(64).utf8)) == .array)
        #expect(validator.validate(Array(nested(64, inner: "1").utf8)) == .array)
        #expect(validator.validate(Array(nested(65).utf8)) == nil)
        #expect(validator.validate(Array(nested(65, inner: "1").utf8)) == nil)
    }

    @Test func objectDepthCountsTheSame() {
        let object64 = String(repeating: #"{"a":"#, count: 63) + "{}" + String(repeating: "}", count: 63)
        let object65 = String(repeating: #"{"a":"#, count: 64) + "{}" + String(repeating: "}", count: 64)
        #expect(validator.validate(Array(object64.utf8)) == .object)
        #expect(validator.validate(Array(object65.utf8)) == nil)
        let mixed65 = String(repeating: #"[{"a":"#, count: 32) + "[]" + String(repeating: "}]", count: 32)
        #expect(validator.validate(Array(mixed65.utf8)) == nil)
        let mixed64 = String(repeating: #"[{"a":"#, count: 32) + "1" + String(repeating: "}]", count: 32)
        #expect(validator.validate(Array(mixed64.utf8)) == .array)
    }

    @Test func customDepthLimit() {
        let shallow = JSONValidator(maximumDepth: 2)
        #expect(shallow.validate(Array("[[1]]".utf8)) == .array)
        #expect(shallow.validate(Array("[[[1]]]".utf8)) == nil)
        #expect(JSONValidator(maximumDepth: 0).validate(Array("[]".utf8)) == nil)
        #expect(JSONValidator(maximumDepth: 0).validate(Array("1".utf8)) == .scalar)
    }

    @Test func hostileNestingIsRefusedWithoutExhaustingTheStack() {
        #expect(validator.validate(Array(nested(200_000).utf8)) == nil)
        #expect(validator.validate(Array(String(repeating: "[", count: 200_000).utf8)) == nil)
    }

    @Test func acceptsAnyByteCollection() {
        let text = #"{"a":[1,2]}"#
        #expect(validator.validate(Data(text.utf8)) == .object)
        #expect(validator.validate(Array(text.utf8)[...]) == .object)
        #expect(validator.validate(text.utf8) == .object)
        #expect(validator.validate(Array(text.utf8).lazy.map { $0 }) == .object)
        #expect(validator.validate(Array("x\(text)x".utf8).dropFirst().dropLast()) == .object)
    }
}
