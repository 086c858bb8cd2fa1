import PIMModule

/// One direction of a link end: a resource that serialises transfers. A transfer of `bytes` occupies the
/// sender's egress port for bytes / bandwidth, travels the link's latency, and occupies the receiver's
/// ingress port for the same time; with no contention it arrives at depart + latency + bytes / bandwidth.
public struct Port: Sendable, Hashable, Codable {
    public let link: LinkSpec
    /// When the port can start the next transfer.
    public private(set) var freeAt: Picoseconds = 0
    /// Total time the port spent transferring.
    public private(set) var busy: Picoseconds = 0
    public private(set) var bytes: Int64 = 0
    public private(set) var messages: Int64 = 0

    public init(link: LinkSpec) { self.link = link }

    /// A port with no history that is next free at `freeAt` (another member's port, known from its state).
    public init(link: LinkSpec, freeAt: Picoseconds) {
        self.link = link
        self.freeAt = freeAt
    }

    /// Egress: sends `bytes` ready at `ready`; returns when the first bit leaves (depart time).
    public mutating func send(ready: Picoseconds, bytes: Int64) -> Picoseconds {
        send(ready: ready, bytes: bytes, transfer: link.transferTime(bytes: bytes))
    }

    /// As `send(ready:bytes:)` with the transfer time given (`link.transferTime(bytes: bytes)`, computed once by
    /// a caller that sends many chunks of one size).
    public mutating func send(ready: Picoseconds, bytes: Int64, transfer: Picoseconds) -> Picoseconds {
        let depart = max(ready, freeAt)
        account(start: depart, transfer: transfer, bytes: bytes)
        return depart
    }

    /// Ingress: receives `bytes` that departed the sender at `depart`; returns when the last bit arrived.
    public mutating func receive(depart: Picoseconds, bytes: Int64) -> Picoseconds {
        receive(depart: depart, bytes: bytes, transfer: link.transferTime(bytes: bytes))
    }

    /// As `receive(depart:bytes:)` with the transfer time given.
    public mutating func receive(depart: Picoseconds, bytes: Int64, transfer: Picoseconds) -> Picoseconds {
        let start = max(depart + link.latencyPs, freeAt)
        account(start: start, transfer: transfer, bytes: bytes)
        return start + transfer
    }

    /// Egress towards a receiver's port: sends `bytes` ready at `ready` and returns the transfer in transit, its
    /// first and last bits each this link's latency after they left this port.
    public mutating func launch(ready: Picoseconds, bytes: Int64) -> Transit {
        let transfer = link.transferTime(bytes: bytes)
        let depart = send(ready: ready, bytes: bytes, transfer: transfer)
        return Transit(ready: ready, departingAt: depart, over: link, transfer: transfer)
    }

    /// A shared hop of a route (cut-through): the transfer starts here when its first bit has arrived and the
    /// link is free, cannot end before its last bit has arrived, and both ends reach the next hop `latencyAfter`
    /// after they leave this one. This port's own latency is not used (the route gives each hop's).
    public mutating func pass(_ transit: Transit, bytes: Int64, latencyAfter: Picoseconds) -> Transit {
        let (start, end) = occupy(transit, bytes: bytes, transfer: link.transferTime(bytes: bytes))
        return Transit(readyPs: transit.readyPs, headPs: start + latencyAfter, tailPs: end + latencyAfter)
    }

    /// Ingress of a transfer in transit: returns when its last bit arrived.
    public mutating func receive(_ transit: Transit, bytes: Int64) -> Picoseconds {
        occupy(transit, bytes: bytes, transfer: link.transferTime(bytes: bytes)).end
    }

    /// As `receive(_:bytes:)` with the transfer time given (`link.transferTime(bytes: bytes)`).
    public mutating func receive(_ transit: Transit, bytes: Int64, transfer: Picoseconds) -> Picoseconds {
        occupy(transit, bytes: bytes, transfer: transfer).end
    }

    /// Serialises a transfer in transit on this port: it starts when its first bit is here and the port is free,
    /// and ends no earlier than its last bit's arrival. The port is busy for bytes / bandwidth of it.
    private mutating func occupy(
        _ transit: Transit, bytes: Int64, transfer: Picoseconds
    ) -> (start: Picoseconds, end: Picoseconds) {
        let start = max(transit.headPs, freeAt)
        account(start: start, transfer: transfer, bytes: bytes)
        freeAt = max(start + transfer, transit.tailPs)
        return (start, freeAt)
    }

    /// Takes on what a replica of this port (made with `init(link:freeAt:)` from this port's `freeAt`) did:
    /// its next free time, and its traffic added to this port's.
    mutating func absorb(_ replica: Port) {
        freeAt = replica.freeAt
        busy += replica.busy
        bytes += replica.bytes
        messages += replica.messages
    }

    private mutating func account(start: Picoseconds, transfer: Picoseconds, bytes: Int64) {
        freeAt = start + transfer
        busy += transfer
        self.bytes += bytes
        messages += 1
    }
}

/// A transfer on its way to a port: when its sender had it ready, when its first bit can reach the port, and
/// when its last bit can (the port cannot finish it earlier: cut-through). It travels in every micro-batch's
/// header (docs/PROTOCOL.md).
public struct Transit: Sendable, Equatable, Hashable, Codable {
    public var readyPs: Picoseconds
    public var headPs: Picoseconds
    public var tailPs: Picoseconds

    public init(readyPs: Picoseconds, headPs: Picoseconds, tailPs: Picoseconds) {
        self.readyPs = readyPs
        self.headPs = headPs
        self.tailPs = tailPs
    }

    /// A transfer that left a port of `link` at `depart` and took `transfer` there: each bit reaches the far
    /// end the link's latency after it left.
    public init(ready: Picoseconds, departingAt depart: Picoseconds, over link: LinkSpec, transfer: Picoseconds) {
        self.init(readyPs: ready, headPs: depart + link.latencyPs, tailPs: depart + transfer + link.latencyPs)
    }
}
