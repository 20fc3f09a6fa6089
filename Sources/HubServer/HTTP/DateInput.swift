import HubCore
import HubHTTP

extension LocalDate {
    /// `text` as a `YYYY-MM-DD` date, or the API's `bad_date` refusal naming `field`. A missing
    /// value (nil) is refused the same way: every date the API reads is written the one way.
    static func required(_ text: String?, field: String) throws(APIError) -> LocalDate {
        guard let text, let date = LocalDate(text) else {
            throw APIError.invalid(field, "bad_date", "\(field) must be YYYY-MM-DD")
        }
        return date
    }

    /// `text` as a date when it is given and not empty; nil when it is not; `bad_date` otherwise.
    static func optional(_ text: String?, field: String) throws(APIError) -> LocalDate? {
        guard let text, !text.isEmpty else { return nil }
        return try required(text, field: field)
    }
}
