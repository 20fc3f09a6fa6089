/// Close status codes (RFC 6455 §7.4) and the rule for which may appear in a close frame.
///
/// Codes travel as `UInt16` because peers may send any value; `isValidOnWire` decides whether a
/// received one is acceptable. The assembler uses it on every close frame, and the server uses it
/// before echoing a code back, so both follow one rule.
public enum WebSocketCloseCode {
    public static let normalClosure: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let unsupportedData: UInt16 = 1003
    /// Text that is not UTF-8 (RFC 6455 §7.4.1: "data within a message that was not consistent with the type").
    public static let invalidPayload: UInt16 = 1007
    public static let policyViolation: UInt16 = 1008
    public static let messageTooBig: UInt16 = 1009
    public static let mandatoryExtension: UInt16 = 1010
    public static let internalError: UInt16 = 1011

    /// Whether `code` may appear in a close frame: 1000–1003 and 1007–1011 (defined by RFC 6455
    /// §7.4.1), and 3000–4999 (registered and private use, §7.4.2).
    ///
    /// Everything else is a protocol error: 0–999 are "not used"; 1004 is reserved; 1005, 1006 and
    /// 1015 "MUST NOT be set as a status code in a Close control frame"; the rest of 1000–2999 is
    /// reserved for future revisions of the protocol; 5000 and above are undefined. This also
    /// refuses 1012–1014, which IANA registered after RFC 6455 (service restart, try again later,
    /// bad gateway); Autobahn probes neither way (7.9.x sends 0, 999, 1004–1006, 1016, 1100, 2000,
    /// 2999), and browsers do not send them. Accepting them later is a one-line change here.
    @inlinable
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: true
        default: false
        }
    }
}
