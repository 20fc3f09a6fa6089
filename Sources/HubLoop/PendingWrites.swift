import CLibUV

/// The bytes one connection queued during this loop turn, in order, until its flush.
///
/// They are kept as chunks: arrays adopted as they are (`adopt`: a broadcast frame whose storage
/// every subscriber shares is queued by reference, never copied) and buffers of the connection's
/// own (loop spares) that encoders append to (`append`). The flush hands every chunk to the
/// kernel in one `sendmsg`, a writev when there are several. A subscriber that receives k
/// events in one turn thus costs k references and one system call; copying the frames into one
/// buffer cost a copy of each and, as the buffer grew, reallocations (a fifth of the hub's CPU
/// when fanning out batches of events to 10,000 subscribers).
///
/// The chunk list comes from the loop's pool at a turn's first write and goes back at the flush,
/// with the spare buffers, so an idle connection holds neither (`release`).
///
/// Loop thread only. Pointers handed to `withBuffers` stay valid until the chunks are released
/// or appended to: an array that is not mutated keeps its storage where it is.
struct PendingWrites {
    private(set) var chunks: [[UInt8]] = []
    /// Bit i is set when chunk i is a buffer of our own (a spare to recycle) rather than an
    /// adopted array that others may share. Chunks past 64 are never recycled, only freed.
    private var ownedMask: UInt64 = 0
    /// Bytes in all chunks.
    private(set) var byteCount = 0

    var isEmpty: Bool { byteCount == 0 }
    var holdsStorage: Bool { chunks.capacity > 0 }

    /// Queues `bytes` by reference.
    @inline(__always)
    mutating func adopt(_ bytes: [UInt8], loop: Loop) {
        if chunks.capacity == 0 { chunks = loop.takeChunkList() }
        byteCount += bytes.count
        chunks.append(bytes)
    }

    /// Runs `encode` on the last chunk when it is ours, else on a new spare buffer; `encode` must
    /// only append.
    @inline(__always)
    mutating func append(loop: Loop, _ encode: (inout [UInt8]) -> Void) {
        if chunks.capacity == 0 { chunks = loop.takeChunkList() }
        let last = chunks.count - 1
        if last < 0 || !isOwned(last) {
            if chunks.count < 64 { ownedMask |= 1 << UInt64(chunks.count) }
            chunks.append(loop.takeWriteBuffer())
        }
        let index = chunks.count - 1
        let before = chunks[index].count
        encode(&chunks[index])
        precondition(chunks[index].count >= before, "write(appending:) may only append")
        byteCount += chunks[index].count - before
    }

    private func isOwned(_ index: Int) -> Bool {
        index < 64 && ownedMask & (1 << UInt64(index)) != 0
    }

    /// Calls `body` with up to `Loop.ioVectorsMax` buffers over the chunks from `first` on, their
    /// count and their total bytes.
    func withBuffers<Result>(
        from first: Int, loop: Loop, _ body: (UnsafePointer<uv_buf_t>, Int, Int) -> Result
    ) -> Result {
        let count = min(chunks.count - first, Loop.ioVectorsMax)
        let vectors = loop.ioVectors
        var bytes = 0
        for offset in 0..<count {
            vectors[offset] = chunks[first + offset].withUnsafeBytes { raw in
                bytes += raw.count
                // An empty chunk (an append of nothing) has no base address; writev skips it.
                return raw.count == 0 ? uv_buf_init(nil, 0) : uvBuf(raw)
            }
        }
        return body(vectors, count, bytes)
    }

    /// The queued bytes after the first `skipped`, as one array: the chunk itself when there is
    /// one and nothing was written yet (no copy), else a copy.
    func coalesced(skipping skipped: Int) -> [UInt8] {
        if skipped == 0 && chunks.count == 1 { return chunks[0] }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount - skipped)
        var skip = skipped
        for chunk in chunks {
            if skip >= chunk.count {
                skip -= chunk.count
                continue
            }
            chunk.withUnsafeBytes { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[skip...])) }
            skip = 0
        }
        return bytes
    }

    /// Empties the queue: buffers of our own become loop spares (unless `recycling` is false,
    /// when one was handed to a write request), and the chunk list goes back to the loop.
    mutating func release(to loop: Loop, recycling: Bool = true) {
        if recycling && ownedMask != 0 {
            for index in chunks.indices where isOwned(index) { loop.recycleWriteBuffer(&chunks[index]) }
        }
        ownedMask = 0
        byteCount = 0
        loop.recycleChunkList(&chunks)
    }
}
