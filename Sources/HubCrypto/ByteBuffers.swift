extension Collection<UInt8> {
    /// Calls `body` with the bytes in contiguous memory, copying only when the collection has none
    /// (`Array`, `ArraySlice`, `Data` and native `String.UTF8View` all lend their storage).
    /// An empty buffer's `baseAddress` may be nil; see `nonNullBase`.
    func withContiguousBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if let result = try withContiguousStorageIfAvailable(body) { return result }
        return try Array(self).withUnsafeBufferPointer(body)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// `baseAddress`, or a pointer to a static zero byte when empty, for C APIs that reject
    /// NULL even with length 0. Never dereferenced by a correct callee, since the length is 0.
    var nonNullBase: UnsafePointer<UInt8> {
        if let base = baseAddress { return base }
        return UnsafePointer(emptyByteStorage)
    }
}

// One zero byte that lives for the whole process; UnsafeMutablePointer because only an allocation
// has a stable address in Swift. Never written. `nonisolated(unsafe)`: immutable after init.
private nonisolated(unsafe) let emptyByteStorage: UnsafeMutablePointer<UInt8> = {
    let byte = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    byte.initialize(to: 0)
    return byte
}()
