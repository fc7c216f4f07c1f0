import Foundation
import Testing

@testable import ZeroWeightProxy

private let secret = "zw_live_S3cr3t_t0k3n"

@Suite struct ProxyConfigurationTests {
    private struct Unreadable: Error {}

    /// Loads from `environment`, reading files from `files` only; paths in `unreadable` fail to read,
    /// all others do not exist.
    private func load(
        _ environment: [String: String], files: [String: String] = [:], unreadable: Set<String> = []
    ) -> Result<ProxyConfiguration, ConfigurationError> {
        Result { () throws(ConfigurationError) in
            try ProxyConfiguration.load(environment: environment) { path in
                if unreadable.contains(path) { throw Unreadable() }
                return files[path].map { Data($0.utf8) }
            }
        }
    }

    private func error(
        _ environment: [String: String], files: [String: String] = [:], unreadable: Set<String> = []
    ) -> ConfigurationError? {
        guard case .failure(let error) = load(environment, files: files, unreadable: unreadable) else { return nil }
        return error
    }

    private func withKey(_ environment: [String: String]) -> [String: String] {
        environment.merging(["ZEROWEIGHT_API_KEY": secret]) { current, _ in current }
    }

    // MARK: The key

    @Test func keyFromTheEnvironmentWithDefaults() throws {
        let configuration = try load(["ZEROWEIGHT_API_KEY": secret]).get()
        #expect(configuration.apiKey == APIKey(secret))
        #expect(configuration.apiKey.headerValue == secret)
        #expect(configuration.apiBase == .default)
        #expect(configuration.apiBase.origin == "https://api.zeroweight.ai")
        #expect(configuration.timeout == 10)
        #expect(configuration.maximumResponseBytes == 4_194_304)
        #expect(configuration == ProxyConfiguration(apiKey: APIKey(secret)!))
    }

    @Test(arguments: [
        "zw_file_key", "zw_file_key\n", "zw_file_key\r\n", "zw_file_key\r", "zw_file_key\n\n", "zw_file_key\r\n\r\n",
    ])
    func keyFromAFileWithTrailingLineBreaksTrimmed(contents: String) throws {
        let environment = ["ZEROWEIGHT_API_KEY_FILE": "/etc/zeroweight/key"]
        let configuration = try load(environment, files: ["/etc/zeroweight/key": contents]).get()
        #expect(configuration.apiKey.headerValue == "zw_file_key")
    }

    @Test func keyFileIsReadFromTheNamedPathOnly() throws {
        var paths: [String] = []
        let configuration = try ProxyConfiguration.load(environment: ["ZEROWEIGHT_API_KEY_FILE": "/run/secrets/zw"]) {
            paths.append($0)
            return $0 == ProxyConfiguration.defaultConfigPath ? nil : Data("k1\n".utf8)
        }
        #expect(paths == [ProxyConfiguration.defaultConfigPath, "/run/secrets/zw"])
        #expect(configuration.apiKey.headerValue == "k1")
    }

    @Test func defaultReaderReadsARealFile() throws {
        let url = FileManager.default.temporaryDirectory.appending(path: "zw-key-\(UUID().uuidString)")
        try Data("zw_from_disk\n".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let configuration = try ProxyConfiguration.load(environment: ["ZEROWEIGHT_API_KEY_FILE": url.path])
        #expect(configuration.apiKey.headerValue == "zw_from_disk")
    }

    @Test func emptyInlineKeyDefersToTheFile() throws {
        let environment = ["ZEROWEIGHT_API_KEY": "", "ZEROWEIGHT_API_KEY_FILE": "/k"]
        #expect(try load(environment, files: ["/k": "from_file"]).get().apiKey.headerValue == "from_file")
    }

    @Test func bothSetIsAnErrorNamingTheFileVariable() throws {
        var reads = 0
        let environment = ["ZEROWEIGHT_API_KEY": secret, "ZEROWEIGHT_API_KEY_FILE": "/k"]
        #expect(throws: ConfigurationError.self) {
            _ = try ProxyConfiguration.load(environment: environment) { path in
                guard path != ProxyConfiguration.defaultConfigPath else { return nil }
                reads += 1
                return Data("other".utf8)
            }
        }
        #expect(reads == 0)
        let problem = try #require(error(environment, files: ["/k": "other"]))
        #expect(problem.setting == "ZEROWEIGHT_API_KEY_FILE")
        #expect(
            problem.description
                == "ZEROWEIGHT_API_KEY_FILE: is set together with the key itself (ZEROWEIGHT_API_KEY or api_key); set only one"
        )
    }

    @Test(arguments: [[:], ["ZEROWEIGHT_API_KEY": ""], ["ZEROWEIGHT_API_KEY": "", "ZEROWEIGHT_API_KEY_FILE": ""]])
    func noKeyIsAnErrorNamingTheKeyVariable(environment: [String: String]) {
        #expect(
            error(environment)
                == ConfigurationError(
                    setting: "ZEROWEIGHT_API_KEY", problem: "is not set; set it or ZEROWEIGHT_API_KEY_FILE"))
    }

    @Test(arguments: [
        "zw key", " zw", "zw\n", "zw\r\n", "\nzw", "zw\t", "zw\u{0}", "zwé", "zw\u{7F}",
        String(repeating: "k", count: 4097),
    ])
    func inlineKeyMustBeVisibleASCII(value: String) {
        #expect(
            error(["ZEROWEIGHT_API_KEY": value])
                == ConfigurationError(
                    setting: "ZEROWEIGHT_API_KEY", problem: "must be visible ASCII without spaces or line breaks"))
    }

    @Test(arguments: ["", "\n", "\r\n", "zw key\n", " zw\n", "zw\t\n", "line1\nline2\n", "zwé\n", "\u{FEFF}zw\n"])
    func fileKeyMustBeOneLineOfVisibleASCII(contents: String) {
        #expect(
            error(["ZEROWEIGHT_API_KEY_FILE": "/k"], files: ["/k": contents])
                == ConfigurationError(
                    setting: "ZEROWEIGHT_API_KEY_FILE",
                    problem: "must hold one line of visible ASCII without spaces (a trailing newline is fine)"))
    }

    @Test func fileKeyRefusesInvalidUTF8() {
        let problem = Result { () throws(ConfigurationError) in
            try ProxyConfiguration.load(environment: ["ZEROWEIGHT_API_KEY_FILE": "/k"]) { path in
                path == "/k" ? Data([0x6B, 0xFF, 0x0A]) : nil
            }
        }
        guard case .failure(let error) = problem else {
            Issue.record("a key file with invalid UTF-8 was accepted")
            return
        }
        #expect(error.setting == "ZEROWEIGHT_API_KEY_FILE")
    }

    @Test func unreadableKeyFileIsAnError() {
        #expect(
            error(["ZEROWEIGHT_API_KEY_FILE": "/missing"])
                == ConfigurationError(setting: "ZEROWEIGHT_API_KEY_FILE", problem: "names a file that cannot be read"))
    }

    // MARK: The base

    @Test(arguments: [
        ("https://api.example.com", "https://api.example.com"),
        ("https://api.example.com/", "https://api.example.com"),
        ("https://api.example.com/prefix///", "https://api.example.com/prefix"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost", "http://localhost"),
        ("http://[::1]:9", "http://[::1]:9"),
    ])
    func acceptedBases(text: String, origin: String) throws {
        let configuration = try load(withKey(["ZEROWEIGHT_API_BASE": text])).get()
        #expect(configuration.apiBase.origin == origin)
    }

    @Test(arguments: [
        "http://example.com", "http://api.zeroweight.ai", "ftp://127.0.0.1", "ftp://example.com",
        "https://user@api.example.com", "https://user:pass@api.example.com", "http://user@127.0.0.1",
        "https://api.example.com?x=1", "https://api.example.com/?", "https://api.example.com#top", "api.example.com",
        "https://", "https:// api.example.com", "not a url",
    ])
    func refusedBases(text: String) {
        #expect(
            error(withKey(["ZEROWEIGHT_API_BASE": text]))
                == ConfigurationError(
                    setting: "ZEROWEIGHT_API_BASE",
                    problem: "must be an https URL, or an http URL to a loopback host, without query or user info"))
    }

    @Test func emptyBaseMeansTheDefault() throws {
        #expect(try load(withKey(["ZEROWEIGHT_API_BASE": ""])).get().apiBase == .default)
    }

    // MARK: Limits

    @Test(arguments: [("0.5", 0.5), ("1", 1), ("2.25", 2.25), ("300", 300), ("", 10)])
    func acceptedTimeouts(text: String, seconds: Double) throws {
        #expect(try load(withKey(["ZEROWEIGHT_TIMEOUT_SECONDS": text])).get().timeout == seconds)
    }

    @Test(arguments: [
        "0", "0.0", "-0", "-1", "-0.5", "nan", "NaN", "inf", "infinity", "abc", "10s", " 5", "300.001", "301",
        "0x10", "0x1p3", "1e1", "+5",
    ])
    func refusedTimeouts(text: String) {
        #expect(
            error(withKey(["ZEROWEIGHT_TIMEOUT_SECONDS": text]))
                == ConfigurationError(
                    setting: "ZEROWEIGHT_TIMEOUT_SECONDS",
                    problem: "must be a number of seconds above 0 and at most 300"))
    }

    @Test(arguments: [("1024", 1024), ("1048576", 1_048_576), ("268435456", 268_435_456), ("", 4_194_304)])
    func acceptedMaximumBytes(text: String, bytes: Int) throws {
        #expect(try load(withKey(["ZEROWEIGHT_MAX_RESPONSE_BYTES": text])).get().maximumResponseBytes == bytes)
    }

    @Test(arguments: ["1023", "0", "-1", "268435457", "1.5", "1e6", "4M", "abc", "99999999999999999999"])
    func refusedMaximumBytes(text: String) {
        #expect(
            error(withKey(["ZEROWEIGHT_MAX_RESPONSE_BYTES": text]))
                == ConfigurationError(
                    setting: "ZEROWEIGHT_MAX_RESPONSE_BYTES", problem: "must be a whole number from 1024 to 268435456"))
    }

    @Test func allSettingsTogether() throws {
        let configuration = try load([
            "ZEROWEIGHT_API_KEY": "k", "ZEROWEIGHT_API_BASE": "http://127.0.0.1:8080/",
            "ZEROWEIGHT_TIMEOUT_SECONDS": "2.5", "ZEROWEIGHT_MAX_RESPONSE_BYTES": "65536",
        ]).get()
        #expect(
            configuration
                == ProxyConfiguration(
                    apiKey: APIKey("k")!, apiBase: APIBase(validating: "http://127.0.0.1:8080")!, timeout: 2.5,
                    maximumResponseBytes: 65536))
    }

    @Test func reportsTheFirstProblem() {
        #expect(error(["ZEROWEIGHT_API_BASE": "ftp://x"])?.setting == "ZEROWEIGHT_API_KEY")
        let badBaseAndTimeout = withKey(["ZEROWEIGHT_API_BASE": "ftp://x", "ZEROWEIGHT_TIMEOUT_SECONDS": "0"])
        #expect(error(badBaseAndTimeout)?.setting == "ZEROWEIGHT_API_BASE")
        let badTimeoutAndBytes = withKey(["ZEROWEIGHT_TIMEOUT_SECONDS": "0", "ZEROWEIGHT_MAX_RESPONSE_BYTES": "1"])
        #expect(error(badTimeoutAndBytes)?.setting == "ZEROWEIGHT_TIMEOUT_SECONDS")
    }

    // MARK: Secrecy

    @Test(
        arguments: [
            (["ZEROWEIGHT_API_KEY": secret + " x"], [:]),
            (["ZEROWEIGHT_API_KEY": secret + "\n"], [:]),
            (["ZEROWEIGHT_API_KEY": "é" + secret], [:]),
            (["ZEROWEIGHT_API_KEY": secret, "ZEROWEIGHT_API_KEY_FILE": "/k"], ["/k": secret]),
            (["ZEROWEIGHT_API_KEY_FILE": "/k"], ["/k": secret + " x\n"]),
            (["ZEROWEIGHT_API_KEY_FILE": "/k"], ["/k": secret + "\n" + secret + "\n"]),
            (["ZEROWEIGHT_API_KEY_FILE": "/" + secret], [:]),
            (["ZEROWEIGHT_API_KEY": secret, "ZEROWEIGHT_API_BASE": "http://" + secret + ".example"], [:]),
            (["ZEROWEIGHT_API_KEY": secret, "ZEROWEIGHT_API_BASE": "https://" + secret + "@api.example.com"], [:]),
            (["ZEROWEIGHT_API_KEY": secret, "ZEROWEIGHT_TIMEOUT_SECONDS": secret], [:]),
            (["ZEROWEIGHT_API_KEY": secret, "ZEROWEIGHT_MAX_RESPONSE_BYTES": secret], [:]),
        ] as [([String: String], [String: String])])
    func errorsNeverContainTheKey(environment: [String: String], files: [String: String]) throws {
        let problem = try #require(error(environment, files: files))
        var dumped = ""
        dump(problem, to: &dumped)
        for text in [problem.description, String(reflecting: problem), "\(problem)", dumped] {
            #expect(!text.contains(secret))
        }
    }
}
