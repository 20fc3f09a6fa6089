/// Why a response could not be read. `code` is stable (tests and the corpus match on it);
/// `message` says what was wrong for the log line of the call that failed.
public struct HTTPResponseParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The same rule broken in a response: the request parser's code, without its status.
    init(_ error: HTTPParseError) {
        self.init(code: error.code, message: error.message)
    }
}
