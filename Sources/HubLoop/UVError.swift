import CLibUV

/// A libuv error code with the call that returned it. Environment errors (ECONNRESET, EMFILE, …)
/// travel as this value; programmer errors (EINVAL, EBADF from our own calls) are preconditions.
public struct UVError: Error, CustomStringConvertible, Equatable, Sendable {
    public let code: Int32
    public let function: String

    public init(_ code: Int32, _ function: String = "") {
        self.code = code
        self.function = function
    }

    public var name: String { String(cString: uv_err_name(code)) }
    public var message: String { String(cString: uv_strerror(code)) }

    public var description: String {
        function.isEmpty ? "\(name): \(message)" : "\(function): \(name): \(message)"
    }

    public static let eof = UV_EOF.rawValue
    public static let again = UV_EAGAIN.rawValue
    public static let addressInUse = UV_EADDRINUSE.rawValue
    public static let canceled = UV_ECANCELED.rawValue
}

/// Checks a libuv status: negative values become a thrown `UVError`.
@inline(__always)
func uvCheck(_ rc: Int32, _ function: String) throws(UVError) {
    if rc < 0 { throw UVError(rc, function) }
}
