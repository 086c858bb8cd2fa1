import CZMQ

/// A libzmq context: owns the I/O threads. libzmq documents contexts as thread-safe, so one context may be
/// shared by threads (that is what `inproc://` endpoints need); sockets made from it are not shared.
public final class Context: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// - Parameters:
    ///   - ioThreads: libzmq I/O threads (1 is plenty below a few GB/s).
    ///   - maxSockets: sockets the context may hold (libzmq's default is 1,023; threads of one process that
    ///     play many workers need more).
    public init(ioThreads: Int = 1, maxSockets: Int? = nil) throws {
        guard let handle = zmq_ctx_new() else { throw TransportError.last("zmq_ctx_new") }
        self.handle = handle
        let settings = [(ZMQ_IO_THREADS, ioThreads, "IO_THREADS"), (ZMQ_MAX_SOCKETS, maxSockets, "MAX_SOCKETS")]
        for (option, value, name) in settings where value != nil {
            if zmq_ctx_set(handle, option, Int32(clamping: value!)) != 0 {
                let error = TransportError.last("zmq_ctx_set \(name)=\(value!)")
                zmq_ctx_term(handle)
                throw error
            }
        }
    }

    /// Makes blocking calls on every socket of this context return `ETERM`. Safe from any thread.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        // Blocks until every socket is closed and its linger period has passed; sockets keep the context
        // alive through a strong reference, so by the time we get here they are all gone.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// The libzmq version this process runs with, e.g. "4.3.4".
    public static var libraryVersion: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
