/// A shared-state store that could not answer: down, locked past its timeout, or corrupt.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: String, Sendable, Hashable {
        case unavailable = "store_unavailable"
        case timeout = "store_timeout"
        case corrupt = "store_corrupt"
    }

    private let kind: Kind
    /// What happened, for the log (never secrets).
    public let detail: String

    private init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// The stable code for logs.
    public var code: String { kind.rawValue }
    public var description: String { "\(code): \(detail)" }

    public static func unavailable(_ detail: String) -> StoreError { StoreError(.unavailable, detail) }
    public static func timeout(_ detail: String) -> StoreError { StoreError(.timeout, detail) }
    public static func corrupt(_ detail: String) -> StoreError { StoreError(.corrupt, detail) }
}
