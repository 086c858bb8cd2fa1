import PIMModule

/// The host side of the pipeline, in simulated time: it injects micro-batches into stage 0 over the host
/// link, receives them back from the last stage, and spends `stepOverhead + perRequest × requests` on each
/// returned micro-batch (sampling, embedding lookup, scheduling) before the next token can start. The host
/// processes returned micro-batches one at a time.
public struct HostModel: Sendable {
    public private(set) var egress: Port
    public private(set) var ingress: Port
    /// The host's link to each module, carrying prefilled KV caches (stage index order).
    public private(set) var kvPorts: [Port]
    let spec: Topology.HostSpec
    private var hostFreeAt: Picoseconds = 0
    /// Time the host spent on sampling and scheduling, picoseconds.
    public private(set) var busyPs: Picoseconds = 0

    public init(topology: Topology) {
        egress = Port(link: topology.links.host)
        ingress = Port(link: topology.links.host)
        kvPorts = Array(repeating: Port(link: topology.links.host), count: topology.stages)
        spec = topology.host
    }

    /// Sends a micro-batch ready at `ready` to stage 0; returns its depart time.
    public mutating func inject(ready: Picoseconds, payloadBytes: Int64) -> Picoseconds {
        egress.send(ready: ready, bytes: payloadBytes)
    }

    /// Host work of `cost` that can start at `ready` (the host does one thing at a time); returns when done.
    public mutating func work(ready: Picoseconds, cost: Picoseconds) -> Picoseconds {
        guard cost > 0 else { return max(ready, 0) }
        let start = max(ready, hostFreeAt)
        hostFreeAt = start + cost
        busyPs += cost
        return hostFreeAt
    }

    /// Sends a request's prefilled KV cache to every module, `bytes[k]` (its layers' share) to module k over
    /// that module's host link; the modules' transfers run in parallel, each link serialising its own.
    /// Returns when the last module has its share.
    public mutating func transferKV(ready: Picoseconds, bytes: [Int64]) -> Picoseconds {
        var done = ready
        for (k, b) in bytes.enumerated() {
            let depart = kvPorts[k].send(ready: ready, bytes: b)
            done = max(done, depart + kvPorts[k].link.latencyPs + kvPorts[k].link.transferTime(bytes: b))
        }
        return done
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
