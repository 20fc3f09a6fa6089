import HubLoop

/// Something with deadlines (a request that must finish arriving, an idle keep-alive, a
/// WebSocket that owes a pong). One timer per server checks them all once a second instead of a
/// timer per connection: a `uv_timer_t` costs about 150 bytes, a slot here costs 8.
public protocol Sweepable: AnyObject {
    /// Position in the sweeper's array, kept by the sweeper for O(1) removal.
    var sweepSlot: Int { get set }
    func sweep(nowMs: UInt64)
}

public final class Sweeper {
    /// How often deadlines are checked. Timeouts are whole seconds, so a check every second
    /// enforces each one to within a second.
    public static let intervalMs: UInt64 = 1000

    public private(set) var members: [any Sweepable] = []
    private let timer: Timer

    public init(loop: Loop) {
        timer = Timer(loop: loop)
        timer.start(afterMs: Self.intervalMs, repeatMs: Self.intervalMs) { [unowned self] in
            self.tick(nowMs: loop.nowMs)
        }
        timer.unref()
    }

    public var count: Int { members.count }

    public func add(_ member: any Sweepable) {
        member.sweepSlot = members.count
        members.append(member)
    }

    public func remove(_ member: any Sweepable) {
        let slot = member.sweepSlot
        guard slot >= 0, slot < members.count, members[slot] === member else { return }
        let last = members.removeLast()
        if slot < members.count {
            members[slot] = last
            last.sweepSlot = slot
        }
        member.sweepSlot = -1
    }

    public func tick(nowMs: UInt64) {
        // Sweeps may close connections, which removes them: iterate over a snapshot.
        for member in members { member.sweep(nowMs: nowMs) }
    }

    public func close() {
        timer.close()
    }
}
