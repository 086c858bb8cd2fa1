import CZMQ

/// Waits until one of several sockets has a message to read, or a time-out passes.
public struct Poller {
    public init() {}

    /// Returns, for each socket, whether it is readable. Returns all false when the time-out passes or a
    /// signal interrupts the wait (callers loop and check their own deadlines and stop flags).
    /// - Parameter timeoutMs: milliseconds to wait; 0 checks without waiting.
    public func readable(_ sockets: [Socket], timeoutMs: Int) throws -> [Bool] {
        var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        let count = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32($0.count), timeoutMs) }
        if count < 0 {
            let error = TransportError.last("poll")
            if error.isInterrupted { return Array(repeating: false, count: sockets.count) }
            throw error
        }
        return items.map { ($0.revents & Int16(ZMQ_POLLIN)) != 0 }
    }
}
