import PIMModule

/// The host side of the pipeline, in simulated time: it injects micro-batches into stage 0 over the host
/// link, receives them back from the last stage, and spends `stepOverhead + perRequest × requests` on each
/// returned micro-batch (sampling, embedding lookup, scheduling) before the next token can start. The host
/// processes returned micro-batches one at a time.
public struct HostModel: Sendable {
    public private(set) var egress: Port
    public private(set) var ingress: Port
    let spec: Topology.HostSpec
    private var hostFreeAt: Picoseconds = 0
    /// Time the host spent on sampling and scheduling, picoseconds.
    public private(set) var busyPs: Picoseconds = 0

    public init(topology: Topology) {
        egress = Port(link: topology.links.host)
        ingress = Port(link: topology.links.host)
        spec = topology.host
    }

    /// Sends a micro-batch ready at `ready` to stage 0; returns its depart time.
    public mutating func inject(ready: Picoseconds, payloadBytes: Int64) -> Picoseconds {
        egress.send(ready: ready, bytes: payloadBytes)
    }

    /// Receives a micro-batch that left the last stage at `depart` and samples its tokens; returns when the
    /// tokens are known (the time the next step of this micro-batch is ready).
    public mutating func complete(depart: Picoseconds, payloadBytes: Int64, requests: Int) -> Picoseconds {
        let arrival = ingress.receive(depart: depart, bytes: payloadBytes)
        let cost = spec.stepOverheadPs + spec.perRequestPs * Picoseconds(requests)
        let start = max(arrival, hostFreeAt)
        hostFreeAt = start + cost
        busyPs += cost
        return hostFreeAt
    }
}
