import CZMQ

/// The socket kinds lolpim uses.
public enum SocketKind: Sendable {
    /// Control plane, worker side: talks to one ROUTER, asynchronously in both directions.
    case dealer
    /// Control plane, coordinator side: addresses each peer by its routing id (first frame).
    case router
    /// Data plane, sending side: FIFO towards one downstream stage.
    case push
    /// Data plane, receiving side: fair-queues (FIFO per peer) from upstream.
    case pull
    /// One-to-one, used by tests and benchmarks.
    case pair
    /// Strict request-reply, server side (the ZAP handler).
    case rep

    var zmqType: Int32 {
        switch self {
        case .dealer: return ZMQ_DEALER
        case .router: return ZMQ_ROUTER
        case .push: return ZMQ_PUSH
        case .pull: return ZMQ_PULL
        case .pair: return ZMQ_PAIR
        case .rep: return ZMQ_REP
        }
    }
}

/// Socket options we set. Times are milliseconds as libzmq takes them; -1 means "forever" for time-outs.
public enum SocketOption: Sendable {
    /// How long `close` may keep unsent messages (ms). Bounded so that no process waits forever on exit.
    case linger(Int32)
    /// Send / receive high-water marks (messages queued before blocking or dropping).
    case sendHighWaterMark(Int32)
    case receiveHighWaterMark(Int32)
    /// Time-outs for blocking send and receive (ms).
    case sendTimeout(Int32)
    case receiveTimeout(Int32)
    /// Identity of this socket as seen by a ROUTER peer.
    case routingId([UInt8])
    /// Largest inbound message libzmq accepts (bytes); larger ones drop the connection.
    case maxMessageSize(Int64)
    /// Queue messages only to completed connections.
    case immediate(Bool)
    /// ROUTER: fail with EHOSTUNREACH instead of silently dropping a message to an unknown peer.
    case routerMandatory(Bool)
    /// ZMTP heartbeats on the connection (ms between pings, ms before the connection counts as dead).
    case heartbeatInterval(Int32)
    case heartbeatTimeout(Int32)
    /// CURVE: act as the server of the handshake (set with `curveSecretKey` before bind).
    case curveServer(Bool)
    /// CURVE keys, 40-character Z85 text: this socket's own pair, and (clients) the server's public key.
    case curvePublicKey(String)
    case curveSecretKey(String)
    case curveServerKey(String)
    /// ZAP domain the socket's connections are authenticated in.
    case zapDomain(String)
    /// Kernel send and receive buffer sizes of the socket's connections, bytes (ZMQ_SNDBUF, ZMQ_RCVBUF).
    case sendBuffer(Int32)
    case receiveBuffer(Int32)
}

/// A libzmq socket. Not thread-safe (as in libzmq): use it from one thread at a time.
public final class Socket {
    let handle: UnsafeMutableRawPointer
    /// Keeps the context alive until the socket is closed.
    public let context: Context
    public let kind: SocketKind
    private var closed = false

    public init(_ context: Context, _ kind: SocketKind) throws {
        guard let handle = zmq_socket(context.handle, kind.zmqType) else {
            throw TransportError.last("zmq_socket \(kind)")
        }
        self.handle = handle
        self.context = context
        self.kind = kind
        // A bounded default: a process never hangs on exit because a peer went away.
        try set(.linger(1000))
    }

    deinit { close() }

    /// Closes the socket; pending outbound messages get at most the linger period.
    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    public func bind(_ endpoint: String) throws {
        if zmq_bind(handle, endpoint) != 0 { throw TransportError.last("bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        if zmq_connect(handle, endpoint) != 0 { throw TransportError.last("connect \(endpoint)") }
    }

    public func disconnect(_ endpoint: String) throws {
        if zmq_disconnect(handle, endpoint) != 0 { throw TransportError.last("disconnect \(endpoint)") }
    }

    /// The endpoint of the last bind, with wildcards resolved (e.g. `tcp://127.0.0.1:41234` after binding
    /// `tcp://127.0.0.1:*`).
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 512)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    public func set(_ option: SocketOption) throws {
        switch option {
        case .linger(let ms): try setInt32(ZMQ_LINGER, ms, "LINGER")
        case .sendHighWaterMark(let n): try setInt32(ZMQ_SNDHWM, n, "SNDHWM")
        case .receiveHighWaterMark(let n): try setInt32(ZMQ_RCVHWM, n, "RCVHWM")
        case .sendTimeout(let ms): try setInt32(ZMQ_SNDTIMEO, ms, "SNDTIMEO")
        case .receiveTimeout(let ms): try setInt32(ZMQ_RCVTIMEO, ms, "RCVTIMEO")
        case .immediate(let on): try setInt32(ZMQ_IMMEDIATE, on ? 1 : 0, "IMMEDIATE")
        case .routerMandatory(let on): try setInt32(ZMQ_ROUTER_MANDATORY, on ? 1 : 0, "ROUTER_MANDATORY")
        case .heartbeatInterval(let ms): try setInt32(ZMQ_HEARTBEAT_IVL, ms, "HEARTBEAT_IVL")
        case .heartbeatTimeout(let ms): try setInt32(ZMQ_HEARTBEAT_TIMEOUT, ms, "HEARTBEAT_TIMEOUT")
        case .maxMessageSize(let bytes):
            var value = bytes
            if zmq_setsockopt(handle, ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size) != 0 {
                throw TransportError.last("setsockopt MAXMSGSIZE=\(bytes)")
            }
        case .curveServer(let on): try setInt32(ZMQ_CURVE_SERVER, on ? 1 : 0, "CURVE_SERVER")
        case .curvePublicKey(let key): try setString(ZMQ_CURVE_PUBLICKEY, key, "CURVE_PUBLICKEY")
        case .curveSecretKey(let key): try setString(ZMQ_CURVE_SECRETKEY, key, "CURVE_SECRETKEY")
        case .curveServerKey(let key): try setString(ZMQ_CURVE_SERVERKEY, key, "CURVE_SERVERKEY")
        case .zapDomain(let domain): try setString(ZMQ_ZAP_DOMAIN, domain, "ZAP_DOMAIN")
        case .sendBuffer(let bytes): try setInt32(ZMQ_SNDBUF, bytes, "SNDBUF")
        case .receiveBuffer(let bytes): try setInt32(ZMQ_RCVBUF, bytes, "RCVBUF")
        case .routingId(let id):
            let rc = id.withUnsafeBytes { zmq_setsockopt(handle, ZMQ_ROUTING_ID, $0.baseAddress, $0.count) }
            if rc != 0 { throw TransportError.last("setsockopt ROUTING_ID") }
        }
    }

    /// Sets a text option (libzmq takes Z85 keys as 40 characters plus the terminating zero).
    private func setString(_ name: Int32, _ value: String, _ label: String) throws {
        var bytes = Array(value.utf8CString)
        let length = name == ZMQ_ZAP_DOMAIN ? bytes.count - 1 : bytes.count
        if zmq_setsockopt(handle, name, &bytes, length) != 0 {
            throw TransportError.last("setsockopt \(label)")
        }
    }

    private func setInt32(_ name: Int32, _ value: Int32, _ label: String) throws {
        var v = value
        if zmq_setsockopt(handle, name, &v, MemoryLayout<Int32>.size) != 0 {
            throw TransportError.last("setsockopt \(label)=\(value)")
        }
    }

    // MARK: Sending

    /// Sends the frames as one multipart message. Each frame's content is moved into libzmq (the frames are
    /// empty afterwards). Returns false if the send timed out (`SNDTIMEO`) or would block (`dontWait`).
    @discardableResult
    public func send(_ frames: [Message], dontWait: Bool = false) throws -> Bool {
        precondition(!frames.isEmpty, "a message has at least one frame")
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = dontWait ? ZMQ_DONTWAIT : 0
            if index < frames.count - 1 { flags |= ZMQ_SNDMORE }
            while zmq_msg_send(frame.raw, handle, flags) < 0 {
                let error = TransportError.last("send")
                if error.isInterrupted { continue }
                // libzmq sends multipart messages atomically: only the first frame can time out.
                if error.isTimeout && index == 0 { return false }
                throw error
            }
        }
        return true
    }

    /// Sends byte arrays as one multipart message (one copy per frame into libzmq).
    @discardableResult
    public func send(bytes frames: [[UInt8]], dontWait: Bool = false) throws -> Bool {
        try send(frames.map(Message.init), dontWait: dontWait)
    }

    // MARK: Receiving

    /// Receives one multipart message. Returns nil if the receive timed out (`RCVTIMEO`) or nothing is
    /// waiting (`dontWait`). Messages with more than `maxFrames` frames are drained and refused.
    public func receive(dontWait: Bool = false, maxFrames: Int = 16) throws -> [Message]? {
        var frames: [Message] = []
        repeat {
            let frame = Message()
            let flags: Int32 = (dontWait && frames.isEmpty) ? ZMQ_DONTWAIT : 0
            while zmq_msg_recv(frame.raw, handle, flags) < 0 {
                let error = TransportError.last("receive")
                if error.isInterrupted { continue }
                if error.isTimeout && frames.isEmpty { return nil }
                throw error
            }
            if frames.count < maxFrames { frames.append(frame) }
            if !frame.hasMore { break }
        } while true
        return frames
    }
}
