import CLibUV
import Synchronization

/// The one door from other threads into the loop: a mutex-guarded queue plus a `uv_async_t`.
///
/// libuv coalesces `uv_async_send` calls ("it's safe to call this function from any thread …
/// multiple calls may be coalesced into one callback", docs/src/async.rst), so the callback
/// drains the whole queue.
public final class LoopInbox: Sendable {
    private struct Queue: ~Copyable {
        var items: [@Sendable () -> Void] = []
        var closed = false
    }

    // The handle is touched by uv_async_send (thread-safe by contract) from any thread and by
    // the loop thread otherwise; its memory lives until the close callback.
    private nonisolated(unsafe) let async: UnsafeMutablePointer<uv_async_t>
    private let queue = Mutex(Queue())
    private let drainBatch = Mutex<[@Sendable () -> Void]>([])

    public init(loop: Loop) {
        async = .allocate(capacity: 1)
        let rc = uv_async_init(loop.raw, async, Self.asyncCallback)
        precondition(rc == 0, "uv_async_init: \(UVError(rc))")  // cannot fail on an initialised loop
        async.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in closeCallback
    }

    /// Queues `work` to run on the loop thread. Returns false (and drops it) once closed.
    @discardableResult
    public func post(_ work: @escaping @Sendable () -> Void) -> Bool {
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.closed else { return false }
            queue.items.append(work)
            return true
        }
        if accepted { uv_async_send(async) }
        return accepted
    }

    /// Lets the loop exit while the inbox is open (it is still served while the loop runs).
    public func unref() {
        uv_unref(UnsafeMutableRawPointer(async).assumingMemoryBound(to: uv_handle_t.self))
    }

    /// Runs what is queued, refuses new posts and closes the handle. Loop thread only.
    public func close() {
        let closing = queue.withLock { queue -> Bool in
            guard !queue.closed else { return false }
            queue.closed = true
            return true
        }
        guard closing else { return }
        drain()
        uv_close(UnsafeMutableRawPointer(async).assumingMemoryBound(to: uv_handle_t.self), Self.closeCallback)
    }

    private func drain() {
        // Bounded per turn by what was queued when we looked; work posted meanwhile wakes us again.
        let items = queue.withLock { queue -> [@Sendable () -> Void] in
            let items = queue.items
            queue.items.removeAll(keepingCapacity: true)
            return items
        }
        for item in items { item() }
    }

    private static let asyncCallback: uv_async_cb = { handle in
        Unmanaged<LoopInbox>.fromOpaque(handle!.pointee.data).takeUnretainedValue().drain()
    }

    private static let closeCallback: uv_close_cb = { handle in
        let owner = Unmanaged<LoopInbox>.fromOpaque(handle!.pointee.data)
        handle!.pointee.data = nil
        owner.release()
        // The handle memory is ours; libuv no longer touches it after this callback.
        UnsafeMutableRawPointer(handle!).assumingMemoryBound(to: uv_async_t.self).deallocate()
    }
}

/// A value that crosses threads but is only ever touched on the loop thread that made it:
/// completions created on the loop, carried through a worker, and called back via `LoopInbox`.
public struct LoopBound<Value>: @unchecked Sendable {
    private let storage: Value
    public init(_ value: Value) { storage = value }
    /// Read it on the loop thread only.
    public var value: Value { storage }
}
