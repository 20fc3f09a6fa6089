/// Header fields in arrival order. Names are stored lower-cased (field names are
/// case-insensitive, RFC 9110 §5.1), so lookups are plain comparisons.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}

    public init(_ fields: [(String, String)]) {
        for (name, value) in fields { add(name, value) }
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append((Self.lower(name), value))
    }

    /// `name` lower-cased; names are ASCII tokens and almost always given lower-case already,
    /// so the common case returns the same string without allocating.
    @inline(__always)
    static func lower(_ name: String) -> String {
        hasUpperCase(name) ? name.lowercased() : name
    }

    /// Whether `name` has an ASCII capital, read from the string's own bytes (iterating its
    /// `utf8` view byte by byte cost 2% of a small GET's CPU).
    @inline(__always)
    static func hasUpperCase(_ name: String) -> Bool {
        name.utf8.withContiguousStorageIfAvailable { $0.contains(where: isASCIIUppercase) }
            ?? name.utf8.contains(where: isASCIIUppercase)
    }

    /// Adds a field whose name is already lower-case (the parser's path).
    mutating func addLowercased(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// Replaces every field named `name` with one field.
    public mutating func set(_ name: String, _ value: String) {
        let lower = Self.lower(name)
        fields.removeAll { $0.name == lower }
        fields.append((lower, value))
    }

    public mutating func remove(_ name: String) {
        let lower = Self.lower(name)
        fields.removeAll { $0.name == lower }
    }

    /// The first value of `name`, or nil.
    public subscript(_ name: String) -> String? {
        let lower = Self.lower(name)
        for field in fields where field.name == lower { return field.value }
        return nil
    }

    /// How many fields are named `name` (without collecting their values).
    public func count(of name: String) -> Int {
        let lower = Self.lower(name)
        var count = 0
        for field in fields where field.name == lower { count += 1 }
        return count
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        let lower = Self.lower(name)
        return fields.compactMap { $0.name == lower ? $0.value : nil }
    }

    /// Whether any value of `name`, read as a comma-separated list, contains `token`
    /// (case-insensitive): `Connection: keep-alive, Upgrade` contains "upgrade".
    public func containsToken(_ name: String, _ token: String) -> Bool {
        let lower = Self.lower(name)
        let wanted = Array(token.utf8)
        for field in fields where field.name == lower {
            if Self.list(field.value, contains: wanted) { return true }
        }
        return false
    }

    /// Scans a comma list for `wanted` (ASCII, case-insensitive) without allocating.
    static func list(_ value: String, contains wanted: [UInt8]) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
                let start = index
                while index < bytes.count, bytes[index] != 0x2C { index += 1 }
                var end = index
                while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
                if end - start == wanted.count {
                    var equal = true
                    for offset in 0..<wanted.count {
                        if asciiLowercased(bytes[start + offset]) != asciiLowercased(wanted[offset]) { equal = false; break }
                    }
                    if equal { return true }
                }
                index += 1  // past the comma
            }
            return false
        }
    }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }
}

extension Substring {
    /// Drops leading and trailing spaces and tabs (HTTP's OWS).
    public func trimmingSpaces() -> Substring {
        var slice = self
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return slice
    }
}
