import Testing

@testable import ZeroWeightProxy

@Suite struct PercentDecodingTests {
    private func decode(_ component: String) -> String? {
        PercentDecoding.decode(Substring(component).utf8)
    }

    @Test(arguments: [
        ("", ""),
        ("abc", "abc"),
        ("a%20b", "a b"),
        ("a+b", "a b"),
        ("+++", "   "),
        ("%2B", "+"),
        ("%2b", "+"),
        ("%25", "%"),
        ("%26%3D", "&="),
        ("%2F..%2F", "/../"),
        ("%41%7a", "Az"),
        ("%C3%A9", "é"),
        ("%c3%a9", "é"),
        ("%E2%82%AC", "€"),
        ("%F0%9F%91%8B", "👋"),
        ("%00", "\u{0}"),
        ("é", "é"),
        ("=&", "=&"),
    ])
    func decodesEscapesAndPlus(component: String, expected: String) {
        #expect(decode(component) == expected)
    }

    @Test(arguments: ["%", "a%", "%2", "a%2", "%G1", "%1G", "%%", "%%41", "%-1", "% 1", "%+1", "%é"])
    func refusesMalformedEscapes(component: String) {
        #expect(decode(component) == nil)
    }

    @Test(arguments: [
        "%FF",
        "%FE",
        "%80",
        "%C3",
        "%C3%28",
        "%C0%80",
        "%C1%BF",
        "%E0%80%80",
        "%ED%A0%80",
        "%ED%BF%BF",
        "%F0%80%80%80",
        "%F4%90%80%80",
        "%F5%80%80%80",
        "a%E2%82",
    ])
    func refusesBytesThatAreNotUTF8(component: String) {
        #expect(decode(component) == nil)
    }

    @Test func decodesOnlyTheGivenSlice() {
        let text = "name=Al%69ce&room=r1"
        let start = text.utf8.index(text.utf8.startIndex, offsetBy: 5)
        let end = text.utf8.index(start, offsetBy: 7)
        #expect(PercentDecoding.decode(text[start..<end].utf8) == "Alice")
    }
}
