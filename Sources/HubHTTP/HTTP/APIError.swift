import HubWire

/// An error answered as `{"error": {"code": …, "message": …}}` with its HTTP status.
///
/// Every failure a client can see goes through this one type, so the body shape never varies.
/// `details` adds machine-readable context (the field that failed validation, the conflicting
/// ranges of a conflict) next to `code` and `message`.
public struct APIError: Error, Sendable {
    public var status: Int
    public var code: String
    public var message: String
    public var details: JSONObject
    public var headers: [(String, String)]

    public init(_ status: Int, _ code: String, _ message: String, details: JSONObject = [:], headers: [(String, String)] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    public var body: JSON {
        var error: JSONObject = ["code": .string(code), "message": .string(message)]
        for member in details { error[member.key] = member.value }
        return ["error": .object(error)]
    }

    // Common errors, named for what the client did.
    public static func badRequest(_ code: String, _ message: String) -> APIError { APIError(400, code, message) }
    public static func unauthorized(_ code: String = "unauthorized", _ message: String = "authentication required") -> APIError {
        APIError(401, code, message, headers: [("WWW-Authenticate", "Bearer")])
    }
    public static func forbidden(_ code: String = "forbidden", _ message: String = "not allowed") -> APIError {
        APIError(403, code, message)
    }
    public static func notFound(_ what: String = "resource") -> APIError { APIError(404, "not_found", "\(what) not found") }
    public static func conflict(_ code: String, _ message: String, details: JSONObject = [:]) -> APIError {
        APIError(409, code, message, details: details)
    }
    /// A field failed validation: 422 with the field named in `details.field`.
    public static func invalid(_ field: String, _ code: String, _ message: String) -> APIError {
        APIError(422, code, message, details: ["field": .string(field)])
    }
    public static func tooManyRequests(retryAfterSeconds: Int) -> APIError {
        APIError(429, "rate_limited", "too many requests; retry after \(retryAfterSeconds) s",
                 details: ["retryAfter": .int(retryAfterSeconds)], headers: [("Retry-After", String(retryAfterSeconds))])
    }
    public static func unavailable(_ code: String, _ message: String) -> APIError { APIError(503, code, message) }
    public static func internalError(_ message: String = "internal error") -> APIError { APIError(500, "internal_error", message) }
}
