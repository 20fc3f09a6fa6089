/// Header fields in arrival order. Names are stored lower-cased (field names are
/// case-insensitive, RFC 9110 §5.1), so lookups are plain comparisons.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}

    public init(_ fields: [(String, String)]) {
        for (name, value) in fields { add(name, value) }
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append((name.lowercased(), value))
    }

    /// Adds a field whose name is already lower-case (the parser's path).
    mutating func addLowercased(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// Replaces every field named `name` with one field.
    public mutating func set(_ name: String, _ value: String) {
        let lower = name.lowercased()
        fields.removeAll { $0.name == lower }
        fields.append((lower, value))
    }

    public mutating func remove(_ name: String) {
        let lower = name.lowercased()
        fields.removeAll { $0.name == lower }
    }

    /// The first value of `name`, or nil.
    public subscript(_ name: String) -> String? {
        let lower = name.lowercased()
        for field in fields where field.name == lower { return field.value }
        return nil
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        let lower = name.lowercased()
        return fields.compactMap { $0.name == lower ? $0.value : nil }
    }

    /// Whether any value of `name`, read as a comma-separated list, contains `token`
    /// (case-insensitive): `Connection: keep-alive, Upgrade` contains "upgrade".
    public func containsToken(_ name: String, _ token: String) -> Bool {
        let wanted = token.lowercased()
        for value in values(name) {
            for item in value.split(separator: ",") {
                if item.trimmingSpaces().lowercased() == wanted { return true }
            }
        }
        return false
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
