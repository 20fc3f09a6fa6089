import Foundation
import HubWire

/// Parses an HTTP/1.1 response from the bytes received so far.
enum ResponseParser {
    /// The response once complete (by Content-Length, chunked framing, or EOF), else nil.
    static func complete(_ bytes: [UInt8], atEOF: Bool = false) throws -> OutboundResponse? {
        guard let headEnd = find([0x0D, 0x0A, 0x0D, 0x0A], in: bytes) else {
            if atEOF { throw OutboundError.malformedResponse("no header section") }
            return nil
        }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw OutboundError.malformedResponse("bad status line")
        }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        let bodyStart = headEnd + 4
        let rest = Array(bytes[bodyStart...])
        if headers.containsToken("transfer-encoding", "chunked") {
            guard let body = try dechunk(rest) else {
                if atEOF { throw OutboundError.malformedResponse("truncated chunked body") }
                return nil
            }
            return OutboundResponse(status: status, headers: headers, body: body)
        }
        if let lengthText = headers["content-length"] {
            guard let length = Int(lengthText), length >= 0, length <= OutboundHTTP.responseBytesMax else {
                throw OutboundError.malformedResponse("bad Content-Length")
            }
            guard rest.count >= length else {
                if atEOF { throw OutboundError.malformedResponse("body shorter than Content-Length") }
                return nil
            }
            return OutboundResponse(status: status, headers: headers, body: Array(rest[0..<length]))
        }
        if status == 204 || status == 304 { return OutboundResponse(status: status, headers: headers, body: []) }
        return atEOF ? OutboundResponse(status: status, headers: headers, body: rest) : nil
    }

    private static func dechunk(_ bytes: [UInt8]) throws -> [UInt8]? {
        var body: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = find([0x0D, 0x0A], in: bytes, from: index) else { return nil }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw OutboundError.malformedResponse("bad chunk size")
            }
            index = lineEnd + 2
            if size == 0 { return body }
            guard bytes.count >= index + size + 2 else { return nil }
            body.append(contentsOf: bytes[index..<(index + size)])
            guard body.count <= OutboundHTTP.responseBytesMax else { throw OutboundError.malformedResponse("body too large") }
            index += size + 2
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0] && Array(haystack[index..<(index + needle.count)]) == needle { return index }
            index += 1
        }
        return nil
    }
}
