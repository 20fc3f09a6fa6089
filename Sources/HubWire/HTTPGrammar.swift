/// Small pieces of the HTTP grammar other modules need.
public enum HTTPGrammar {
    /// Whether `text` is a non-empty token (RFC 9110 §5.6.2): header names, methods, and our
    /// request ids.
    public static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
    }
}
