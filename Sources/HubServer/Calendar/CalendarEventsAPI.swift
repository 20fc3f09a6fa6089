import HubCore
import HubHTTP
import HubWire

/// What a provider event says about a booking.
struct CalendarEventContent: Sendable, Equatable {
    let bookingID: String
    let summary: String
    let description: String
    let location: String
    let start: Int64
    let end: Int64
    let zone: Zone
    /// A pending hold: shown tentative.
    let tentative: Bool

    init(_ booking: Booking) {
        bookingID = booking.id
        summary = booking.spaceName
        description = ICSFeed.description(booking)
        location = booking.spaceName
        start = booking.range.start
        end = booking.range.end
        zone = booking.zone
        tentative = booking.status == .pending
    }
}

/// Creates, updates and deletes events through Google Calendar API v3 and Microsoft Graph v1.0.
/// Blocking; threadpool threads only.
///
/// Creation is idempotent, so at-least-once sync never duplicates an event: Google events get a
/// client-chosen id derived from the booking id (an insert that finds it taken becomes a
/// PATCH), Graph events carry the booking id as `transactionId`, which Graph uses to refuse a
/// second create.
enum CalendarEventsAPI {
    enum Upsert: Sendable, Equatable {
        case created(String)
        case updated(String)
    }

    /// Google event ids use base32hex characters (a–v, 0–9), 5 to 1024 of them: the booking's
    /// UUID hex digits qualify, after a prefix that keeps ours recognisable.
    static func googleEventID(_ bookingID: String) -> String {
        "sh" + bookingID.lowercased().filter { $0.isHexDigit }
    }

    static func upsert(_ content: CalendarEventContent, existingID: String?, settings: ProviderSettings,
                       accessToken: String) -> Result<Upsert, CalendarError> {
        if let existingID {
            switch update(content, eventID: existingID, settings: settings, accessToken: accessToken) {
            case .success: return .success(.updated(existingID))
            case .failure(let error) where error.code == "event_gone": break  // deleted by the member: create it again
            case .failure(let error): return .failure(error)
            }
        }
        return create(content, settings: settings, accessToken: accessToken)
    }

    static func delete(eventID: String, settings: ProviderSettings, accessToken: String) -> Result<Void, CalendarError> {
        let url = eventURL(settings, eventID)
        switch send(OutboundRequest.json("DELETE", url, nil, headers: bearer(accessToken), timeoutSeconds: settings.timeoutSeconds),
                    settings) {
        case .failure(let error): return .failure(error)
        case .success(let response):
            // Already gone (404, or Google's 410 for a deleted event) is what we wanted.
            if response.isSuccess || response.status == 404 || response.status == 410 { return .success(()) }
            return .failure(.answered(settings.provider, "the event delete", response))
        }
    }

    // MARK: Requests

    private static func create(_ content: CalendarEventContent, settings: ProviderSettings,
                               accessToken: String) -> Result<Upsert, CalendarError> {
        let url = settings.provider == .google ? "\(settings.apiBaseURL)/calendars/primary/events" : "\(settings.apiBaseURL)/me/events"
        var body = self.body(content, settings.provider)
        if settings.provider == .google, case .object(var object) = body {
            object["id"] = .string(googleEventID(content.bookingID))
            object["iCalUID"] = .string("\(content.bookingID)@spacehub")  // set once: Google keeps it fixed
            body = .object(object)
        }
        // Google's insert carries our own event id, so a repeat answers 409 instead of making a
        // second event; Microsoft's has no such key, so it is sent once.
        let request = OutboundRequest.json("POST", url, body, headers: bearer(accessToken), timeoutSeconds: settings.timeoutSeconds,
                                           isIdempotent: settings.provider == .google)
        switch send(request, settings) {
        case .failure(let error): return .failure(error)
        case .success(let response) where response.isSuccess:
            guard let id = response.json?["id"]?.stringValue, !id.isEmpty else {
                return .failure(CalendarError(status: 502, code: "provider_error",
                                              message: "\(settings.provider.displayName) created the event but sent no id"))
            }
            return .success(.created(id))
        case .success(let response) where response.status == 409 && settings.provider == .google:
            // The id is taken: the event exists from an earlier attempt (or was deleted, which
            // Google keeps as status "cancelled"). PATCH brings it back to the booking's state.
            let id = googleEventID(content.bookingID)
            return update(content, eventID: id, settings: settings, accessToken: accessToken).map { .updated(id) }
        case .success(let response):
            return .failure(.answered(settings.provider, "the event insert", response))
        }
    }

    private static func update(_ content: CalendarEventContent, eventID: String, settings: ProviderSettings,
                               accessToken: String) -> Result<Void, CalendarError> {
        let request = OutboundRequest.json("PATCH", eventURL(settings, eventID), body(content, settings.provider),
                                           headers: bearer(accessToken), timeoutSeconds: settings.timeoutSeconds)
        switch send(request, settings) {
        case .failure(let error): return .failure(error)
        case .success(let response) where response.isSuccess: return .success(())
        case .success(let response) where response.status == 404 || response.status == 410:
            return .failure(CalendarError(status: 502, code: "event_gone", message: "the event no longer exists"))
        case .success(let response):
            return .failure(.answered(settings.provider, "the event update", response))
        }
    }

    private static func send(_ request: OutboundRequest, _ settings: ProviderSettings) -> Result<OutboundResponse, CalendarError> {
        // One retry on network trouble and 5xx; creates are idempotent (see above), so it is safe.
        OutboundHTTP.hub.send(request, retries: 1).mapError { .unreachable(settings.provider, "calendar API", $0) }
    }

    private static func eventURL(_ settings: ProviderSettings, _ eventID: String) -> String {
        let escaped = OAuthClient.formComponent(eventID)
        return settings.provider == .google
            ? "\(settings.apiBaseURL)/calendars/primary/events/\(escaped)"
            : "\(settings.apiBaseURL)/me/events/\(escaped)"
    }

    private static func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)")] }

    /// Google: local wall time with the IANA zone. Graph: UTC (it accepts Windows zone names and
    /// only some IANA ones; UTC is always right and Outlook shows it in the member's zone).
    static func body(_ content: CalendarEventContent, _ provider: CalendarProvider) -> JSON {
        switch provider {
        case .google:
            let local = { (instant: Int64) -> String in String(UTC.iso8601(content.zone.localSeconds(of: instant)).dropLast()) }
            return [
                "summary": .string(content.summary),
                "description": .string(content.description),
                "location": .string(content.location),
                "start": ["dateTime": .string(local(content.start)), "timeZone": .string(content.zone.identifier)],
                "end": ["dateTime": .string(local(content.end)), "timeZone": .string(content.zone.identifier)],
                "status": .string(content.tentative ? "tentative" : "confirmed"),
                "extendedProperties": ["private": ["spacehubBookingId": .string(content.bookingID)]],
            ]
        case .outlook:
            let utc = { (instant: Int64) -> String in String(UTC.iso8601(instant).dropLast()) }
            return [
                "subject": .string(content.summary),
                "body": ["contentType": "text", "content": .string(content.description)],
                "location": ["displayName": .string(content.location)],
                "start": ["dateTime": .string(utc(content.start)), "timeZone": "UTC"],
                "end": ["dateTime": .string(utc(content.end)), "timeZone": "UTC"],
                "showAs": .string(content.tentative ? "tentative" : "busy"),
                "transactionId": .string(content.bookingID),
            ]
        }
    }
}
