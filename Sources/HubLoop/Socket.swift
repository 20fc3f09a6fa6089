#if canImport(Glibc)
import Glibc
#endif

/// Socket calls on descriptors the loop owns, with errors as libuv's codes (negative errno).
enum Socket {
    static var lastError: Int32 { -errno }

    /// A nonblocking, close-on-exec TCP socket of `family`.
    static func open(family: Int32) throws(UVError) -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw UVError(lastError, "socket") }
        return fd
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ on: Bool) {
        var value: Int32 = on ? 1 : 0
        _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    static func bind(_ fd: Int32, _ address: inout sockaddr_storage) -> Int32 {
        let length = length(of: address)
        let rc = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        return rc == 0 ? 0 : lastError
    }

    static func length(of address: sockaddr_storage) -> socklen_t {
        socklen_t(Int32(address.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    }

    /// The local (`peer` false) or remote address of `fd`, or nil.
    static func address(of fd: Int32, peer: Bool) -> sockaddr_storage? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)
            }
        }
        return rc == 0 ? storage : nil
    }
}
