import Foundation
import Testing

@testable import ZeroWeightProxy

private let secret = "zw_live_S3cr3t_t0k3n"

@Suite struct APIKeyTests {
    private let key = APIKey(secret)!

    @Test(arguments: [
        "k", secret, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", String(repeating: "k", count: 4096),
        String((0x21...0x7E).map { Character(Unicode.Scalar(UInt8($0))) }),
    ])
    func acceptsVisibleASCII(value: String) throws {
        let key = try #require(APIKey(value))
        #expect(key.headerValue == value)
    }

    @Test(arguments: [
        "", " ", "a b", " a", "a ", "a\n", "a\r\n", "a\r", "a\t", "\u{0}", "a\u{7F}", "é", "a\u{A0}", "ｋ",
        String(repeating: "k", count: 4097),
    ])
    func refusesEverythingElse(value: String) {
        #expect(APIKey(value) == nil)
    }

    @Test func descriptionsAreRedacted() {
        #expect(key.description == "<redacted>")
        #expect(key.debugDescription == "<redacted>")
        #expect(String(describing: key) == "<redacted>")
        #expect(String(reflecting: key) == "<redacted>")
        #expect("\(key)" == "<redacted>")
    }

    @Test func reflectionShowsNothing() {
        #expect(Mirror(reflecting: key).children.isEmpty)
        var dumped = ""
        dump(key, to: &dumped)
        #expect(!dumped.contains(secret))
        #expect(dumped.contains("<redacted>"))
    }

    @Test func containersDoNotRevealTheKey() {
        let configuration = ProxyConfiguration(apiKey: key)
        let result = Result<ProxyConfiguration, ConfigurationError>.success(configuration)
        var dumpedConfiguration = ""
        dump(configuration, to: &dumpedConfiguration)
        var dumpedResult = ""
        dump(result, to: &dumpedResult)
        let renderings = [
            String(describing: configuration), String(reflecting: configuration), "\(configuration)",
            String(describing: [key]), String(describing: Optional(key)), String(describing: ["key": key]),
            String(describing: result), dumpedConfiguration, dumpedResult,
        ]
        for text in renderings {
            #expect(!text.contains(secret), "\(text)")
        }
    }

    @Test func equalKeysCompareEqual() {
        #expect(APIKey(secret) == key)
        #expect(APIKey(secret + "x") != key)
    }
}
