/// The proxy's config file: `name = value` lines, `#` comments, blank lines.
///
/// Pure parsing, no I/O. Names are lower-case `[a-z0-9_.-]`; each may appear once. A value is the
/// rest of the line after the first `=`, trimmed; there is no quoting, and `#` starts a comment
/// only at the start of a line, so values may contain `=` and `#`. Which names exist is the
/// caller's business.
///
/// The syntax is read scalar by scalar, never by grapheme, so a combining mark after a tab, a
/// space or the `=` does not hide it. Lines end at LF, CRLF or a lone CR; any other control
/// character or line break (NUL, NEL, U+2028, U+2029) in a value is an error.
public struct ConfigFile: Sendable, Hashable {
    /// Longer files are refused: a config file is a few hundred lines at most.
    public static let maximumBytes = 1 << 20

    /// One `name = value` line.
    public struct Entry: Sendable, Hashable {
        public let name: String
        public let value: String
        public let line: Int
    }

    /// The entries in file order.
    public let entries: [Entry]
    /// Where the text came from, for error messages.
    public let path: String

    /// Parses `text` read from `path`.
    ///
    /// - Throws: `ConfigurationError` naming the file and line of the first malformed or repeated entry.
    public init(parsing text: String, path: String) throws(ConfigurationError) {
        self.path = path
        guard text.utf8.count <= Self.maximumBytes else {
            throw ConfigurationError(setting: path, problem: "is larger than 1 MiB")
        }
        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        for (index, rawLine) in Self.lines(of: text).enumerated() {
            let number = index + 1
            let line = rawLine.trimmingSpaces()
            if line.isEmpty || line.first == "#" { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError(setting: "\(path):\(number)", problem: "is not of the form name = value")
            }
            let name = String(Substring(line[..<equals].trimmingSpaces()))
            let value = String(Substring(line[line.index(after: equals)...].trimmingSpaces()))
            guard Self.isValidName(name) else {
                throw ConfigurationError(
                    setting: "\(path):\(number)",
                    problem: "has a malformed name (use lower-case letters, digits, _ and .)")
            }
            guard !value.unicodeScalars.contains(where: Self.isForbiddenInValue) else {
                throw ConfigurationError(
                    setting: "\(path):\(number)", problem: "has a control character or line break in its value")
            }
            if let first = seen[name] {
                throw ConfigurationError(
                    setting: "\(path):\(number)", problem: "repeats \(name), already set on line \(first)")
            }
            seen[name] = number
            entries.append(Entry(name: name, value: value, line: number))
        }
        self.entries = entries
    }

    /// The lines of `text`, split at LF, CRLF and a lone CR; numbered from 1 in errors and entries.
    static func lines(of text: String) -> [Substring.UnicodeScalarView] {
        let scalars = text.unicodeScalars
        var lines: [Substring.UnicodeScalarView] = []
        var start = scalars.startIndex
        var index = start
        while index < scalars.endIndex {
            let scalar = scalars[index]
            scalars.formIndex(after: &index)
            guard scalar == "\n" || scalar == "\r" else { continue }
            lines.append(scalars[start..<scalars.index(before: index)])
            if scalar == "\r", index < scalars.endIndex, scalars[index] == "\n" { scalars.formIndex(after: &index) }
            start = index
        }
        lines.append(scalars[start...])
        return lines
    }

    /// Control characters other than tab, and the Unicode line and paragraph separators.
    static func isForbiddenInValue(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control: scalar != "\t"
        case .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }
}

extension Substring.UnicodeScalarView {
    /// Without leading and trailing spaces, tabs and carriage returns.
    fileprivate func trimmingSpaces() -> Substring.UnicodeScalarView {
        var result = self
        while let first = result.first, first == " " || first == "\t" || first == "\r" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result.removeLast() }
        return result
    }
}
