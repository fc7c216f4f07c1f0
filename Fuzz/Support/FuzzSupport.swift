// Compiled into every fuzz target (see Fuzz/run): invariant checks and input splitting.

/// Helpers shared by the fuzz targets.
enum Fuzz {
    /// Stops the run with `message` when `condition` is false, so libFuzzer saves the input as a crash.
    ///
    /// `fatalError` keeps its message in optimised builds, unlike `precondition`.
    static func require(
        _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
    ) {
        if !condition { fail(message(), file: file, line: line) }
    }

    /// Stops the run with `message`: an invariant that cannot hold was reached.
    static func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
        fatalError("fuzz invariant failed: \(message)", file: file, line: line)
    }

    /// The fuzzer's bytes as an array.
    static func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// `bytes` as text, invalid UTF-8 repaired to U+FFFD (what `String(cString:)` does to a C string).
    static func text(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// `bytes` cut at every `separator`, empty pieces kept.
    static func fields(_ bytes: [UInt8], separator: UInt8, maxSplits: Int = .max) -> [ArraySlice<UInt8>] {
        bytes.split(separator: separator, maxSplits: maxSplits, omittingEmptySubsequences: false)
    }

    /// `KEY=VALUE` entries separated by NUL, as FastCGI params and a CGI environment hold them; an
    /// entry without `=` is left out and a later entry wins.
    static func environment(_ bytes: [UInt8]) -> [String: String] {
        var environment: [String: String] = [:]
        for entry in fields(bytes, separator: 0) {
            guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            environment[text(entry[..<equals])] = text(entry[(equals + 1)...])
        }
        return environment
    }

    /// Every byte of `text` as `%XX`, the most conservative form-urlencoding.
    static func percentEncoded(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether the UTF-8 of `haystack` contains that of `needle` (byte for byte, not by Unicode equivalence).
    static func containsBytes(_ haystack: String, _ needle: String) -> Bool {
        let hay = Array(haystack.utf8)
        let pin = Array(needle.utf8)
        guard !pin.isEmpty, hay.count >= pin.count else { return pin.isEmpty }
        return (0...(hay.count - pin.count)).contains { hay[$0..<($0 + pin.count)].elementsEqual(pin) }
    }
}
