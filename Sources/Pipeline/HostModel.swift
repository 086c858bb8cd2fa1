import PIMModule

/// The host side of the pipeline, in simulated time: it injects micro-batches into stage 0 over the host
/// link, receives them back from the last stage, and spends `stepOverhead + perRequest × requests` on each
/// returned micro-batch (sampling, embedding lookup, scheduling) before the next token can start. The host
/// processes returned micro-batches one at a time.
///
/// With a network (`topology.network`) the host's link is its port on its node's switch; injections towards
/// stage 0 in another node cross the shared links between (timed here: the host is their only sender), and
/// prompt KV travels to every module over its route at a lower priority than activations (docs/MODEL.md,
/// "Network"): on copies of the links of its own, which activations do not see.
public struct HostModel: Sendable {
    public private(set) var egress: Port
    public private(set) var ingress: Port
    /// The host's link to each module, carrying prefilled KV caches (stage index order). Without a network.
    public private(set) var kvPorts: [Port]
    let spec: Topology.HostSpec
    private var hostFreeAt: Picoseconds = 0
    /// Time the host spent on sampling and scheduling, picoseconds.
    public private(set) var busyPs: Picoseconds = 0

    /// With a network: the shared links from the host to each member of stage 0 (a group larger than a node spans
    /// several) and to every module (by rank, for the prompt KV; nil without a network), and the prompt KV's own
    /// copies of the host port, the shared links and each module's port.
    let tp: Int
    let injectRoutes: [[SharedHop]]
    let kvRoutes: [[SharedHop]]?
    public private(set) var shared: [SharedLink: Port] = [:]
    public private(set) var kvHostPort: Port
    public private(set) var kvShared: [SharedLink: Port] = [:]
    public private(set) var kvModulePorts: [Port]
    /// With a network and when recording (`--trace`): the prompt KV's spans on the shared links, one track per
    /// link ("node0.nic.out prompt KV").
    public var timeline: [TimelineEvent]?

    public init(topology: Topology) {
        egress = Port(link: topology.links.host)
        ingress = Port(link: topology.links.host)
        kvPorts = Array(repeating: Port(link: topology.links.host), count: topology.stages)
        spec = topology.host
        let tp = topology.parallelism.tp
        self.tp = tp
        let routes = topology.network.map { NetworkRoutes(spec: $0, modules: topology.cluster.modules, tp: tp) }
        injectRoutes = (0..<tp).map { routes?.sharedHops(from: .host, to: .module(stage: 0, member: $0)) ?? [] }
        kvRoutes = routes.map { r in
            (0..<(topology.stages * tp)).map { r.sharedHops(from: .host, to: .module(stage: $0 / tp, member: $0 % tp)) }
        }
        kvHostPort = Port(link: topology.links.host)
        kvModulePorts =
            routes == nil ? [] : Array(repeating: Port(link: topology.links.module), count: topology.stages * tp)
    }

    /// Sends a micro-batch ready at `ready` to member `member` of stage 0 (members in turn); returns it in transit.
    public mutating func inject(ready: Picoseconds, payloadBytes: Int64, member: Int = 0) -> Transit {
        var transit = egress.launch(ready: ready, bytes: payloadBytes)
        for hop in injectRoutes[member] {
            transit = shared.pass(transit, over: hop, bytes: payloadBytes)
        }
        return transit
    }

    /// Host work of `cost` that can start at `ready` (the host does one thing at a time); returns when done.
    public mutating func work(ready: Picoseconds, cost: Picoseconds) -> Picoseconds {
        guard cost > 0 else { return max(ready, 0) }
        let start = max(ready, hostFreeAt)
        hostFreeAt = start + cost
        busyPs += cost
        return hostFreeAt
    }

    /// Sends a request's prefilled KV cache to every module, `bytes[k]` (its layers' share) to each module of stage
    /// k. Without a network each stage has a host link of its own and the stages' transfers run in parallel; with
    /// one, every module's share crosses the host's port, the shared links of its route and the module's port, in
    /// rank order, each link serialising what crosses it. Returns when the last module has its share.
    public mutating func transferKV(ready: Picoseconds, bytes: [Int64]) -> Picoseconds {
        var done = ready
        guard let kvRoutes else {
            for (k, b) in bytes.enumerated() {
                let depart = kvPorts[k].send(ready: ready, bytes: b)
                done = max(done, depart + kvPorts[k].link.latencyPs + kvPorts[k].link.transferTime(bytes: b))
            }
            return done
        }
        for (k, b) in bytes.enumerated() {
            for m in 0..<tp {
                var transit = kvHostPort.launch(ready: ready, bytes: b)
                for hop in kvRoutes[k * tp + m] {
                    transit = kvShared.pass(transit, over: hop, bytes: b)
                    if timeline != nil {
                        let start = transit.headPs - hop.latencyAfterPs, end = transit.tailPs - hop.latencyAfterPs
                        timeline!.append(
                            TimelineEvent(
                                track: "\(hop.link) prompt KV", name: "prompt KV to module \(k * tp + m)",
                                startPs: start, durationPs: max(0, end - start)))
                    }
                }
                done = max(done, kvModulePorts[k * tp + m].receive(transit, bytes: b))
            }
        }
        return done
    }

    /// Receives a micro-batch in `transit` from the last stage and samples its tokens; returns when the tokens
    /// are known (the time the next step of this micro-batch is ready).
    public mutating func complete(_ transit: Transit, payloadBytes: Int64, requests: Int) -> Picoseconds {
        let arrival = ingress.receive(transit, bytes: payloadBytes)
        let cost = samplingCost(requests: requests)
        let start = max(arrival, hostFreeAt)
        hostFreeAt = start + cost
        busyPs += cost
        return hostFreeAt
    }

    /// What sampling a returned micro-batch of `requests` requests costs the host: `stepOverhead + perRequest ×
    /// requests`.
    public func samplingCost(requests: Int) -> Picoseconds {
        spec.stepOverheadPs + spec.perRequestPs * Picoseconds(requests)
    }
}
