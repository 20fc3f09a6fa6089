#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HubWire
import Logging
import Synchronization

/// Where log lines go: standard error, or a file opened for appending that SIGHUP reopens (log
/// rotation renames the file, then signals; the next line goes to a new file of the old name).
///
/// Shared by every logger of the process and written from any thread (the loop, the writer,
/// pool threads): one line is one `write(2)` under a lock, so lines never interleave.
public final class LogOutput: Sendable {
    private struct Target {
        var fd: Int32
        var ownsFD: Bool
    }

    public let path: String?
    private let target: Mutex<Target>
    /// The level every logger of the process logs at; SIGHUP may change it.
    let level: Mutex<Logger.Level>
    let format: LogFormat

    /// Logs to `path` (appending, created `0640`), or to standard error when it is empty.
    public init(path: String, level: Logger.Level, format: LogFormat) throws(LogOutputError) {
        self.path = path.isEmpty ? nil : path
        self.level = Mutex(level)
        self.format = format
        target = Mutex(Target(fd: STDERR_FILENO, ownsFD: false))
        if let file = self.path { target.withLock { $0 = Target(fd: -1, ownsFD: true) }; try open(file) }
    }

    private func open(_ file: String) throws(LogOutputError) {
        let fd = Glibc.open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw LogOutputError("cannot open the log file \(file): \(String(cString: strerror(errno)))") }
        let old = target.withLock { current -> Target in
            let old = current
            current = Target(fd: fd, ownsFD: true)
            return old
        }
        if old.ownsFD && old.fd >= 0 { close(old.fd) }
    }

    /// Opens the file again under its name (after rotation). Standard error needs nothing.
    public func reopen() throws(LogOutputError) {
        guard let path else { return }
        try open(path)
    }

    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        target.withLock { target in
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.write(target.fd, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }  // a log that cannot be written must not stop the hub
                offset += written
            }
        }
    }

    /// The `LoggingSystem.bootstrap` factory for this output.
    public func handler(label: String) -> any LogHandler {
        HubLogHandler(label: label, output: self)
    }
}

public enum LogFormat: String, Sendable {
    case text, json
}

public struct LogOutputError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Formats one log event as a text line or a JSON object (`log.format`), with secrets redacted
/// (`LogRedaction`) from the message and every metadata value.
struct HubLogHandler: LogHandler {
    let label: String
    let output: LogOutput
    var metadata: Logger.Metadata = [:]

    var logLevel: Logger.Level {
        get { output.level.withLock { $0 } }
        set { output.level.withLock { $0 = newValue } }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let level = event.level, message = event.message
        var fields = metadata
        if let explicit = event.metadata { fields.merge(explicit) { $1 } }
        let time = LogTime.now()
        let text = LogRedaction.scrub(message.description)
        switch output.format {
        case .text:
            var line = "\(time) \(level) \(label): \(text)"
            for key in fields.keys.sorted() { line += " \(key)=\(LogRedaction.scrub(fields[key]!.description))" }  // key from keys
            output.write(line)
        case .json:
            var object: JSONObject = ["time": .string(time), "level": .string(level.rawValue), "logger": .string(label),
                                      "message": .string(text)]
            for key in fields.keys.sorted() { object[key] = Self.json(fields[key]!) }  // key from keys
            output.write(JSON.object(object).text)
        }
    }

    /// Numbers stay numbers in JSON (`status`, `us`, `bytes`); everything else is redacted text.
    private static func json(_ value: Logger.Metadata.Value) -> JSON {
        switch value {
        case .stringConvertible(let number as Int): return .int(number)
        case .stringConvertible(let number as UInt64): return .int64(Int64(clamping: number))
        case .stringConvertible(let number as Int64): return .int64(number)
        case .array(let values): return .array(values.map(json))
        case .dictionary(let values):
            return .object(JSONObject(values.keys.sorted().map { (key: $0, value: json(values[$0]!)) }))  // key from keys
        default: return .string(LogRedaction.scrub(value.description))
        }
    }
}

/// UTC timestamps with milliseconds, RFC 3339.
enum LogTime {
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var parts = tm()
        var seconds = spec.tv_sec
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), spec.tv_nsec / 1_000_000)
    }
}

/// Keeps secrets out of logs: values of query parameters and form fields that carry credentials
/// (`token=`, `access_token=`, `refresh_token=`, `password=`, `code=`, `key=`, `secret=`, `signature=`)
/// and the secret segment of an ICS feed URL (`/api/calendar/feeds/<token>.ics`).
enum LogRedaction {
    static let names = ["token", "access_token", "refresh_token", "password", "code", "authcode", "key", "secret", "signature"]
    static let replacement = "[redacted]"

    static func scrub(_ text: String) -> String {
        guard text.contains("=") || text.contains("/feeds/") else { return text }
        var out = feedToken(text)
        guard out.contains("=") else { return out }
        var result = ""
        var rest = Substring(out)
        while let equals = rest.firstIndex(of: "=") {
            let before = rest[..<equals]
            let name = before.reversed().prefix { $0.isLetter || $0 == "_" }.reversed()
            result += rest[...equals]
            rest = rest[rest.index(after: equals)...]
            guard names.contains(String(name).lowercased()) else { continue }
            let end = rest.firstIndex { $0 == "&" || $0 == " " || $0 == "," || $0 == "\"" || $0 == ";" } ?? rest.endIndex
            if end != rest.startIndex { result += replacement }
            rest = rest[end...]
        }
        out = result + rest
        return out
    }

    /// `/api/calendar/feeds/AbC…xyz.ics` → `/api/calendar/feeds/[redacted].ics`.
    private static func feedToken(_ text: String) -> String {
        guard let range = text.range(of: "/feeds/") else { return text }
        let tail = text[range.upperBound...]
        let end = tail.firstIndex { $0 == " " || $0 == "?" || $0 == "\"" } ?? tail.endIndex
        let segment = tail[..<end]
        let suffix = segment.hasSuffix(".ics") ? ".ics" : ""
        guard !segment.isEmpty else { return text }
        return String(text[..<range.upperBound]) + replacement + suffix + feedToken(String(tail[end...]))
    }
}
