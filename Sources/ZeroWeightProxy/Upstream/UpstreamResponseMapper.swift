import Foundation

/// Maps an upstream result to the proxy's answer; the README's status table is this function.
public enum UpstreamResponseMapper {
    /// The answer for `result`: the upstream JSON object unchanged on 2xx, a JSON error otherwise.
    public static func map(_ result: UpstreamResult, validator: JSONValidator = JSONValidator()) -> ProxyResponse {
        switch result {
        case .failure(.timeout): return ProxyResponse(error: .upstreamTimeout)
        case .failure(.tooLarge): return ProxyResponse(error: .upstreamTooLarge)
        case .failure(.unreachable): return ProxyResponse(error: .upstreamUnreachable)
        case .response(let response): return map(response, validator: validator)
        }
    }

    static func map(_ response: UpstreamResponse, validator: JSONValidator) -> ProxyResponse {
        switch response.status {
        case 200...299:
            guard validator.validate(response.body) == .object else {
                return ProxyResponse(error: .upstreamInvalidResponse)
            }
            return ProxyResponse(status: .ok, body: response.body)
        case 300...399:
            return ProxyResponse(error: .upstreamRedirect)
        case 401, 403:
            return ProxyResponse(error: .upstreamAuthFailed)
        case 404:
            return ProxyResponse(error: .avatarNotFound)
        case 429:
            return ProxyResponse(
                error: ProxyError.upstreamRateLimited.adding(
                    header: "Retry-After", value: retryAfterSeconds(response.retryAfter)))
        case 400...499:
            return ProxyResponse(error: .upstreamRejected)
        default:
            return ProxyResponse(error: .upstreamError)
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
