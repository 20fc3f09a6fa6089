import CLibUV

/// Owns one `uv_timer_t`. The callback runs on the loop thread; it may stop, restart or close
/// the timer.
public final class Timer {
    public unowned let loop: Loop
    private let timer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
    private var open = true
    private var callback: (() -> Void)?

    public init(loop: Loop) {
        self.loop = loop
        let rc = uv_timer_init(loop.raw, timer)
        precondition(rc == 0, "uv_timer_init: \(UVError(rc))")  // cannot fail on an initialised loop
        timer.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in closeCallback
    }

    /// Fires after `afterMs`, then every `repeatMs` when that is not zero. Restarting replaces
    /// the previous schedule and callback.
    public func start(afterMs: UInt64, repeatMs: UInt64 = 0, _ callback: @escaping () -> Void) {
        loop.assertOnLoopThread()
        precondition(open, "Timer started after close()")
        self.callback = callback
        uv_timer_start(timer, Self.timerCallback, afterMs, repeatMs)
    }

    public func stop() {
        guard open else { return }
        uv_timer_stop(timer)
    }

    /// A timer that does not keep the loop running by itself (housekeeping sweeps).
    public func unref() {
        uv_unref(timer.asHandle)
    }

    public func close() {
        guard open else { return }
        open = false
        callback = nil
        uv_close(timer.asHandle, Self.closeCallback)
    }

    private static let timerCallback: uv_timer_cb = { handle in
        let timer = Unmanaged<Timer>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
        timer.callback?()
    }

    private static let closeCallback: uv_close_cb = { handle in
        let owner = Unmanaged<Timer>.fromOpaque(handle!.pointee.data)
        handle!.pointee.data = nil
        owner.release()
    }

    deinit {
        precondition(!open, "Timer freed while open")
        timer.deallocate()
    }
}

@available(*, unavailable) extension Timer: Sendable {}
