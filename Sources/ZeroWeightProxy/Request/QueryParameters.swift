/// A validated query string: each allowed name at most once, each value decoded and non-empty.
public struct QueryParameters: Sendable, Hashable {
    /// Longer query strings are refused with 414 before any parsing.
    public static let maximumLength = 4096

    private var values: [String: String]

    /// Parses `query` (the raw `QUERY_STRING`), accepting only the names in `allowed`.
    ///
    /// Empty pairs (`a=1&&b=2`, a trailing `&`) are skipped; everything else is checked.
    /// - Throws: `queryTooLong`, `malformedQuery`, `unknownParameter`, `duplicateParameter` or `emptyParameter`.
    public init(parsing query: String, allowed: Set<String>) throws(ProxyError) {
        guard query.utf8.count <= Self.maximumLength else { throw .queryTooLong }
        values = [:]
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let separator = pair.firstIndex(of: UInt8(ascii: "="))
            let rawName = separator.map { pair[..<$0] } ?? pair
            let rawValue = separator.map { pair[pair.index(after: $0)...] } ?? pair[pair.endIndex...]
            guard let name = PercentDecoding.decode(Substring(rawName).utf8),
                let value = PercentDecoding.decode(Substring(rawValue).utf8)
            else { throw .malformedQuery }
            guard allowed.contains(name) else { throw .unknownParameter }
            guard values[name] == nil else { throw .duplicateParameter }
            guard !value.isEmpty else { throw .emptyParameter }
            values[name] = value
        }
    }

    /// The decoded value of `name`, nil when absent.
    public subscript(name: String) -> String? { values[name] }
}
