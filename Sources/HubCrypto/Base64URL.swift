/// Unpadded base64url (RFC 4648 §5), the encoding of JWT segments (RFC 7515 §2 "Base64url
/// Encoding") and of our opaque tokens.
///
/// Decoding is strict: it rejects `=` padding, whitespace, `+` and `/`, impossible lengths and
/// non-zero trailing bits, so each byte string has exactly one accepted spelling.
///
///     Base64URL.encode([0xfb, 0xff])  // "-_8"
///     Base64URL.decode("-_8")         // [0xfb, 0xff]
///     Base64URL.decode("-_8=")        // nil
public enum Base64URL {
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Base64Codec.url.encode(bytes)
    }

    /// The bytes spelled by `text`, or nil unless it is canonical unpadded base64url.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        Base64Codec.url.decode(text)
    }
}
