import Testing

@testable import ZeroWeightProxy

@Suite struct ConfigFileTests {
    private func parse(_ text: String) -> Result<ConfigFile, ConfigurationError> {
        Result { () throws(ConfigurationError) in try ConfigFile(parsing: text, path: "/etc/zw.conf") }
    }

    @Test func readsNameValueLinesSkippingCommentsAndBlanks() throws {
        let file = try parse(
            """
            # a comment
               
            api_base = https://api.example.com/a=b#c
            \ttimeout_seconds=2.5\r
              # indented comment
            tenant.acme-1.avatars =
            """
        ).get()
        #expect(
            file.entries == [
                .init(name: "api_base", value: "https://api.example.com/a=b#c", line: 3),
                .init(name: "timeout_seconds", value: "2.5", line: 4),
                .init(name: "tenant.acme-1.avatars", value: "", line: 6),
            ])
    }

    @Test func crlfAndCrLineEndsCountLines() throws {
        let file = try parse("a = 1\r\nb = 2\rc = 3\n").get()
        #expect(file.entries.map(\.line) == [1, 2, 3])
        #expect(file.entries.map(\.value) == ["1", "2", "3"])
    }

    /// Tabs, spaces and `=` are found scalar by scalar: a combining mark after one does not hide it.
    @Test func combiningMarksDoNotHideTheSyntax() throws {
        let file = try parse("a =\t\u{301}\tb\nd =\u{301}= y").get()
        #expect(file.entries.map(\.value) == ["\u{301}\tb", "\u{301}= y"])
        #expect(try parse(file.entries.map { "\($0.name) = \($0.value)" }.joined(separator: "\n")).get() == file)
    }

    @Test(arguments: [
        ("api_base https://x", "/etc/zw.conf:1", "is not of the form name = value"),
        ("= value", "/etc/zw.conf:1", "has a malformed name (use lower-case letters, digits, _ and .)"),
        ("API_BASE = x", "/etc/zw.conf:1", "has a malformed name (use lower-case letters, digits, _ and .)"),
        ("1st = x", "/etc/zw.conf:1", "has a malformed name (use lower-case letters, digits, _ and .)"),
        ("a b = x", "/etc/zw.conf:1", "has a malformed name (use lower-case letters, digits, _ and .)"),
        ("ok = 1\nok = 2", "/etc/zw.conf:2", "repeats ok, already set on line 1"),
        ("ok = a\u{1}b", "/etc/zw.conf:1", "has a control character or line break in its value"),
        ("ok = a\u{85}b", "/etc/zw.conf:1", "has a control character or line break in its value"),
        ("a = 1\nok = a\u{2028}b", "/etc/zw.conf:2", "has a control character or line break in its value"),
        ("ok = a\u{2029}b", "/etc/zw.conf:1", "has a control character or line break in its value"),
        ("[section]", "/etc/zw.conf:1", "is not of the form name = value"),
    ])
    func malformedLinesNameTheLine(text: String, setting: String, problem: String) {
        #expect(parse(text) == .failure(ConfigurationError(setting: setting, problem: problem)))
    }

    @Test func refusesAHugeFile() {
        let text = String(repeating: "# padding\n", count: ConfigFile.maximumBytes / 10 + 1)
        #expect(parse(text) == .failure(ConfigurationError(setting: "/etc/zw.conf", problem: "is larger than 1 MiB")))
    }
}
