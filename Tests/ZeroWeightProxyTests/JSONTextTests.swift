import Foundation
import Testing

@testable import ZeroWeightProxy

@Suite struct JSONTextTests {
    @Test(arguments: [
        ("", #""""#),
        ("abc", #""abc""#),
        ("\"", #""\"""#),
        ("\\", #""\\""#),
        ("/", #""/""#),
        ("\n", #""\n""#),
        ("\r", #""\r""#),
        ("\t", #""\t""#),
        ("\r\n", #""\r\n""#),
        ("\u{0}", #""\u0000""#),
        ("\u{8}", #""\u0008""#),
        ("\u{C}", #""\u000c""#),
        ("\u{1B}", #""\u001b""#),
        ("\u{1F}", #""\u001f""#),
        ("\u{7F}", #""\u007f""#),
        ("\u{2028}", #""\u2028""#),
        ("\u{2029}", #""\u2029""#),
        (" ", #"" ""#),
        ("é", "\"é\""),
        ("\u{202E}", "\"\u{202E}\""),
        ("👋", "\"👋\""),
        ("a\"b\\c\nd", #""a\"b\\c\nd""#),
        ("</script>", #""</script>""#),
    ])
    func quotesAndEscapes(value: String, expected: String) {
        #expect(JSONText.quoted(value) == expected)
    }

    @Test(arguments: [
        "", "plain", "quote \" and backslash \\", "line\nbreak\r\n", "\u{0}\u{1}\u{1F}\u{7F}", "\u{2028}\u{2029}",
        "Zoë 张伟 👋🏽", "{\"injected\":true}",
    ])
    func outputIsOneValidJSONStringThatDecodesBack(value: String) throws {
        let quoted = JSONText.quoted(value)
        #expect(JSONValidator().validate(Array(quoted.utf8)) == .scalar)
        #expect(!quoted.utf8.contains(UInt8(ascii: "\n")))
        #expect(!quoted.utf8.contains(UInt8(ascii: "\r")))
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        #expect(decoded == [value])
    }
}
