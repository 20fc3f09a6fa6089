import CLibUV

#if canImport(Glibc)
import Glibc
#endif

/// Conversions between socket addresses and text.
public enum SocketAddress {
    /// Resolves a numeric IPv4 or IPv6 host and port into `storage`.
    static func make(host: String, port: Int, into storage: inout sockaddr_storage) throws(UVError) {
        let rc: Int32 = withUnsafeMutablePointer(to: &storage) { pointer in
            if host.contains(":") {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(host, Int32(port), $0) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(host, Int32(port), $0) }
        }
        try uvCheck(rc, "uv_ip_addr(\(host))")
    }

    static func text(of storage: inout sockaddr_storage) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = Int32(storage.ss_family)
        let rc: Int32 = withUnsafeMutablePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_name($0, &buffer, 64) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_name($0, &buffer, 64) }
        }
        guard rc == 0 else { return nil }
        let end = buffer.firstIndex(of: 0) ?? buffer.endIndex
        return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func port(of storage: inout sockaddr_storage) -> Int {
        withUnsafeMutablePointer(to: &storage) { pointer in
            if Int32(pointer.pointee.ss_family) == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }
}
