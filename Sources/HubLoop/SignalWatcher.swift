import CLibUV

/// Owns one `uv_signal_t`: runs `callback` on the loop thread when the process gets `signal`.
public final class SignalWatcher {
    private let handle = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
    private var open = true
    private let callback: (Int32) -> Void

    public init(loop: Loop, signal: Int32, _ callback: @escaping (Int32) -> Void) {
        self.callback = callback
        precondition(uv_signal_init(loop.raw, handle) == 0)  // cannot fail on an initialised loop
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in closeCallback
        let rc = uv_signal_start(handle, Self.signalCallback, signal)
        precondition(rc == 0, "uv_signal_start(\(signal)): \(UVError(rc))")  // only EINVAL for a bad signum
        uv_unref(handle.asHandle)  // watching a signal should not keep the loop alive
    }

    public func close() {
        guard open else { return }
        open = false
        uv_close(handle.asHandle, Self.closeCallback)
    }

    private static let signalCallback: uv_signal_cb = { handle, signum in
        Unmanaged<SignalWatcher>.fromOpaque(handle!.pointee.data).takeUnretainedValue().callback(signum)
    }

    private static let closeCallback: uv_close_cb = { handle in
        let owner = Unmanaged<SignalWatcher>.fromOpaque(handle!.pointee.data)
        handle!.pointee.data = nil
        owner.release()
    }

    deinit {
        precondition(!open, "SignalWatcher freed while open")
        handle.deallocate()
    }
}

@available(*, unavailable) extension SignalWatcher: Sendable {}
