/// Small pieces of the HTTP grammar other modules need.
public enum HTTPGrammar {
    /// Whether `text` is a non-empty token (RFC 9110 §5.6.2): header names, methods, and our
    /// request ids.
    public static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
    }
}

/// Whether `byte` is an ASCII capital letter.
@inline(__always)
func isASCIIUppercase(_ byte: UInt8) -> Bool { byte &- 0x41 < 26 }

/// `byte` with an ASCII capital folded to lower case (field names and tokens are ASCII and
/// case-insensitive).
@inline(__always)
func asciiLowercased(_ byte: UInt8) -> UInt8 { isASCIIUppercase(byte) ? byte | 0x20 : byte }
