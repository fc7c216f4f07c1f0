import Foundation

/// Serialises an answer in CGI form (header block, blank line, body) to any byte sink.
enum ResponseWriter {
    /// Sends `response` through `write`, which returns false when the peer is gone.
    ///
    /// - Parameter includeBody: false for HEAD.
    /// - Returns: whether everything was written.
    @discardableResult
    static func write(
        _ response: ProxyResponse, includeBody: Bool, to write: (UnsafeRawBufferPointer) -> Bool
    ) -> Bool {
        let head = Array(response.cgiHead().utf8)
        guard head.withUnsafeBytes(write) else { return false }
        guard includeBody, !response.body.isEmpty else { return true }
        return response.body.withUnsafeBytes(write)
    }
}
