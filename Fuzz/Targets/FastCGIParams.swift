// Fuzzes the conversion of libfcgi's decoded params (`KEY=VALUE` C strings) into a dictionary:
// Syscalls.fastCGIParams, fed a hand-built FCGX_Request whose envp holds the fuzzer's strings.
// Input: the C strings, separated by NUL bytes.

import CFastCGI

@testable import ZeroWeightProxy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFastCGIParams(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    let entries = Fuzz.fields(bytes, separator: 0)
    var strings: [UnsafeMutablePointer<CChar>?] = entries.map { entry in
        let string = UnsafeMutablePointer<CChar>.allocate(capacity: entry.count + 1)
        for (offset, byte) in entry.enumerated() { string[offset] = CChar(bitPattern: byte) }
        string[entry.count] = 0
        return string
    }
    strings.append(nil)
    defer { for string in strings { string?.deallocate() } }

    let params = strings.withUnsafeMutableBufferPointer { envp in
        var request = FCGX_Request()
        request.envp = envp.baseAddress
        return withUnsafeMutablePointer(to: &request) { Syscalls.fastCGIParams($0) }
    }
    // The name is everything before the first `=` byte and the value everything after it, whatever
    // the bytes around it are (as libfcgi and every web server split them).
    let expected = Fuzz.environment(bytes)
    Fuzz.require(params == expected, "params \(params) differ from the byte-wise split \(expected)")

    var empty = FCGX_Request()
    let none = withUnsafeMutablePointer(to: &empty) { Syscalls.fastCGIParams($0) }
    Fuzz.require(none.isEmpty, "params from a request without envp")
    return 0
}
