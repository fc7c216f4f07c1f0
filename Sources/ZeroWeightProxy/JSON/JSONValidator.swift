/// A strict, allocation-free check that bytes are one RFC 8259 JSON text.
///
/// The proxy passes upstream bodies through byte for byte, so it only needs to know that they are
/// well-formed JSON and what the top-level value is; it never builds a tree. Nesting deeper than
/// `maximumDepth` is rejected so hostile input cannot exhaust the stack.
public struct JSONValidator: Sendable {
    /// The kind of top-level value of a valid text.
    public enum TopLevel: Sendable, Hashable {
        case object, array, scalar
    }

    public let maximumDepth: Int

    public init(maximumDepth: Int = 64) {
        self.maximumDepth = maximumDepth
    }

    /// The top-level kind when `bytes` is exactly one JSON value (with optional white space), else nil.
    public func validate<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> TopLevel? {
        var result: TopLevel?
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            var scanner = Scanner(bytes: buffer, maximumDepth: maximumDepth)
            result = scanner.document()
        }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBufferPointer { buffer in
                var scanner = Scanner(bytes: buffer, maximumDepth: maximumDepth)
                result = scanner.document()
            }
        }
        return result
    }
}

private struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    mutating func document() -> JSONValidator.TopLevel? {
        skipSpace()
        guard index < bytes.count else { return nil }
        let kind: JSONValidator.TopLevel
        switch bytes[index] {
        case UInt8(ascii: "{"): kind = .object
        case UInt8(ascii: "["): kind = .array
        default: kind = .scalar
        }
        guard value(depth: 0) else { return nil }
        skipSpace()
        return index == bytes.count ? kind : nil
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) -> Bool {
        guard index < bytes.count, depth <= maximumDepth else { return false }
        switch bytes[index] {
        case UInt8(ascii: "{"): return object(depth: depth + 1)
        case UInt8(ascii: "["): return array(depth: depth + 1)
        case UInt8(ascii: "\""): return string()
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    mutating func object(depth: Int) -> Bool {
        guard depth <= maximumDepth else { return false }
        index += 1
        skipSpace()
        if peek(UInt8(ascii: "}")) { return true }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), string() else { return false }
            skipSpace()
            guard peek(UInt8(ascii: ":")) else { return false }
            skipSpace()
            guard value(depth: depth) else { return false }
            skipSpace()
            if peek(UInt8(ascii: ",")) { continue }
            return peek(UInt8(ascii: "}"))
        }
    }

    mutating func array(depth: Int) -> Bool {
        guard depth <= maximumDepth else { return false }
        index += 1
        skipSpace()
        if peek(UInt8(ascii: "]")) { return true }
        while true {
            skipSpace()
            guard value(depth: depth) else { return false }
            skipSpace()
            if peek(UInt8(ascii: ",")) { continue }
            return peek(UInt8(ascii: "]"))
        }
    }

    /// Consumes `byte` when it is next.
    mutating func peek(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func literal(_ word: String) -> Bool {
        let count = word.utf8.count
        guard bytes.count - index >= count, word.utf8.elementsEqual(bytes[index..<index + count]) else {
            return false
        }
        index += count
        return true
    }

    mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    mutating func number() -> Bool {
        _ = peek(UInt8(ascii: "-"))
        guard index < bytes.count else { return false }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            return false
        }
        if peek(UInt8(ascii: ".")), digits() == 0 { return false }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            if !peek(UInt8(ascii: "+")) { _ = peek(UInt8(ascii: "-")) }
            if digits() == 0 { return false }
        }
        return true
    }

    /// A string, with escapes and UTF-8 checked (no overlongs, no surrogates, nothing past U+10FFFF).
    mutating func string() -> Bool {
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return true
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { return false }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    guard bytes.count - index > 4 else { return false }
                    for offset in 1...4 where !isHexDigit(bytes[index + offset]) { return false }
                    index += 5
                default:
                    return false
                }
            case 0x00..<0x20:
                return false
            case 0x20..<0x80:
                index += 1
            default:
                guard utf8Sequence() else { return false }
            }
        }
        return false
    }

    func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
            UInt8(ascii: "A")...UInt8(ascii: "F"):
            return true
        default:
            return false
        }
    }

    /// One multi-byte UTF-8 sequence starting at `index` (RFC 3629 table 3-7 ranges).
    mutating func utf8Sequence() -> Bool {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return false
        }
        guard bytes.count - index >= length else { return false }
        let second = bytes[index + 1]
        guard second >= low, second <= high else { return false }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) {
            return false
        }
        index += length
        return true
    }
}
