/// Writes compact JSON text straight into bytes, for views on hot paths: no `JSON` value, no
/// member array, no string per key is built on the way. The caller keeps the nesting right
/// (each `begin` has its `end`, each member's `key` one value); the writer places the commas.
///
/// Keys are `StaticString`s written as they are: the caller's own ASCII names, which need no
/// escape. Text from anywhere else goes through `string`, which escapes as `JSON.appendQuoted`.
public struct JSONWriter {
    public private(set) var bytes: [UInt8]
    /// Whether the next value or key follows another at the same level (and needs a comma).
    private var follows = false

    public init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() {
        separate()
        bytes.append(0x7B)
        follows = false
    }

    public mutating func endObject() {
        bytes.append(0x7D)
        follows = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(0x5B)
        follows = false
    }

    public mutating func endArray() {
        bytes.append(0x5D)
        follows = true
    }

    /// A member's name; its value is the next thing written.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(0x22)
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [0x22, 0x3A])
        follows = false
    }

    /// A member's name from elsewhere (escaped).
    public mutating func key(_ name: String) {
        separate()
        JSON.appendQuoted(name, into: &bytes)
        bytes.append(0x3A)
        follows = false
    }

    public mutating func string(_ value: String) {
        separate()
        JSON.appendQuoted(value, into: &bytes)
        follows = true
    }

    /// A string whose text `write` appends and which needs no escape (a date, a number as
    /// text): the writer adds only the quotes.
    public mutating func string(unescaped write: (inout [UInt8]) -> Void) {
        separate()
        bytes.append(0x22)
        write(&bytes)
        bytes.append(0x22)
        follows = true
    }

    public mutating func int(_ value: Int) {
        separate()
        if value >= 0 && value < 10 {
            bytes.append(0x30 + UInt8(value))
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
        follows = true
    }

    /// Any `JSON` value, serialized in place.
    public mutating func value(_ value: JSON) {
        separate()
        value.serialize(into: &bytes)
        follows = true
    }

    /// The members of `object`, written into the object being written.
    public mutating func members(_ object: JSONObject) {
        for member in object.members {
            key(member.key)
            value(member.value)
        }
    }

    @inline(__always)
    private mutating func separate() {
        if follows { bytes.append(0x2C) }
    }
}
