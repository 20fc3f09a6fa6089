import CLibUV

// libuv's handle types share a common prefix (`uv_handle_t` fields first, then `uv_stream_t`'s),
// which C code reaches by casting pointers. These are the only such casts in the project.

extension UnsafeMutablePointer where Pointee == uv_poll_t {
    var asHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: uv_handle_t.self) }
}

extension UnsafeMutablePointer where Pointee == uv_idle_t {
    var asHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: uv_handle_t.self) }
}

extension UnsafeMutablePointer where Pointee == uv_timer_t {
    var asHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: uv_handle_t.self) }
}

extension UnsafeMutablePointer where Pointee == uv_async_t {
    var asHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: uv_handle_t.self) }
}

extension UnsafeMutablePointer where Pointee == uv_signal_t {
    var asHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: uv_handle_t.self) }
}

extension UnsafeMutablePointer where Pointee == uv_check_t {
    var asHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: uv_handle_t.self) }
}

extension UnsafeMutablePointer where Pointee == uv_prepare_t {
    var asHandle: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: uv_handle_t.self) }
}
