/// The server side of the opening handshake (RFC 6455 §4.2), as pure functions over a parsed request.
///
/// SHA-1 is passed in because HubWire imports nothing of ours and no C (HubCrypto owns OpenSSL).
///
///     let request = try WebSocketHandshake.validate(method: "GET", httpVersion: (1, 1), headers: headers)
///     let accept = WebSocketHandshake.acceptValue(key: request.key, sha1: sha1Digest)  // from HubCrypto
///     connection.write(WebSocketHandshake.response(accept: accept, protocol: nil))
public enum WebSocketHandshake {
    /// What a valid upgrade request offers.
    public struct Request: Equatable, Sendable {
        /// The `Sec-WebSocket-Key` value, trimmed; feed it to `acceptValue`.
        public var key: String
        /// `Sec-WebSocket-Protocol` elements in the order offered, over all such header lines.
        public var protocols: [String]

        public init(key: String, protocols: [String]) {
            self.key = key
            self.protocols = protocols
        }
    }

    /// The only protocol version we speak (§4.4).
    public static let version = "13"
    /// §1.3: appended to the key before hashing.
    public static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Checks an upgrade request (§4.2.1) and returns what it offers, or the error that decides the
    /// HTTP response. Header names match case-insensitively; a header may repeat, its values then
    /// joining as one comma list (RFC 9110 §5.3).
    public static func validate(
        method: String, httpVersion: (major: Int, minor: Int), headers: [(name: String, value: String)]
    ) throws(WebSocketHandshakeError) -> Request {
        guard method == "GET" else { throw .methodNotAllowed(method) }  // methods are case-sensitive (RFC 9110 §9.1)
        guard httpVersion.major > 1 || (httpVersion.major == 1 && httpVersion.minor >= 1) else {
            throw .httpVersionTooOld(major: httpVersion.major, minor: httpVersion.minor)
        }
        var upgradesToWebSocket = false
        var connectionUpgrade = false
        var versions: [Substring] = []
        var keys: [Substring] = []
        var protocols: [String] = []
        for (name, value) in headers {
            if equalsIgnoringASCIICase(name, "upgrade") {
                upgradesToWebSocket =
                    upgradesToWebSocket || listElements(value).contains { equalsIgnoringASCIICase($0, "websocket") }
            } else if equalsIgnoringASCIICase(name, "connection") {
                connectionUpgrade =
                    connectionUpgrade || listElements(value).contains { equalsIgnoringASCIICase($0, "upgrade") }
            } else if equalsIgnoringASCIICase(name, "sec-websocket-version") {
                versions.append(contentsOf: listElements(value))
            } else if equalsIgnoringASCIICase(name, "sec-websocket-key") {
                keys.append(trimmed(value[...]))
            } else if equalsIgnoringASCIICase(name, "sec-websocket-protocol") {
                for element in listElements(value) {
                    guard isToken(element) else { throw .protocolInvalid(String(element)) }
                    protocols.append(String(element))
                }
            }
        }
        guard upgradesToWebSocket else { throw .upgradeNotWebSocket }
        guard connectionUpgrade else { throw .connectionNotUpgrade }
        guard versions.count == 1 && versions[0] == version else {
            throw .versionUnsupported(versions.joined(separator: ", "))
        }
        guard let key = keys.first else { throw .keyMissing }
        guard keys.count == 1 else { throw .keyRepeated }
        guard WebSocketBase64.decodedByteCount(String(key)) == 16 else { throw .keyInvalid }
        return Request(key: String(key), protocols: protocols)
    }

    /// The `Sec-WebSocket-Accept` value for `key` (§4.2.2 item 5.4): base64 of the SHA-1 of the key
    /// followed by `acceptGUID`. `sha1` must return the 20-byte digest of its input.
    public static func acceptValue(key: String, sha1: ([UInt8]) -> [UInt8]) -> String {
        let digest = sha1(Array((key + acceptGUID).utf8))
        precondition(digest.count == 20, "SHA-1 digests are 20 bytes, got \(digest.count)")
        return WebSocketBase64.encode(digest)
    }

    /// The complete `101 Switching Protocols` response. `protocol` must be one of the request's
    /// `protocols` (§4.2.2: the server may only choose one the client offered), or nil.
    public static func response(accept: String, protocol subprotocol: String?) -> [UInt8] {
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Accept: \(accept)\r\n"
        if let subprotocol {
            precondition(isToken(subprotocol[...]), "subprotocol must be a token from the request")
            text += "Sec-WebSocket-Protocol: \(subprotocol)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// The non-empty elements of a comma-separated header value, without surrounding whitespace.
    static func listElements(_ value: String) -> [Substring] {
        value.split(separator: ",", omittingEmptySubsequences: false).map(trimmed).filter { !$0.isEmpty }
    }

    /// `text` without leading and trailing spaces and tabs (HTTP optional whitespace, RFC 9110 §5.6.3).
    static func trimmed(_ text: Substring) -> Substring {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isWhitespace($0) }) else { return "" }
        let last = text.lastIndex(where: { !isWhitespace($0) })!  // exists: `first` does
        return text[first...last]
    }

    /// ASCII case-insensitive equality; `lowercase` must already be lowercase ASCII. Unicode case
    /// folding would let the Kelvin sign (U+212A) match "k"; HTTP tokens are ASCII.
    static func equalsIgnoringASCIICase<Text: StringProtocol>(_ text: Text, _ lowercase: String) -> Bool {
        text.utf8.elementsEqual(lowercase.utf8) { byte, expected in
            (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) == expected
        }
    }

    /// RFC 9110 §5.6.2 token: one or more of ! # $ % & ' * + - . ^ _ ` | ~ digits letters.
    static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "a")...UInt8(ascii: "z"):
                    true
                default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
            }
    }
}
