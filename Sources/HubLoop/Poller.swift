import CLibUV

#if canImport(Glibc)
import Glibc
#endif

/// One epoll instance for every socket on the loop, watched by libuv as a single `uv_poll_t`.
///
/// A libuv TCP handle is 248 bytes per connection (`uv_tcp_t`, its stream and I/O watcher
/// fields); here a socket costs the kernel's epoll entry and nothing in our memory but its
/// descriptor and interest in its owner, which reads and writes it itself (what uWebSockets does
/// over its own epoll). Each registration carries its owner's address in the event's data (the
/// low bit tells a listener from a connection, both 16-byte aligned), so a ready event finds its
/// owner without a table.
///
/// Level-triggered, like libuv's own epoll: each turn takes at most `eventsMax` events without
/// blocking; what is left stays ready and keeps the epoll descriptor readable, so libuv polls
/// it again on the next turn, and one busy turn never starves timers. A socket with no interest
/// is removed from the set (epoll always reports hang-ups and errors, which would otherwise
/// repeat every turn), and libuv's handle is active only while some socket has interest: a loop
/// with nothing to read or write ends, as it would with libuv's own handles.
///
/// Lifetime: an owner registered in the set stays alive until its close finishes
/// (`Loop.finishCloseLater`, in a later phase than the batch of events it may still appear in),
/// so an event taken before a close never reaches freed memory; a closed owner ignores it.
final class Poller {
    static let eventsMax = Int(SPACEHUB_EPOLL_EVENTS_MAX)
    private static let listenerTag: UInt64 = 1

    let epoll: Int32
    private let handle = UnsafeMutablePointer<uv_poll_t>.allocate(capacity: 1)
    private let data = UnsafeMutablePointer<UInt64>.allocate(capacity: eventsMax)
    private let events = UnsafeMutablePointer<UInt32>.allocate(capacity: eventsMax)
    /// Sockets registered with some interest; libuv's handle polls while there are any.
    private var active = 0
    private var polling = false
    private var open = true

    init(loop: UnsafeMutablePointer<uv_loop_t>) {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1: errno \(errno)")  // only out of descriptors or memory at start
        precondition(uv_poll_init(loop, handle, epoll) == 0, "uv_poll_init on the epoll descriptor")
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()  // the loop owns the poller and closes it
    }

    deinit {
        precondition(!open, "Poller freed while open")
        handle.deallocate()
        data.deallocate()
        events.deallocate()
    }

    /// Closes libuv's handle and the epoll descriptor (the loop does, once every socket closed).
    func close() {
        guard open else { return }
        open = false
        uv_close(handle.asHandle, nil)
        Glibc.close(epoll)
    }

    /// Makes `fd`'s interest `new` (EPOLLIN, EPOLLOUT or both; 0 removes it from the set) where it
    /// was `old`; `owner`'s events name it (`data(for:)`). Returns 0 or a negative errno.
    func change(_ fd: Int32, from old: UInt32, to new: UInt32, owner: UInt64) -> Int32 {
        guard old != new else { return 0 }
        let op = old == 0 ? EPOLL_CTL_ADD : new == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD
        let rc = spacehub_epoll_ctl(epoll, op, fd, new, owner)
        guard rc == 0 else { return rc }
        if old == 0 {
            active += 1
            if !polling { startPolling() }
        } else if new == 0 {
            deactivated()
        }
        return 0
    }

    /// Takes `fd`, whose interest was `old`, out of the set before its owner closes it. Closing
    /// alone would not do if the descriptor were ever duplicated (a fork between `fork` and
    /// `exec`): epoll drops an entry only when the last descriptor of the socket closes, and
    /// events would then name an owner already gone.
    func remove(_ fd: Int32, from old: UInt32) {
        guard old != 0 else { return }
        _ = spacehub_epoll_ctl(epoll, EPOLL_CTL_DEL, fd, 0, 0)
        deactivated()
    }

    /// One socket fewer with interest; libuv's handle stops with the last.
    private func deactivated() {
        active -= 1
        if active == 0 && polling {
            uv_poll_stop(handle)
            polling = false
        }
    }

    /// The word a connection's events carry: its address.
    static func data(for connection: TCPConnection) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passUnretained(connection).toOpaque()))
    }

    /// The word a listener's events carry: its address, the low bit set (objects are 16-byte aligned).
    static func data(for listener: TCPListener) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passUnretained(listener).toOpaque())) | listenerTag
    }

    private func startPolling() {
        polling = true
        uv_poll_start(handle, Int32(UV_READABLE.rawValue)) { handle, _, _ in
            Unmanaged<Poller>.fromOpaque(handle!.pointee.data).takeUnretainedValue().dispatch()
        }
    }

    private func dispatch() {
        let count = spacehub_epoll_poll(epoll, data, events)
        guard count > 0 else { return }  // EINTR, or taken already
        for index in 0..<Int(count) {
            let word = data[index]  // as `data(for:)` made it
            let address = UnsafeRawPointer(bitPattern: UInt(word & ~Self.listenerTag))!
            if word & Self.listenerTag != 0 {
                Unmanaged<TCPListener>.fromOpaque(address).takeUnretainedValue().pollReady(events[index])
            } else {
                Unmanaged<TCPConnection>.fromOpaque(address).takeUnretainedValue().pollReady(events[index])
            }
        }
    }
}

@available(*, unavailable) extension Poller: Sendable {}
