// Fuzzes client address parsing: IPAddress, AddressRange (and its list form) and ClientAddressResolver.
// Input: three lines: the trusted proxies list, REMOTE_ADDR, and X-Forwarded-For (absent without a
// second newline).

import Foundation

@testable import ZeroWeightProxy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientAddress(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let lines = Fuzz.fields(Fuzz.bytes(data, size), separator: UInt8(ascii: "\n"), maxSplits: 2).map(Fuzz.text)
    let remoteAddress = lines.count > 1 ? lines[1] : ""
    let forwardedFor = lines.count > 2 ? lines[2] : nil
    for line in lines { checkAddress(line) }
    for hop in (forwardedFor ?? "").split(separator: ",") { checkAddress(String(hop)) }

    let trusted: [AddressRange]
    switch AddressRange.parseList(lines[0]) {
    case .success(let ranges): trusted = ranges
    case .failure(let bad):
        Fuzz.require(AddressRange(bad.text) == nil, "parseList refused the range \(bad.text.debugDescription)")
        trusted = []
    }
    for range in trusted { checkRange(range) }
    for entry in lines[0].split(separator: " ") { _ = AddressRange(String(entry)).map(checkRange) }

    let resolver = ClientAddressResolver(trustedProxies: trusted)
    let client = resolver.clientAddress(remoteAddress: remoteAddress, forwardedFor: forwardedFor)
    guard let peer = IPAddress(remoteAddress), resolver.isTrusted(peer), forwardedFor != nil else {
        Fuzz.require(client == remoteAddress, "an untrusted peer's header changed the client to \(client)")
        return 0
    }
    // Otherwise the answer is the peer or one of the forwarded hops, as a canonical address.
    guard let address = IPAddress(client) else { Fuzz.fail("client \(client) is not an address") }
    let hops = (forwardedFor ?? "").split(separator: ",").compactMap {
        IPAddress($0.trimmingCharacters(in: .whitespaces))
    }
    Fuzz.require(address == peer || hops.contains(address), "client \(client) came from nowhere")
    return 0
}

/// A parsed address prints as its own canonical, re-parsable text.
private func checkAddress(_ text: String) {
    guard let address = IPAddress(text) else { return }
    Fuzz.require(address.bytes.count == 4 || address.bytes.count == 16, "\(address.bytes.count) address bytes")
    Fuzz.require(address.isIPv4 == (address.bytes.count == 4), "isIPv4 disagrees with the bytes")
    let allowed = Set("0123456789abcdefABCDEF:.".utf8)
    Fuzz.require(
        address.description.utf8.allSatisfy(allowed.contains), "address text \(address.description.debugDescription)")
    Fuzz.require(IPAddress(address.description) == address, "\(address) does not re-parse")
    Fuzz.require(IPAddress("[\(address.description)]") == address, "[\(address)] does not parse")
}

/// A range contains its own network address and re-parses from its description.
private func checkRange(_ range: AddressRange) {
    Fuzz.require((0...(range.network.bytes.count * 8)).contains(range.prefixLength), "prefix /\(range.prefixLength)")
    Fuzz.require(range.contains(range.network), "\(range) does not contain its network")
    Fuzz.require(AddressRange(range.description) == range, "\(range) does not re-parse")
}
