import HubCore
import HubHTTP
import HubWire

/// Typed reads of request body fields, each failure a 422 naming the field.
enum Fields {
    /// The body of a change (a PUT of some fields): refused as `nothing_to_change` when it names
    /// none, rather than saved as a new version that changes nothing. `send` says what to send.
    static func changes(_ request: Request, send: String) throws(APIError) -> JSONObject {
        let body = try request.jsonObject()
        guard body.count > 0 else { throw APIError.invalid("body", "nothing_to_change", "send \(send)") }
        return body
    }

    static func string(_ body: JSONObject, _ field: String, maxBytes: Int = 4096) throws(APIError) -> String {
        guard let value = body[field], !value.isNull else { throw APIError.invalid(field, "missing_field", "\(field) is required") }
        guard let text = value.stringValue else { throw APIError.invalid(field, "wrong_type", "\(field) must be a string") }
        guard text.utf8.count <= maxBytes else { throw APIError.invalid(field, "too_long", "\(field) is too long") }
        // PostgreSQL's text cannot hold U+0000; refused on both stores, so both answer alike.
        guard !text.utf8.contains(0) else {
            throw APIError.invalid(field, "invalid_character", "\(field) must not contain U+0000")
        }
        return text
    }

    static func optionalString(_ body: JSONObject, _ field: String, maxBytes: Int = 4096) throws(APIError) -> String? {
        guard let value = body[field], !value.isNull else { return nil }
        return try string(body, field, maxBytes: maxBytes)
    }

    static func name(_ body: JSONObject, _ field: String) throws(APIError) -> String {
        let text = try string(body, field, maxBytes: 400).trimmedWhitespace
        if let problem = Validation.nameProblem(text, field: field) { throw APIError.invalid(field, "invalid_name", problem) }
        return text
    }

    static func phone(_ body: JSONObject, _ field: String, required: Bool) throws(APIError) -> String? {
        guard let text = try optionalString(body, field, maxBytes: 32), !text.isEmpty else {
            if required { throw APIError.invalid(field, "missing_field", "\(field) is required") }
            return nil
        }
        let compact = text.filter { $0 != " " && $0 != "-" }
        if let problem = Validation.phoneProblem(compact) { throw APIError.invalid(field, "invalid_phone", problem) }
        return compact
    }

    static func int(_ body: JSONObject, _ field: String, _ range: ClosedRange<Int>) throws(APIError) -> Int {
        guard let value = body[field], !value.isNull else { throw APIError.invalid(field, "missing_field", "\(field) is required") }
        guard let number = value.intValue else { throw APIError.invalid(field, "wrong_type", "\(field) must be an integer") }
        guard range.contains(number) else {
            throw APIError.invalid(field, "out_of_range", "\(field) must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    static func bool(_ body: JSONObject, _ field: String) throws(APIError) -> Bool {
        guard let value = body[field]?.boolValue else { throw APIError.invalid(field, "wrong_type", "\(field) must be true or false") }
        return value
    }
}
