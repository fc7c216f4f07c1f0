import Foundation
import Testing

@testable import ZeroWeightProxy

/// The config file and the environment together, as `ProxyConfiguration.load` reads them.
@Suite struct ConfigurationSourcesTests {
    private let configPath = ProxyConfiguration.defaultConfigPath

    private func load(
        _ environment: [String: String], files: [String: String]
    ) -> Result<ProxyConfiguration, ConfigurationError> {
        Result { () throws(ConfigurationError) in
            try ProxyConfiguration.load(environment: environment) { path in files[path].map { Data($0.utf8) } }
        }
    }

    @Test func theDefaultFileIsReadWhenPresent() throws {
        let file = "api_key_file = /k\napi_base = http://127.0.0.1:9\ntimeout_seconds = 2\nmax_response_bytes = 2048\n"
        let configuration = try load([:], files: [configPath: file, "/k": "key1\n"]).get()
        #expect(configuration.apiKey.headerValue == "key1")
        #expect(configuration.apiBase.origin == "http://127.0.0.1:9")
        #expect(configuration.timeout == 2)
        #expect(configuration.maximumResponseBytes == 2048)
    }

    @Test func theEnvironmentOverridesTheFile() throws {
        let file = "api_key = from_file\ntimeout_seconds = 2\n"
        let configuration = try load(["ZEROWEIGHT_TIMEOUT_SECONDS": "3"], files: [configPath: file]).get()
        #expect(configuration.apiKey.headerValue == "from_file")
        #expect(configuration.timeout == 3)
    }

    @Test func aKeyInTheEnvironmentReplacesEveryKeySettingOfTheFile() throws {
        let file = "api_key_file = /unreadable\n"
        let configuration = try load(["ZEROWEIGHT_API_KEY": "from_env"], files: [configPath: file]).get()
        #expect(configuration.apiKey.headerValue == "from_env")
    }

    @Test func zeroweightProxyConfigNamesAnotherFile() throws {
        let configuration = try load(
            ["ZEROWEIGHT_PROXY_CONFIG": "/srv/zw.conf"],
            files: ["/srv/zw.conf": "api_key = other\n", configPath: "api_key = default\n"]
        ).get()
        #expect(configuration.apiKey.headerValue == "other")
    }

    @Test func aNamedFileMustExist() {
        #expect(
            load(["ZEROWEIGHT_PROXY_CONFIG": "/srv/missing.conf", "ZEROWEIGHT_API_KEY": "k"], files: [:])
                == .failure(
                    ConfigurationError(
                        setting: "ZEROWEIGHT_PROXY_CONFIG", problem: "names a config file that does not exist")))
    }

    @Test func anUnreadableDefaultFileIsAnError() {
        struct Denied: Error {}
        let result = Result { () throws(ConfigurationError) in
            try ProxyConfiguration.load(environment: ["ZEROWEIGHT_API_KEY": "k"]) { _ in throw Denied() }
        }
        #expect(
            result
                == .failure(ConfigurationError(setting: configPath, problem: "names a config file that cannot be read"))
        )
    }

    @Test func unknownNamesInTheFileAreErrorsNamingTheLine() {
        #expect(
            load([:], files: [configPath: "api_key = k\n\ntimeout = 5\n"])
                == .failure(
                    ConfigurationError(
                        setting: "\(configPath):3", problem: "timeout is not a zeroweight-proxy setting")))
    }

    @Test(arguments: ["ZEROWEIGHT_TIMEOUT", "ZEROWEIGHT_api_base", "ZEROWEIGHT_", "ZEROWEIGHT_APIKEY"])
    func unknownZeroweightVariablesAreErrors(variable: String) {
        #expect(
            load(["ZEROWEIGHT_API_KEY": "k", variable: "5"], files: [:])
                == .failure(ConfigurationError(setting: variable, problem: "is not a zeroweight-proxy setting")))
    }

    @Test func badValuesInTheFileNameFileLineAndSetting() {
        #expect(
            load([:], files: [configPath: "api_key = k\ntimeout_seconds = soon\n"])
                == .failure(
                    ConfigurationError(
                        setting: "\(configPath):2 (timeout_seconds)",
                        problem: "must be a number of seconds above 0 and at most 300")))
    }

    @Test func keyAndKeyFileInTheFileIsAnError() {
        #expect(
            load([:], files: [configPath: "api_key = k\napi_key_file = /k\n", "/k": "k2"])
                == .failure(
                    ConfigurationError(
                        setting: "\(configPath):2 (api_key_file)",
                        problem: "is set together with the key itself (ZEROWEIGHT_API_KEY or api_key); set only one")))
    }

    @Test func theShippedSkeletonParses() throws {
        let skeleton = URL(filePath: #filePath).deletingLastPathComponent().appending(
            path: "../../deploy/config/zeroweight-proxy.conf")
        let text = try String(contentsOf: skeleton, encoding: .utf8)
        let configuration = try load([:], files: [configPath: text, "/etc/zeroweight-proxy/api-key": "zk\n"]).get()
        #expect(configuration == ProxyConfiguration(apiKey: APIKey("zk")!))
    }
}
