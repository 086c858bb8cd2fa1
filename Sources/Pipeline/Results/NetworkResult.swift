import PIMModule

/// The `simulated.network` section of results.json (docs/RESULTS.md), present only with `network:`: what
/// crossed each kind of link and each shared link, and how much of each module's time was communication it
/// waited for.
public struct NetworkResult: Codable, Sendable, Equatable {
    public var nodes: Int
    /// `switch` or `ring`.
    public var fabric: String
    /// The node of each pipeline stage.
    public var placement: [Int]
    public var linkClasses: [LinkClassResult]
    /// Every shared link (uplink, NIC, ring segment) that carried anything, by name ("node0.nic.out").
    public var sharedLinks: [SharedLinkResult]
    /// Per module, stage by stage and member by member.
    public var exposed: [ExposedResult]
    /// Mean over modules of `exposed[].fraction`.
    public var meanExposedFraction: Double
    /// Σ over micro-batch steps of the time one waited, otherwise ready, for its new requests' prompt KV
    /// to arrive from the host (0 with `prefill_kv: resident`).
    public var prefillWaitPs: Picoseconds
}

/// One kind of link over the run, both traffic classes: activations and collectives, and prompt KV from the host.
public struct LinkClassResult: Codable, Sendable, Equatable {
    /// `module_port`, `host_port`, `switch_uplink` or `nic` (`LinkClass`).
    public var linkClass: String
    /// Directed links of the class in the system (each direction of a port is one).
    public var links: Int
    /// Bytes of activations and collectives, and of prompt KV, that crossed links of the class.
    public var bytes: Int64
    public var kvBytes: Int64
    /// Σ over the class's links of the time each spent transferring (both classes of traffic).
    public var busyPs: Picoseconds
    /// busy / (links × makespan): the class's mean utilisation.
    public var utilisationFraction: Double
    /// The busiest link of the class: busy / makespan.
    public var peakUtilisationFraction: Double
}

/// One shared link over the run.
public struct SharedLinkResult: Codable, Sendable, Equatable {
    public var name: String
    public var linkClass: String
    public var bytes: Int64
    public var kvBytes: Int64
    /// Time transferring activations, and prompt KV (the lower-priority class, timed apart: docs/MODEL.md).
    public var busyPs: Picoseconds
    public var kvBusyPs: Picoseconds
    /// (busy + kv busy) / makespan.
    public var utilisationFraction: Double
}

/// Communication a module waited for, not hidden behind its compute.
public struct ExposedResult: Codable, Sendable, Equatable {
    public var stage: Int
    public var member: Int
    /// Time the module was free and a micro-batch's activation was ready upstream but still on its way.
    public var ingressPs: Picoseconds
    /// Time in tensor-parallel collectives waiting for the other members' chunks.
    public var collectivePs: Picoseconds
    /// ingress + collective.
    public var totalPs: Picoseconds
    /// total / makespan.
    public var fraction: Double
    /// total / (total + the module's compute time): the share of the module's steps (its computing and the
    /// communication it waited for) that was exposed communication.
    public var stepFraction: Double
}

extension ResultsBuilder {
    /// The network section from the stages' reports and the host (nil without a network).
    func networkResult(
        stages: [StageStats], host: HostModel, scheduler: SchedulerStats, makespan: Picoseconds
    ) -> NetworkResult? {
        guard let spec = plan.topology.network else { return nil }
        let span = Double(max(makespan, 1))
        let modules = plan.topology.cluster.modules
        // The shared links: each group's member 0 reports its copies (activations it sends, its collectives), the host
        // its injections and, apart, the prompt KV. Two senders' copies of one link (a group's collectives and the
        // activations entering its nodes) add up.
        var high: [String: PortStats] = [:]
        for (link, port) in host.shared { high[link.description, default: PortStats()].add(PortStats(port)) }
        for s in stages where s.member == 0 {
            for (name, port) in s.sharedLinks { high[name, default: PortStats()].add(port) }
        }
        let kinds = Dictionary(uniqueKeysWithValues: allSharedLinks(spec).map { ($0.description, $0.linkClass) })
        var kv: [String: PortStats] = [:]
        for (link, port) in host.kvShared { kv[link.description] = PortStats(port) }
        let names = Set(high.keys).union(kv.keys).sorted()
        let shared = names.map { name in
            let h = high[name] ?? PortStats(), k = kv[name] ?? PortStats()
            return SharedLinkResult(
                name: name, linkClass: (kinds[name] ?? .nic).rawValue, bytes: h.bytes, kvBytes: k.bytes,
                busyPs: h.busyPs, kvBusyPs: k.busyPs, utilisationFraction: Double(h.busyPs + k.busyPs) / span)
        }
        // The ports: each module's four directed ports, the host's two, and what the KV crossed of them.
        let ports = stages.flatMap { [$0.ingress, $0.egress, $0.tpIngress, $0.tpEgress] }
        let kvModule = host.kvModulePorts.map(PortStats.init)
        // A module's prompt KV comes in over its pipeline port's ingress direction.
        let modulePeak: Picoseconds =
            stages.map { (s: StageStats) -> Picoseconds in
                let kvIn: Picoseconds = s.rank < kvModule.count ? kvModule[s.rank].busyPs : 0
                return max(s.ingress.busyPs + kvIn, s.egress.busyPs, s.tpIngress.busyPs, s.tpEgress.busyPs)
            }.max() ?? 0
        var classes = [
            classResult(.modulePort, links: 4 * modules, high: ports, kv: kvModule, span: span, peak: modulePeak),
            classResult(
                .hostPort, links: 2, high: [PortStats(host.egress), PortStats(host.ingress)],
                kv: [PortStats(host.kvHostPort)], span: span,
                peak: max(host.egress.busy + host.kvHostPort.busy, host.ingress.busy)),
        ]
        for linkClass in [LinkClass.switchUplink, .nic] {
            let mine = shared.filter { $0.linkClass == linkClass.rawValue }
            let count = spec.nodes > 1 ? 2 * spec.nodes : 0
            let busy = mine.reduce(Int64(0)) { $0 + $1.busyPs + $1.kvBusyPs }
            classes.append(
                LinkClassResult(
                    linkClass: linkClass.rawValue, links: count, bytes: mine.reduce(0) { $0 + $1.bytes },
                    kvBytes: mine.reduce(0) { $0 + $1.kvBytes }, busyPs: busy,
                    utilisationFraction: count > 0 ? Double(busy) / (Double(count) * span) : 0,
                    peakUtilisationFraction: mine.map(\.utilisationFraction).max() ?? 0))
        }
        let exposed = stages.map { s in
            let total = s.exposedIngressPs + s.collectiveWaitPs
            return ExposedResult(
                stage: s.stage, member: s.member, ingressPs: s.exposedIngressPs, collectivePs: s.collectiveWaitPs,
                totalPs: total, fraction: Double(total) / span,
                stepFraction: total + s.busyPs > 0 ? Double(total) / Double(total + s.busyPs) : 0)
        }
        return NetworkResult(
            nodes: spec.nodes, fabric: spec.fabric.rawValue, placement: spec.stageNodes, linkClasses: classes,
            sharedLinks: shared, exposed: exposed,
            meanExposedFraction: exposed.isEmpty ? 0 : exposed.reduce(0) { $0 + $1.fraction } / Double(exposed.count),
            prefillWaitPs: scheduler.kvWaitPs)
    }

    private func classResult(
        _ linkClass: LinkClass, links: Int, high: [PortStats], kv: [PortStats], span: Double, peak: Picoseconds
    ) -> LinkClassResult {
        let busy = (high + kv).reduce(Int64(0)) { $0 + $1.busyPs }
        return LinkClassResult(
            linkClass: linkClass.rawValue, links: links, bytes: high.reduce(0) { $0 + $1.bytes },
            kvBytes: kv.reduce(0) { $0 + $1.bytes }, busyPs: busy,
            utilisationFraction: Double(busy) / (Double(links) * span), peakUtilisationFraction: Double(peak) / span)
    }

    private func allSharedLinks(_ spec: NetworkSpec) -> [SharedLink] {
        (0..<spec.nodes).flatMap { n -> [SharedLink] in
            [
                .uplinkOut(node: n), .uplinkIn(node: n), .nicOut(node: n), .nicIn(node: n),
                .ring(node: n, clockwise: true), .ring(node: n, clockwise: false),
            ]
        }
    }
}
