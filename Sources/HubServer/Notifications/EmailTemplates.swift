import HubWire

/// Subject, HTML and text of one email with `{{name}}` placeholders.
struct EmailTemplateText: Sendable {
    let subject: String
    /// The inside of `<body>`; `RenderedEmail` wraps it in a document.
    let html: String
    let text: String
}

/// A template filled in: ready for a sender.
struct RenderedEmail: Sendable, Equatable {
    let subject: String
    let html: String
    let text: String
}

extension EmailTemplate {
    /// The wording of each email. The seed's two (`booking-confirmation`, `payment-received`)
    /// keep its subjects and sentences. Variables come from `Outbox.enqueue` (the booking's
    /// fields, already in the space's time zone, money formatted with its currency) plus the
    /// extras each caller adds; `EmailRenderer.variables` derives the rest.
    var wording: EmailTemplateText {
        switch self {
        case .bookingConfirmation:
            EmailTemplateText(
                subject: "Booking Confirmation - {{spaceName}}",
                html: """
                    <h1>Booking Confirmed!</h1>
                    <p>Dear {{userName}},</p>
                    <p>Your booking for {{spaceName}} has been confirmed.</p>
                    <ul>
                      <li>Date: {{date}}</li>
                      <li>Time: {{time}} ({{timeZone}})</li>
                      <li>Duration: {{duration}}</li>
                      <li>Amount: {{amount}}</li>
                      <li>Booking reference: {{bookingId}}</li>
                    </ul>
                    <p>Thank you for choosing {{siteName}}!</p>
                    """,
                text: """
                    Dear {{userName}},

                    Your booking for {{spaceName}} has been confirmed.

                    Date: {{date}}
                    Time: {{time}} ({{timeZone}})
                    Duration: {{duration}}
                    Amount: {{amount}}
                    Booking reference: {{bookingId}}

                    Thank you for choosing {{siteName}}!
                    """)
        case .paymentReceived:
            EmailTemplateText(
                subject: "Payment Received - {{bookingId}}",
                html: """
                    <h1>Payment Received</h1>
                    <p>Dear {{userName}},</p>
                    <p>We have received your payment of {{amount}} for booking {{bookingId}}.</p>
                    <ul>
                      <li>Space: {{spaceName}}</li>
                      <li>Date: {{date}}</li>
                      <li>Time: {{time}} ({{timeZone}})</li>
                      <li>Payment reference: {{reference}}</li>
                    </ul>
                    <p>Thank you for choosing {{siteName}}!</p>
                    """,
                text: """
                    Dear {{userName}},

                    Payment received for booking {{bookingId}}: {{amount}}.

                    Space: {{spaceName}}
                    Date: {{date}}
                    Time: {{time}} ({{timeZone}})
                    Payment reference: {{reference}}

                    Thank you for choosing {{siteName}}!
                    """)
        case .bookingReminder:
            EmailTemplateText(
                subject: "Reminder: {{spaceName}} on {{date}} at {{startTime}}",
                html: """
                    <h1>See you soon</h1>
                    <p>Dear {{userName}},</p>
                    <p>This is a reminder of your booking for {{spaceName}}.</p>
                    <ul>
                      <li>Date: {{date}}</li>
                      <li>Time: {{time}} ({{timeZone}})</li>
                      <li>Duration: {{duration}}</li>
                      <li>Booking reference: {{bookingId}}</li>
                    </ul>
                    <p>If your plans changed, please cancel the booking so others can use the space.</p>
                    """,
                text: """
                    Dear {{userName}},

                    This is a reminder of your booking for {{spaceName}}.

                    Date: {{date}}
                    Time: {{time}} ({{timeZone}})
                    Duration: {{duration}}
                    Booking reference: {{bookingId}}

                    If your plans changed, please cancel the booking so others can use the space.
                    """)
        case .bookingCancelled:
            EmailTemplateText(
                subject: "Booking Cancelled - {{spaceName}}",
                html: """
                    <h1>Booking Cancelled</h1>
                    <p>Dear {{userName}},</p>
                    <p>Your booking for {{spaceName}} on {{date}}, {{time}} ({{timeZone}}) has been cancelled.</p>
                    <p>Reason: {{reason}}</p>
                    <p>{{refundNote}}</p>
                    <p>Booking reference: {{bookingId}}</p>
                    """,
                text: """
                    Dear {{userName}},

                    Your booking for {{spaceName}} on {{date}}, {{time}} ({{timeZone}}) has been cancelled.

                    Reason: {{reason}}
                    {{refundNote}}

                    Booking reference: {{bookingId}}
                    """)
        case .refundIssued:
            EmailTemplateText(
                subject: "Refund Issued - {{bookingId}}",
                html: """
                    <h1>Refund Issued</h1>
                    <p>Dear {{userName}},</p>
                    <p>We have refunded {{refundAmount}} for booking {{bookingId}} ({{spaceName}}, {{date}}).</p>
                    <p>Depending on your bank, it can take a few working days to appear on your statement.</p>
                    """,
                text: """
                    Dear {{userName}},

                    We have refunded {{refundAmount}} for booking {{bookingId}} ({{spaceName}}, {{date}}).

                    Depending on your bank, it can take a few working days to appear on your statement.
                    """)
        case .holdExpired:
            EmailTemplateText(
                subject: "Booking Hold Expired - {{spaceName}}",
                html: """
                    <h1>Your hold has expired</h1>
                    <p>Dear {{userName}},</p>
                    <p>Your hold on {{spaceName}} for {{date}}, {{time}} ({{timeZone}}) expired before payment was completed,
                    so the time has been released.</p>
                    <p>You are welcome to book again at any time.</p>
                    """,
                text: """
                    Dear {{userName}},

                    Your hold on {{spaceName}} for {{date}}, {{time}} ({{timeZone}}) expired before payment was completed,
                    so the time has been released.

                    You are welcome to book again at any time.
                    """)
        case .passwordReset:
            EmailTemplateText(
                subject: "Reset your {{siteName}} password",
                html: """
                    <h1>Reset your password</h1>
                    <p>Dear {{userName}},</p>
                    <p>Someone asked to reset the password of your account. If it was you, follow this link within
                    {{expiresInMinutes}} minutes:</p>
                    <p><a href="{{resetLink}}">Reset my password</a></p>
                    <p>If you did not ask for this, ignore this email: your password stays as it is.</p>
                    """,
                text: """
                    Dear {{userName}},

                    Someone asked to reset the password of your account. If it was you, open this link within
                    {{expiresInMinutes}} minutes:

                    {{resetLink}}

                    If you did not ask for this, ignore this email: your password stays as it is.
                    """)
        case .accountSuspended:
            EmailTemplateText(
                subject: "Your {{siteName}} account has been suspended",
                html: """
                    <h1>Account suspended</h1>
                    <p>Dear {{userName}},</p>
                    <p>Your account has been suspended. Reason: {{reason}}</p>
                    <p>If you believe this is a mistake, reply to this email.</p>
                    """,
                text: """
                    Dear {{userName}},

                    Your account has been suspended. Reason: {{reason}}

                    If you believe this is a mistake, reply to this email.
                    """)
        }
    }
}

/// Fills templates in. Pure: callable on any thread.
enum EmailRenderer {
    enum Failure: Error, Equatable, CustomStringConvertible {
        case unknownTemplate(String)
        case badPayload(String)

        var description: String {
            switch self {
            case .unknownTemplate(let name): "unknown template \"\(name)\""
            case .badPayload(let reason): "template variables are not a JSON object: \(reason)"
            }
        }
    }

    /// Renders `template` with the outbox row's JSON `payload`.
    static func render(template name: String, payload: String, siteName: String) -> Result<RenderedEmail, Failure> {
        guard let template = EmailTemplate(rawValue: name) else { return .failure(.unknownTemplate(name)) }
        let parsed: JSON
        do {
            parsed = try JSONParser.parse(payload)
        } catch {
            return .failure(.badPayload("\(error)"))
        }
        guard case .object(let object) = parsed else { return .failure(.badPayload("got \(parsed.typeName)")) }
        return .success(render(template, variables: variables(object, template: template, siteName: siteName)))
    }

    static func render(_ template: EmailTemplate, variables: [String: String]) -> RenderedEmail {
        let wording = template.wording
        // A header cannot hold a line break: a name with CR/LF must not add header fields.
        let subject = fill(wording.subject, variables, escape: false)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
        let body = fill(wording.html, variables, escape: true)
        let html = """
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"><title>\(HTML.escape(subject))</title></head>
            <body>
            \(body)
            </body>
            </html>
            """
        return RenderedEmail(subject: subject, html: html, text: fill(wording.text, variables, escape: false))
    }

    /// Template variables as text, plus the derived ones: `siteName`, `startTime`,
    /// `refundNote` (cancellations of paid bookings), `refundAmount` (defaults to `amount`).
    static func variables(_ object: JSONObject, template: EmailTemplate, siteName: String) -> [String: String] {
        var values: [String: String] = ["siteName": siteName]
        for member in object {
            switch member.value {
            case .string(let text): values[member.key] = text
            case .number(let literal): values[member.key] = literal
            case .bool(let flag): values[member.key] = flag ? "yes" : "no"
            case .null, .array, .object, .raw: continue
            }
        }
        if values["startTime"] == nil, let time = values["time"] {
            values["startTime"] = String(time.prefix { $0 != "–" && $0 != "-" })
        }
        if values["refundAmount"] == nil { values["refundAmount"] = values["amount"] }
        if template == .bookingCancelled {
            let refundDue = object["refundDue"]?.boolValue ?? false
            values["refundNote"] = refundDue
                ? "You paid \(values["amount"] ?? "for this booking"); a full refund is on its way."
                : ""
            if values["reason"]?.isEmpty ?? true { values["reason"] = "not given" }
        }
        if template == .accountSuspended, values["reason"]?.isEmpty ?? true { values["reason"] = "not given" }
        return values
    }

    /// Replaces `{{name}}` (letters, digits, `_`) with its value, HTML-escaped when `escape`.
    /// Unknown names become empty; text that is not a placeholder is copied as is.
    static func fill(_ template: String, _ variables: [String: String], escape: Bool) -> String {
        var output = ""
        output.reserveCapacity(template.utf8.count + 64)
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            output += rest[rest.startIndex..<open.lowerBound]
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}"),
                  case let name = afterOpen[afterOpen.startIndex..<close.lowerBound],
                  !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" })
            else {
                output += "{{"
                rest = afterOpen
                continue
            }
            let value = variables[String(name)] ?? ""
            output += escape ? HTML.escape(value) : value
            rest = afterOpen[close.upperBound...]
        }
        output += rest
        return output
    }
}
