import Foundation

/// Maps an upstream result to the proxy's answer; the README's status table is this function.
public enum UpstreamResponseMapper {
    /// The answer for `result`: the upstream JSON object unchanged on 2xx, a JSON error otherwise.
    ///
    /// - Parameter requestID: put into error bodies, when given.
    public static func map(
        _ result: UpstreamResult, requestID: String? = nil, validator: JSONValidator = JSONValidator()
    ) -> ProxyResponse {
        switch error(for: result, validator: validator) {
        case .success(let body): ProxyResponse(status: .ok, body: body)
        case .failure(let error): ProxyResponse(error: error, requestID: requestID)
        }
    }

    /// The body to pass through, or the error to answer with.
    static func error(for result: UpstreamResult, validator: JSONValidator) -> Result<Data, ProxyError> {
        switch result {
        case .failure(.timeout): return .failure(.upstreamTimeout)
        case .failure(.tooLarge): return .failure(.upstreamTooLarge)
        case .failure(.unreachable): return .failure(.upstreamUnreachable)
        case .response(let response):
            switch response.status {
            case 200...299:
                guard validator.validate(response.body) == .object else { return .failure(.upstreamInvalidResponse) }
                return .success(response.body)
            case 300...399:
                return .failure(.upstreamRedirect)
            case 401, 403:
                return .failure(.upstreamAuthFailed)
            case 404:
                return .failure(.avatarNotFound)
            case 429:
                return .failure(
                    ProxyError.upstreamRateLimited.adding(
                        header: "Retry-After", value: retryAfterSeconds(response.retryAfter)))
            case 400...499:
                return .failure(.upstreamRejected)
            default:
                return .failure(.upstreamError)
            }
        }
    }

    /// The upstream's `Retry-After` when it is a plain number of seconds (capped at a day), else 60:
    /// the upstream limits per minute, so a minute is the honest guess.
    static func retryAfterSeconds(_ value: String?) -> String {
        let trimmed = value?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !trimmed.isEmpty, trimmed.utf8.allSatisfy({ (48...57).contains($0) }) else { return "60" }
        guard trimmed.utf8.count <= 9, let seconds = Int(trimmed) else { return "86400" }
        return String(min(seconds, 86_400))
    }
}
