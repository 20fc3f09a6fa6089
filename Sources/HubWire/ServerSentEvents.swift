/// Server-Sent Events framing (WHATWG HTML §9.2 "Server-sent events").
public enum ServerSentEvents {
    /// One event block. `data` must not contain CR or LF (ours is compact JSON, whose serialiser
    /// escapes them), so it fits a single `data:` line.
    public static func event(id: String, type: String, data: [UInt8]) -> [UInt8] {
        precondition(!data.contains(0x0A) && !data.contains(0x0D), "SSE data must be a single line")
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 48)
        out.append(contentsOf: "id: \(id)\nevent: \(type)\ndata: ".utf8)
        out.append(contentsOf: data)
        out.append(contentsOf: "\n\n".utf8)
        return out
    }

    /// A comment line: ignored by clients, keeps proxies and idle timers from closing the stream.
    public static func comment(_ text: String) -> [UInt8] { Array(": \(text)\n\n".utf8) }

    /// Tells the client how long to wait before reconnecting, in milliseconds.
    public static func retry(milliseconds: Int) -> [UInt8] { Array("retry: \(milliseconds)\n\n".utf8) }
}
