#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import HubHTTP

/// `OutboundHTTP.connect(to:)` passes over an address that does not answer and connects to the next.
///
/// An address that never answers, on loopback: a listener whose accept queue is full. Linux drops
/// a SYN to it (`tcp_conn_request`: `sk_acceptq_is_full` → drop), so a connect waits out its
/// timeout exactly as against a dead route, without sending anything off the machine.
@Suite(.serialized) struct OutboundConnectTests {
    /// A listening socket on 127.0.0.1 and its port; `backlog` 0 with `fill` connections queued
    /// and never accepted makes it silent.
    static func listener(fill: Int) -> (fd: Int32, port: UInt16, queued: [Int32]) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            _ = bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        } }
        _ = listen(fd, 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            _ = getsockname(fd, $0, &length)
        } }
        let port = UInt16(bigEndian: address.sin_port)
        var queued: [Int32] = []
        for _ in 0..<fill {
            if case .success(let client) = OutboundHTTP.connect(host: "127.0.0.1", port: Int(port), timeoutSeconds: 1) {
                queued.append(client)
            }
        }
        return (fd, port, queued)
    }

    /// Two `addrinfo` nodes for 127.0.0.1 at `ports`, in order, as getaddrinfo would chain them.
    static func addresses(_ ports: [UInt16], _ body: (UnsafeMutablePointer<addrinfo>) -> Void) {
        var sockets = ports.map { port -> sockaddr_in in
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return address
        }
        let nodes = UnsafeMutablePointer<addrinfo>.allocate(capacity: ports.count)
        defer { nodes.deallocate() }
        sockets.withUnsafeMutableBufferPointer { buffer in
            for index in 0..<ports.count {
                let raw = UnsafeMutableRawPointer(buffer.baseAddress! + index).assumingMemoryBound(to: sockaddr.self)  // in bounds
                nodes[index] = addrinfo(ai_flags: 0, ai_family: AF_INET, ai_socktype: Int32(SOCK_STREAM.rawValue), ai_protocol: 0,
                                        ai_addrlen: socklen_t(MemoryLayout<sockaddr_in>.size), ai_addr: raw, ai_canonname: nil,
                                        ai_next: index + 1 < ports.count ? nodes + index + 1 : nil)
            }
            body(nodes)
        }
    }

    @Test func anAddressThatDoesNotAnswerIsPassedOverForTheNext() throws {
        let silent = Self.listener(fill: 2)
        let good = Self.listener(fill: 0)
        defer { for fd in [silent.fd, good.fd] + silent.queued { close(fd) } }
        // The silent one really is silent: alone, it times out.
        Self.addresses([silent.port]) { list in
            guard case .failure(.timedOut) = OutboundHTTP.connect(to: list, timeoutSeconds: 1) else {
                Issue.record("a full accept queue answered; the test cannot make a silent address here")
                return
            }
        }
        Self.addresses([silent.port, good.port]) { list in
            switch OutboundHTTP.connect(to: list, timeoutSeconds: 1) {
            case .success(let fd): close(fd)
            case .failure(let error): Issue.record("the second address was not tried: \(error)")
            }
        }
    }

    @Test func aRefusingAddressIsPassedOverAndAllFailingSaysWhy() {
        let good = Self.listener(fill: 0)
        let closed = Self.listener(fill: 0)
        close(closed.fd)  // nothing listens there now: connection refused
        defer { close(good.fd) }
        Self.addresses([closed.port, good.port]) { list in
            guard case .success(let fd) = OutboundHTTP.connect(to: list, timeoutSeconds: 1) else {
                Issue.record("the refused address was not passed over")
                return
            }
            close(fd)
        }
        Self.addresses([closed.port]) { list in
            guard case .failure(.connect(let reason)) = OutboundHTTP.connect(to: list, timeoutSeconds: 1) else {
                Issue.record("expected a connect failure")
                return
            }
            #expect(reason.contains("refused"))
        }
    }
}
