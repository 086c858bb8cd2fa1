import CZMQ

/// An error from libzmq, carrying zmq's own message and what we were doing when it happened.
public struct TransportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The errno value libzmq reported (for example `EADDRINUSE`).
    public let code: Int32
    /// The operation that failed, e.g. `bind tcp://127.0.0.1:5700`.
    public let operation: String
    /// libzmq's explanation (`zmq_strerror`).
    public let zmqMessage: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
        self.zmqMessage = String(cString: zmq_strerror(code))
    }

    /// The error for the calling thread's last libzmq failure.
    static func last(_ operation: String) -> TransportError {
        TransportError(code: zmq_errno(), operation: operation)
    }

    public var isAddressInUse: Bool { code == EADDRINUSE }
    public var isTimeout: Bool { code == EAGAIN }
    public var isInterrupted: Bool { code == EINTR }
    public var isContextTerminated: Bool { code == ETERM }

    public var description: String {
        var text = "\(operation): \(zmqMessage)"
        if code == EADDRINUSE { text += " (another process holds this address; choose another port or stop it)" }
        return text
    }
}
