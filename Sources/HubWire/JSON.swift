/// A JSON value (RFC 8259) that keeps numbers as their literal text.
///
/// Money arrives as major-unit numbers such as `50000.50`; keeping the literal lets the domain
/// turn it into integer minor units without a floating-point round trip. Objects keep member
/// order, so responses serialise in the order handlers build them.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number literal, already checked against the JSON grammar.
    case number(String)
    case string(String)
    case array([JSON])
    case object(JSONObject)
    /// JSON text already written (`JSONWriter`), serialized verbatim: a view built on a hot path
    /// as bytes can sit inside a value built the usual way (like Go's `json.RawMessage`). The
    /// parser never makes one, and the accessors see through none.
    case raw([UInt8])

    public static func int(_ value: Int) -> JSON { .number(String(value)) }
    public static func int64(_ value: Int64) -> JSON { .number(String(value)) }

    /// `.string(value)` or `.null` when nil.
    public static func optional(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The number as an Int when its literal is an integer in range (no fraction, no exponent).
    public var intValue: Int? {
        if case .number(let literal) = self { return Int(literal) }
        return nil
    }

    public var numberLiteral: String? {
        if case .number(let literal) = self { return literal }
        return nil
    }

    public var arrayValue: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Member lookup on objects; nil for other values or absent keys.
    public subscript(key: String) -> JSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// A short name of the value's type for error messages ("string", "number", …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        case .raw: "JSON text"
        }
    }
}

/// JSON object members in order. Lookup is linear: API objects have a handful of members.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var members: [(key: String, value: JSON)]

    public init() { members = [] }

    public init(_ members: [(key: String, value: JSON)]) { self.members = members }

    public init(dictionaryLiteral elements: (String, JSON)...) {
        members = elements.map { (key: $0.0, value: $0.1) }
    }

    public subscript(key: String) -> JSON? {
        get {
            for member in members where Self.sameKey(member.key, key) { return member.value }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { Self.sameKey($0.key, key) }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// RFC 8259 §8.3: names compared code unit by code unit are the interoperable reading.
    /// Swift's `==` on String uses canonical equivalence, under which "\u{212A}" (KELVIN SIGN)
    /// equals "K": a lookup of "Key" would find a member other parsers call "\u{212A}ey".
    static func sameKey(_ lhs: String, _ rhs: String) -> Bool {
        // Lengths first (O(1) for native strings): most keys differ there, and the byte-wise
        // comparison below is an iterator loop.
        lhs.utf8.count == rhs.utf8.count && lhs.utf8.elementsEqual(rhs.utf8)
    }

    public var keys: [String] { members.map(\.key) }
    public var count: Int { members.count }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSON)]> { members.makeIterator() }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { sameKey($0.key, $1.key) && $0.value == $1.value }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
}
