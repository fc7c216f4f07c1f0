/// A participant's display name: 1 to 64 Unicode scalars, printable, not blank.
///
/// Control (Cc), format (Cf), line and paragraph separator (Zl, Zp), surrogate, unassigned,
/// noncharacter, default-ignorable (such as U+3164, which shows as nothing; emoji variation
/// selectors excepted) and replacement
/// characters are refused, so a name cannot smuggle bidi overrides,
/// zero-width tricks or line breaks into logs and the upstream.
public struct DisplayName: Sendable, Hashable, CustomStringConvertible {
    public static let maximumLength = 64
    public let rawValue: String

    /// nil unless `rawValue` is an acceptable name.
    public init?(_ rawValue: String) {
        let scalars = rawValue.unicodeScalars
        guard !scalars.isEmpty, scalars.count <= Self.maximumLength else { return nil }
        var sawVisible = false
        for scalar in scalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned:
                return nil
            case .spaceSeparator:
                continue
            default:
                let isVariationSelector =
                    (0xFE00...0xFE0F).contains(scalar.value) || (0xE0100...0xE01EF).contains(scalar.value)
                if scalar.properties.isNoncharacterCodePoint || scalar == "\u{FFFD}"
                    || (scalar.properties.isDefaultIgnorableCodePoint && !isVariationSelector)
                {
                    return nil
                }
                if !scalar.properties.isWhitespace { sawVisible = true }
            }
        }
        guard sawVisible else { return nil }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
}
