import Foundation
import HubLoop
import HubWire

/// A keep-alive HTTP/1.1 client on the loop, one request at a time, for the fan-out run's REST
/// calls (admin sign-in, event spaces, members, bookings). Knows what the hub sends: a status
/// line, headers and a `Content-Length` body.
final class FanoutHTTPClient: TCPConnectionDelegate {
    typealias Completion = (_ status: Int, _ body: [UInt8]) -> Void

    private let host: String
    private let port: Int
    private var connection: TCPConnection?
    private var response: [UInt8] = []
    private var waiting: Completion?
    private var onClose: ((String) -> Void)?
    private(set) var isOpen = false
    /// Bearer token sent with every request, once signed in.
    var token: String?

    /// Bytes a response may take.
    static let responseBytesMax = 1 << 20

    private init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Connects; `completion` gets the client, or why it could not connect. `onClose` runs if the
    /// connection is lost later (not after `close()`).
    static func open(loop: Loop, host: String, port: Int, onClose: @escaping (String) -> Void,
                     completion: @escaping (Result<FanoutHTTPClient, FanoutFailure>) -> Void) {
        let client = FanoutHTTPClient(host: host, port: port)
        do {
            try TCPConnection.connect(loop: loop, host: host, port: port) { result in
                switch result {
                case .success(let connection):
                    client.connection = connection
                    client.isOpen = true
                    client.onClose = onClose
                    connection.setDelegate(client)
                    connection.setNoDelay(true)
                    connection.startReading()
                    completion(.success(client))
                case .failure(let error):
                    completion(.failure(FanoutFailure("connect to \(host):\(port): \(error)")))
                }
            }
        } catch {
            completion(.failure(FanoutFailure("connect to \(host):\(port): \(error)")))
        }
    }

    var isBusy: Bool { waiting != nil }

    /// Sends one request; `completion` runs with the status and body of its response.
    func send(_ method: String, _ path: String, json body: String? = nil, completion: @escaping Completion) {
        precondition(waiting == nil, "one request at a time")
        guard let connection, isOpen else { return }
        waiting = completion
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        let bodyBytes = Array((body ?? "").utf8)
        if body != nil { head += "Content-Type: application/json\r\n" }
        head += "Content-Length: \(bodyBytes.count)\r\n\r\n"
        connection.write(Array(head.utf8) + bodyBytes)
    }

    func close() {
        isOpen = false
        onClose = nil
        connection?.close()
    }

    // MARK: Responses

    private func parse() {
        let terminator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = response.firstRange(of: terminator)?.upperBound else {
            if response.count > Self.responseBytesMax { lose("no response head in \(Self.responseBytesMax) bytes") }
            return
        }
        let head = String(decoding: response[..<headEnd], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            lose("bad status line \(lines.first ?? "")")
            return
        }
        var length = 0
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                length = Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        guard response.count - headEnd >= length else { return }
        let body = Array(response[headEnd..<(headEnd + length)])
        response.removeFirst(headEnd + length)
        guard let completion = waiting else {
            lose("a response nobody asked for")
            return
        }
        waiting = nil
        completion(status, body)
    }

    private func lose(_ reason: String) {
        let onClose = self.onClose
        let context = response.isEmpty ? "" : " (unparsed: \(String(decoding: response.prefix(200), as: UTF8.self)))"
        let waitingNote = waiting == nil ? ", no request outstanding" : ", a request outstanding"
        close()
        onClose?(reason + waitingNote + context)
    }

    // MARK: TCPConnectionDelegate

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        response.append(contentsOf: bytes)
        parse()
    }

    func connectionDidReachEOF(_ connection: TCPConnection) {
        lose("the hub closed the connection")
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        self.connection = nil
        if isOpen { lose(error.map { "\($0)" } ?? "closed") }
    }
}

@available(*, unavailable) extension FanoutHTTPClient: Sendable {}

/// Why a run stopped early.
struct FanoutFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Bookings that never conflict: booking n goes to space n mod K, on day (n / K) mod D from two
/// days ahead, in the ((n / (K·D)) mod 47)-th half hour of the day. Days vary before slots, so
/// each day's availability payload stays as small as possible (one busy range per day for the
/// first K·D bookings). The spaces are open 00:00–23:59 every day in UTC, with no buffer.
struct FanoutSlots {
    let spaceIDs: [String]
    let dates: [String]
    /// Half hours per day that fit before the 23:59 close.
    static let slotsPerDay = 47
    static let daysAhead = 2
    static let days = 300

    init(spaceIDs: [String], nowSeconds: Int64) {
        self.spaceIDs = spaceIDs
        let today = nowSeconds / 86_400
        dates = (0..<Self.days).map { Self.civilDate(daysSinceEpoch: today + Int64(Self.daysAhead + $0)) }
    }

    var capacity: Int { spaceIDs.count * Self.days * Self.slotsPerDay }

    /// The JSON body of booking `n` and its key (`spaceId|YYYY-MM-DDTHH:MM`, as the event shows it).
    func booking(_ n: Int) -> (body: String, key: String) {
        let space = spaceIDs[n % spaceIDs.count]
        let date = dates[(n / spaceIDs.count) % Self.days]
        let slot = (n / (spaceIDs.count * Self.days)) % Self.slotsPerDay
        let start = Self.time(minutes: slot * 30)
        let end = Self.time(minutes: slot * 30 + 30)
        let body = #"{"type":"event","spaceId":"\#(space)","date":"\#(date)","startTime":"\#(start)","endTime":"\#(end)"}"#
        return (body, "\(space)|\(date)T\(start)")
    }

    private static func time(minutes: Int) -> String {
        let hours = minutes / 60
        let rest = minutes % 60
        return (hours < 10 ? "0" : "") + "\(hours):" + (rest < 10 ? "0" : "") + "\(rest)"
    }

    /// YYYY-MM-DD of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch: Int64) -> String {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))"
    }

    /// An event space open around the clock in UTC, bookable by the half hour, no buffer.
    static func spaceBody(name: String) -> String {
        let day = #"{"open":"00:00","close":"23:59"}"#
        let hours = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
            .map { #""\#($0)":\#(day)"# }.joined(separator: ",")
        return #"{"name":"\#(name)","price":1000,"capacity":10,"timeZone":"UTC","minDurationMinutes":30,"#
            + #""maxDurationMinutes":600,"bufferMinutes":0,"openingHours":{\#(hours)}}"#
    }
}

/// Reads a string field of a JSON response body.
func jsonString(_ body: [UInt8], _ path: String...) -> String? {
    guard var value = try? JSONParser.parse(body) else { return nil }
    for key in path {
        guard let next = value[key] else { return nil }
        value = next
    }
    return value.stringValue
}
