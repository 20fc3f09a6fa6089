/// A value bound to a statement parameter.
public enum SQLValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral,
    ExpressibleByBooleanLiteral
{
    case null
    case integer(Int64)
    /// An instant in Unix seconds: an integer column in SQLite, `timestamptz` in PostgreSQL.
    case instant(Int64)
    /// An instant in Unix milliseconds (the event log's): an integer in SQLite, `timestamptz` in
    /// PostgreSQL.
    case instantMs(Int64)
    case text(String)
    /// Text given as its UTF-8 bytes (a serialized JSON payload): bound as text, without being
    /// made into a `String` first. The caller vouches that the bytes are UTF-8.
    case utf8([UInt8])
    case blob([UInt8])

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .integer(value ? 1 : 0) }

    public static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }
    public static func bool(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
    public static func optional(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
    public static func optional(_ value: Int64?) -> SQLValue { value.map(SQLValue.integer) ?? .null }
    public static func optionalInstant(_ value: Int64?) -> SQLValue { value.map(SQLValue.instant) ?? .null }
}
