import Testing

@testable import ZeroWeightProxy

@Suite struct DisplayNameTests {
    @Test(arguments: [
        "a",
        "anonymuous",
        "Alice Smith",
        " Bob ",
        "O'Brien",
        "<script>",
        "Zoë",
        "Zoe\u{308}",
        "👋",
        "👋🏽",
        "❤️",
        "🇫🇷",
        "张伟",
        "علي",
        "a\u{00A0}b",
        String(repeating: "a", count: 64),
        String(repeating: "é", count: 64),
        String(repeating: "e\u{301}", count: 32),
        String(repeating: "👋", count: 64),
    ])
    func acceptsPrintableNames(name: String) throws {
        let displayName = try #require(DisplayName(name))
        #expect(displayName.rawValue == name)
        #expect(displayName.description == name)
    }

    @Test(arguments: [
        ("", "empty"),
        (" ", "blank"),
        ("   ", "blank"),
        ("\u{00A0}", "no-break space only"),
        ("\u{3000}", "ideographic space only"),
        (" \u{2003} ", "em space only"),
        ("Alice\u{202E}evil", "right-to-left override"),
        ("\u{202D}", "left-to-right override"),
        ("\u{2066}Alice", "left-to-right isolate"),
        ("Al\u{200B}ice", "zero-width space"),
        ("\u{200B}", "zero-width space only"),
        ("a\u{200D}b", "zero-width joiner"),
        ("👨\u{200D}👩\u{200D}👧", "emoji joined by zero-width joiners"),
        ("\u{FEFF}Alice", "byte order mark"),
        ("\u{2060}", "word joiner"),
        ("\u{E0001}", "language tag"),
        ("Alice\u{0}", "NUL"),
        ("Alice\nadmin", "line feed"),
        ("Alice\r", "carriage return"),
        ("a\tb", "tab"),
        ("\u{1B}[31mred", "escape"),
        ("a\u{7F}", "delete"),
        ("a\u{85}", "next line"),
        ("a\u{2028}b", "line separator"),
        ("a\u{2029}b", "paragraph separator"),
        ("\u{FFFD}", "replacement character"),
        ("a" + String(Unicode.Scalar(0xFFFE)!), "noncharacter FFFE"),
        ("a" + String(Unicode.Scalar(0xFDD0)!), "noncharacter FDD0"),
        ("a" + String(Unicode.Scalar(0x10FFFF)!), "noncharacter 10FFFF"),
        ("\u{3164}", "Hangul filler, default-ignorable, shows as nothing"),
        ("Ada\u{3164}", "default-ignorable inside a name"),
        ("\u{115F}\u{1160}", "Hangul choseong and jungseong fillers"),
        ("a\u{0378}", "unassigned"),
        (String(repeating: "a", count: 65), "65 scalars"),
        (String(repeating: "é", count: 65), "65 precomposed scalars"),
        (String(repeating: "e\u{301}", count: 33), "33 characters of 66 scalars"),
    ])
    func refusesHostileNames(name: String, why: String) {
        #expect(DisplayName(name) == nil, "\(why)")
    }

    @Test func countsUnicodeScalarsNotCharacters() {
        let sixtyFourScalars = String(repeating: "e\u{301}", count: 32)
        #expect(sixtyFourScalars.count == 32)
        #expect(sixtyFourScalars.unicodeScalars.count == DisplayName.maximumLength)
        #expect(DisplayName(sixtyFourScalars) != nil)
        #expect(DisplayName(sixtyFourScalars + "e") == nil)
    }
}
