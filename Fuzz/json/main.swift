// libFuzzer target: JSONParser and the serialiser (docs/FUZZING.md). The whole input is one
// document, as a request body or a WebSocket text message is. scripts/fuzz.sh runs it with
// `-timeout` and `-report_slow_units`, so an input that makes the parser super-linear (the 9.4 s
// duplicate-key scan of issue 16) is a finding like a crash.
import HubWire

/// Nesting depth, object sizes and value count of a parsed document, checked against the caps.
private func measure(_ value: JSON, depth: Int, values: inout Int) {
    values += 1
    switch value {
    case .array(let elements):
        require(depth + 1 <= JSONParser.depthMax, "nesting deeper than \(JSONParser.depthMax)")
        for element in elements { measure(element, depth: depth + 1, values: &values) }
    case .object(let object):
        require(depth + 1 <= JSONParser.depthMax, "nesting deeper than \(JSONParser.depthMax)")
        require(object.count <= JSONParser.membersMax, "object of \(object.count) members")
        var keys = Set<[UInt8]>()
        for member in object.members {
            require(keys.insert(Array(member.key.utf8)).inserted, "duplicate key \(member.key)")
            measure(member.value, depth: depth + 1, values: &values)
        }
    case .number(let literal):
        require(!literal.isEmpty, "empty number literal")
    case .string, .null, .bool:
        break
    case .raw:
        require(false, "the parser made a raw value (only views written as text are raw)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: data == nil ? 0 : size)
    let document: JSON
    do throws(JSONError) {
        document = try JSONParser.parse(bytes)
    } catch {
        require(error.offset >= 0 && error.offset <= size, "error offset \(error.offset) outside \(size) bytes")
        return 0
    }
    var values = 0
    measure(document, depth: 0, values: &values)
    require(values <= JSONParser.valuesMax, "\(values) values")
    // What we write must read back as itself: the serialiser escapes what the parser requires.
    let written = document.bytes
    do throws(JSONError) {
        let reread = try JSONParser.parse(written)
        require(reread.bytes == written, "serialisation is not stable: \(written) then \(reread.bytes)")
    } catch {
        fatalError("serialised document does not parse (\(error)): \(String(decoding: written, as: UTF8.self))")
    }
    return 0
}
