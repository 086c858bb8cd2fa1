import Transport

/// How lolpim makes its data-path sockets, in one place: a receiving side binds a PULL socket as a CURVE
/// server (when the run has keys) and bounds the size of what it accepts; a sending side connects a PUSH socket
/// as a CURVE client, and its sends give up after a time-out instead of blocking forever on a peer that
/// stopped reading.
enum Sockets {
    /// The largest data message accepted: a micro-batch's activations or a collective's chunks.
    static let maxDataMessageBytes = 1 << 30

    /// A PULL socket bound to `endpoint`.
    static func pull(
        _ context: Context, bind endpoint: String, keys: ClusterKeys?, receiveBuffer: Int32? = nil
    ) throws -> Socket {
        let socket = try Socket(context, .pull)
        try keys.secureServer(socket)
        try socket.set(.maxMessageSize(Int64(maxDataMessageBytes)))
        if let receiveBuffer { try socket.set(.receiveBuffer(receiveBuffer)) }
        try socket.bind(endpoint)
        return socket
    }

    /// A PUSH socket connected to `endpoint`; a send that cannot proceed for `sendTimeoutMs` fails.
    static func push(
        _ context: Context, connect endpoint: String, keys: ClusterKeys?, sendTimeoutMs: Int,
        sendBuffer: Int32? = nil
    ) throws -> Socket {
        let socket = try Socket(context, .push)
        try keys.secureClient(socket)
        try socket.set(.sendTimeout(Int32(sendTimeoutMs)))
        if let sendBuffer { try socket.set(.sendBuffer(sendBuffer)) }
        try socket.connect(endpoint)
        return socket
    }
}
