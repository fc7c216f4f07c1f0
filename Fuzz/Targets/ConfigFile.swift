// Fuzzes the config file: ConfigFile parsing, then every setting's value parser through
// ProxySettings.load, with file reads served from memory (no I/O).
// Input: the config file bytes.

import Foundation

@testable import ZeroWeightProxy

private let configPath = "/etc/zeroweight-proxy/fuzz.conf"
/// What every other file "contains": valid as an API key and as an HS256 secret, and never to be printed.
private let secret = "zw_fuzz_SECRET_0b9c3e51d7a2f4e8c6b1a0d9e7f5"
private let jwks = Data(
    (#"{"keys":[{"kty":"OKP","kid":"ed-1","crv":"Ed25519","x":"0uYbHIOPRiJmCzlDcBN99lio-cOa7r1J7Itj1SBJoiI"}]}"#)
        .utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    if let text = String(validating: bytes, as: UTF8.self) { check(text) }

    let readFile: ProxyConfiguration.FileReader = { path in
        if path == configPath { return Data(bytes) }
        return path.hasSuffix(".json") ? jwks : Data((secret + "\n").utf8)
    }
    do throws(ConfigurationError) {
        let settings = try ProxySettings.load(
            environment: ["ZEROWEIGHT_PROXY_CONFIG": configPath], readFile: readFile, isWritable: { _ in false })
        Fuzz.require(!Fuzz.containsBytes(String(describing: settings), secret), "settings print the secret")
        Fuzz.require(!Fuzz.containsBytes(String(reflecting: settings), secret), "settings reflect the secret")
    } catch {
        Fuzz.require(!Fuzz.containsBytes(error.description, secret), "an error message holds the secret")
    }
    return 0
}

/// Parsed entries are well-formed and unique; errors name a line of the file.
private func check(_ text: String) {
    // Lines end at LF, CRLF or a lone CR, counted here independently of ConfigFile.lines(of:).
    let lineCount = text.replacing("\r\n", with: "\n").utf8.count { $0 == 0x0A || $0 == 0x0D } + 1
    let file: ConfigFile
    do throws(ConfigurationError) {
        file = try ConfigFile(parsing: text, path: configPath)
    } catch {
        guard error.setting != configPath else {
            return Fuzz.require(text.utf8.count > ConfigFile.maximumBytes, "whole-file error \(error.problem)")
        }
        let line = error.setting.hasPrefix(configPath + ":") ? Int(error.setting.dropFirst(configPath.count + 1)) : nil
        Fuzz.require(line.map { (1...lineCount).contains($0) } ?? false, "error names \(error.setting)")
        return
    }
    var names: Set<String> = []
    var previousLine = 0
    for entry in file.entries {
        Fuzz.require(ConfigFile.isValidName(entry.name), "name \(entry.name.debugDescription)")
        Fuzz.require(entry.name.utf8.first.map { (0x61...0x7A).contains($0) } ?? false, "name start")
        Fuzz.require(names.insert(entry.name).inserted, "\(entry.name) repeated")
        Fuzz.require(entry.line > previousLine && entry.line <= lineCount, "line \(entry.line) out of order")
        previousLine = entry.line
        let padding: Set<Character> = [" ", "\t", "\r"]
        Fuzz.require(!(entry.value.first.map(padding.contains) ?? false), "value starts with padding")
        Fuzz.require(!(entry.value.last.map(padding.contains) ?? false), "value ends with padding")
        Fuzz.require(
            !entry.value.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\t" },
            "control character in \(entry.value.debugDescription)")
        Fuzz.require(!entry.value.contains(where: \.isNewline), "line break in \(entry.value.debugDescription)")
    }
    // Written back one per line, the entries read back the same.
    let rendered = file.entries.map { "\($0.name) = \($0.value)" }.joined(separator: "\n")
    let again = try? ConfigFile(parsing: rendered, path: configPath)
    Fuzz.require(
        again?.entries.map { [$0.name, $0.value] } == file.entries.map { [$0.name, $0.value] },
        "entries do not round-trip through \(rendered.debugDescription)")
}
