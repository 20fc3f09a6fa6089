/// Writes compact JSON text straight into bytes, for views on hot paths: no `JSON` value, no
/// member array, no string per key is built on the way. The caller keeps the nesting right
/// (each `begin` has its `end`, each member's `key` one value); the writer places the commas.
///
/// Keys are `StaticString`s written as they are: the caller's own ASCII names, which need no
/// escape. Text from anywhere else goes through `string`, which escapes as `JSON.appendQuoted`.
public struct JSONWriter {
    /// The text written so far.
    public var bytes: [UInt8] { storage }
    @usableFromInline var storage: [UInt8]
    /// Whether the next value or key follows another at the same level (and needs a comma).
    @usableFromInline var follows = false

    public init(reservingCapacity capacity: Int = 0) {
        storage = []
        storage.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func beginObject() { open(0x7B) }

    @inlinable
    public mutating func endObject() { close(0x7D) }

    @inlinable
    public mutating func beginArray() { open(0x5B) }

    @inlinable
    public mutating func endArray() { close(0x5D) }

    /// A member's name; its value is the next thing written.
    @inlinable
    public mutating func key(_ name: StaticString) {
        separate()
        storage.append(0x22)
        name.withUTF8Buffer { storage.append(contentsOf: $0) }
        storage.append(0x22)  // two appends: an array literal here was an allocation per key
        storage.append(0x3A)
        follows = false
    }

    /// A member whose value is a string: `key(name)`, then `string(value)`.
    @inlinable
    public mutating func member(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    /// A member with any `JSON` value.
    @inlinable
    public mutating func member(_ name: StaticString, _ value: JSON) {
        key(name)
        self.value(value)
    }

    /// A member's name from elsewhere, escaped. (Named apart from `key(_:)`: a string literal
    /// would pick a `String` overload over the `StaticString` one.)
    public mutating func key(escaping name: String) {
        separate()
        JSON.appendQuoted(name, into: &storage)
        storage.append(0x3A)
        follows = false
    }

    @inlinable
    public mutating func string(_ value: String) {
        separate()
        JSON.appendQuoted(value, into: &storage)
        follows = true
    }

    /// A string whose text `write` appends and which needs no escape (a date, a number as
    /// text): the writer adds only the quotes.
    @inlinable
    public mutating func string(unescaped write: (inout [UInt8]) -> Void) {
        separate()
        storage.append(0x22)
        write(&storage)
        storage.append(0x22)
        follows = true
    }

    @inlinable
    public mutating func int(_ value: Int) {
        separate()
        if value >= 0 && value < 10 {
            storage.append(0x30 + UInt8(value))
        } else {
            storage.append(contentsOf: String(value).utf8)
        }
        follows = true
    }

    /// Any `JSON` value, serialized in place.
    public mutating func value(_ value: JSON) {
        separate()
        value.serialize(into: &storage)
        follows = true
    }

    /// The members of `object`, written into the object being written. Appended, not merged:
    /// the caller keeps their names apart from the object's own.
    public mutating func members(_ object: JSONObject) {
        for member in object.members {
            key(escaping: member.key)
            value(member.value)
        }
    }

    @inlinable
    mutating func open(_ bracket: UInt8) {
        separate()
        storage.append(bracket)
        follows = false
    }

    @inlinable
    mutating func close(_ bracket: UInt8) {
        storage.append(bracket)
        follows = true
    }

    @inlinable @inline(__always)
    mutating func separate() {
        if follows { storage.append(0x2C) }
    }
}
