import Foundation
import HubHTTP
import HubWire
import Logging

/// What became of one delivery attempt.
enum DeliveryOutcome: Sendable, Equatable {
    /// The provider took the message; `detail` is its answer (queue id), for the log.
    case delivered(detail: String)
    /// Not delivered. `permanent` failures (a 5xx SMTP reply, a 4xx API answer other than 429)
    /// are dead-lettered at once; the others are retried with backoff.
    case failed(reason: String, permanent: Bool)
}

/// A way to hand an email to the world. `deliver` blocks (network, disk) and is called on a
/// threadpool thread, never on the loop; implementations are immutable values.
protocol EmailSender: Sendable {
    var name: String { get }
    func deliver(_ email: OutgoingEmail) -> DeliveryOutcome
}

/// The default: writes each message as an `.eml` file under `directory` and logs one line.
/// Nothing leaves the machine; open the files with any mail client.
struct LogSender: EmailSender {
    let directory: String
    let logger: Logger

    var name: String { "log" }

    func deliver(_ email: OutgoingEmail) -> DeliveryOutcome {
        let bytes = MIMEMessage.compose(email)
        let fileName = "\(email.date)-\(email.outboxID)-\(email.template).eml"
        let path = (directory as NSString).appendingPathComponent(fileName)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // Write then rename, so a reader never sees half a message.
            let temporary = path + ".tmp"
            try Data(bytes).write(to: URL(fileURLWithPath: temporary))
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            return .failed(reason: "cannot write \(path): \(error.localizedDescription)", permanent: false)
        }
        logger.info("email \(email.template) to \(email.to): \(email.content.subject)", metadata: [
            "outbox": .stringConvertible(email.outboxID), "file": .string(path),
        ])
        return .delivered(detail: path)
    }
}

/// SendGrid's v3 Mail Send API with the seed's body (`personalizations`, `from`, `content`).
struct SendGridSender: EmailSender {
    let baseURL: String
    let apiKey: String
    let timeoutSeconds: Int

    var name: String { "sendgrid" }

    /// Longest provider answer kept in `last_error`.
    static let errorBodyCharactersMax = 300

    func deliver(_ email: OutgoingEmail) -> DeliveryOutcome {
        let url = baseURL.hasSuffix("/") ? "\(baseURL)v3/mail/send" : "\(baseURL)/v3/mail/send"
        let request = OutboundRequest.json("POST", url, Self.body(email),
                                           headers: [("Authorization", "Bearer \(apiKey)")], timeoutSeconds: timeoutSeconds)
        switch OutboundHTTP.hub.send(request) {
        case .failure(let error):
            return .failed(reason: "sendgrid: \(error)", permanent: !error.isTransient)
        case .success(let response) where response.isSuccess:
            return .delivered(detail: response.headers["x-message-id"] ?? "HTTP \(response.status)")
        case .success(let response):
            let answer = String(decoding: response.body.prefix(Self.errorBodyCharactersMax), as: UTF8.self)
            // 429 (rate limit) and 5xx pass; other 4xx mean the request itself is wrong.
            let permanent = response.status < 500 && response.status != 429 && response.status != 408
            return .failed(reason: "sendgrid answered \(response.status): \(answer)", permanent: permanent)
        }
    }

    static func body(_ email: OutgoingEmail) -> JSON {
        [
            "personalizations": [["to": [["email": .string(email.to)]], "subject": .string(email.content.subject)]],
            "from": ["email": .string(email.from), "name": .string(email.fromName)],
            "content": [
                ["type": "text/plain", "value": .string(email.content.text)],
                ["type": "text/html", "value": .string(email.content.html)],
            ],
            "custom_args": ["outboxId": .string(String(email.outboxID)), "template": .string(email.template)],
        ]
    }
}
