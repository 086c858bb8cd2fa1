import PIMModule

/// A link that more than one flow crosses: a node switch's uplink towards its NIC, a NIC, or a ring segment
/// between two nodes. Each direction is a link of its own.
public enum SharedLink: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Switch → NIC of `node` (traffic leaving the node).
    case uplinkOut(node: Int)
    /// NIC → switch of `node` (traffic entering the node).
    case uplinkIn(node: Int)
    /// `node`'s NIC towards the fabric switch.
    case nicOut(node: Int)
    /// `node`'s NIC from the fabric switch.
    case nicIn(node: Int)
    /// The ring segment from `node` to its clockwise (node + 1) or counter-clockwise (node − 1) neighbour.
    case ring(node: Int, clockwise: Bool)

    public var linkClass: LinkClass {
        switch self {
        case .uplinkOut, .uplinkIn: return .switchUplink
        case .nicOut, .nicIn, .ring: return .nic
        }
    }

    /// "node0.nic.out", "node2.ring.cw", …: its name in results and timelines.
    public var description: String {
        switch self {
        case .uplinkOut(let n): return "node\(n).uplink.out"
        case .uplinkIn(let n): return "node\(n).uplink.in"
        case .nicOut(let n): return "node\(n).nic.out"
        case .nicIn(let n): return "node\(n).nic.in"
        case .ring(let n, let cw): return "node\(n).ring.\(cw ? "cw" : "ccw")"
        }
    }
}

/// The kinds of link a run reports on (`network.link_classes` in results.json).
public enum LinkClass: String, Sendable, Codable, CaseIterable {
    /// A module's ports on its node's switch: pipeline in and out, tensor-parallel in and out.
    case modulePort = "module_port"
    /// The host's port on its node's switch.
    case hostPort = "host_port"
    /// A node switch's port towards its NIC.
    case switchUplink = "switch_uplink"
    /// A node's NIC (or, on a ring, its ring segments).
    case nic
}

/// One shared link on a route: which link, its rate, and the latency from entering it to entering the next
/// hop.
public struct SharedHop: Sendable, Hashable {
    public var link: SharedLink
    public var bytesPerSecond: Double
    public var latencyAfterPs: Picoseconds
}

/// Where a transfer starts or ends.
public enum Endpoint: Sendable, Hashable {
    case host
    /// A module, by pipeline stage and tensor-parallel member.
    case module(stage: Int, member: Int)
}

/// The routes of a topology's transfers over its network, and the rates of its ports. Every route starts at the
/// sender's port (a module's pipeline or TP port, or the host's port) and ends at the receiver's; between them it
/// crosses the switch (`nodeSwitch.latency`) and, between nodes, the sender node's uplink and NIC, the fabric, and
/// the receiver node's NIC and uplink (docs/MODEL.md, "Network"). Pure: the same value on every process.
public struct NetworkRoutes: Sendable {
    public let spec: NetworkSpec
    /// Modules per node.
    public let modulesPerNode: Int
    let tp: Int
    /// The rate of a module port, of the host's port and of an uplink, after an oversubscribed switch's share.
    public let modulePortRate: Double
    public let hostPortRate: Double
    public let uplinkRate: Double

    public init(spec: NetworkSpec, modules: Int, tp: Int) {
        self.spec = spec
        self.tp = tp
        modulesPerNode = modules / spec.nodes
        let s = spec.nodeSwitch
        // The host's node has the most port bandwidth; its share is the one every node's ports get (nodes are
        // alike but for the host's port, and an even share is what this model assumes).
        let total =
            2 * Double(modulesPerNode) * s.portBytesPerSecond + s.uplinkBytesPerSecond + s.hostPortBytesPerSecond
        modulePortRate = spec.portRate(s.portBytesPerSecond, totalPortBytesPerSecond: total)
        hostPortRate = spec.portRate(s.hostPortBytesPerSecond, totalPortBytesPerSecond: total)
        uplinkRate = spec.portRate(s.uplinkBytesPerSecond, totalPortBytesPerSecond: total)
    }

    public func node(of endpoint: Endpoint) -> Int {
        switch endpoint {
        case .host: return spec.hostNode
        case .module(let stage, let member):
            // A group larger than a node fills consecutive nodes from its stage's.
            return spec.stageNodes[stage] + (tp > modulesPerNode ? member / modulesPerNode : 0)
        }
    }

    /// The link of a module's port: its rate, and the switch's latency to the port on the other side.
    public var moduleLink: LinkSpec { LinkSpec(bytesPerSecond: modulePortRate, latencyPs: spec.nodeSwitch.latencyPs) }
    /// The host port's link, as `moduleLink`.
    public var hostLink: LinkSpec { LinkSpec(bytesPerSecond: hostPortRate, latencyPs: spec.nodeSwitch.latencyPs) }

    /// The shared links a transfer from `from` to `to` crosses, in order; empty inside a node.
    public func sharedHops(from: Endpoint, to: Endpoint) -> [SharedHop] {
        let a = node(of: from), b = node(of: to)
        guard a != b else { return [] }
        let nic = spec.nic
        var hops = [SharedHop(link: .uplinkOut(node: a), bytesPerSecond: uplinkRate, latencyAfterPs: 0)]
        switch spec.fabric {
        case .switch:
            hops.append(
                SharedHop(link: .nicOut(node: a), bytesPerSecond: nic.bytesPerSecond, latencyAfterPs: nic.latencyPs))
            hops.append(SharedHop(link: .nicIn(node: b), bytesPerSecond: nic.bytesPerSecond, latencyAfterPs: 0))
        case .ring:
            let n = spec.nodes
            let forward = (b - a + n) % n
            let clockwise = forward <= n - forward
            var at = a
            for _ in 0..<(clockwise ? forward : n - forward) {
                hops.append(
                    SharedHop(
                        link: .ring(node: at, clockwise: clockwise), bytesPerSecond: nic.bytesPerSecond,
                        latencyAfterPs: nic.latencyPs))
                at = (at + (clockwise ? 1 : n - 1)) % n
            }
        }
        // From the uplink through the receiving node's switch to the receiver's port.
        hops.append(
            SharedHop(link: .uplinkIn(node: b), bytesPerSecond: uplinkRate, latencyAfterPs: spec.nodeSwitch.latencyPs))
        return hops
    }

    /// The route of the activation a stage's member sends on (to its counterpart in the next stage, or from the
    /// last stage's member 0 to the host).
    public func forwardHops(stage: Int, member: Int, stages: Int) -> [SharedHop] {
        let to: Endpoint = stage == stages - 1 ? .host : .module(stage: stage + 1, member: member)
        return sharedHops(from: .module(stage: stage, member: member), to: to)
    }

    /// Every high-priority flow (activations, the host's injections, the return to the host) that crosses
    /// `link`, by owner: the stage whose group computes it (`nil`: the host). The model requires one owner per
    /// shared link (docs/MODEL.md, "Network": why); `problem` reports where that fails.
    public func owners(stages: Int) -> [SharedLink: Set<Int?>] {
        var owners: [SharedLink: Set<Int?>] = [:]
        func add(_ hops: [SharedHop], _ owner: Int?) {
            for h in hops { owners[h.link, default: []].insert(owner) }
        }
        for m in 0..<tp { add(sharedHops(from: .host, to: .module(stage: 0, member: m)), nil) }
        for s in 0..<stages {
            for m in 0..<(s == stages - 1 ? 1 : tp) { add(forwardHops(stage: s, member: m, stages: stages), s) }
        }
        return owners
    }

    /// Why this placement cannot be simulated (a message for `placement.stages`), or nil.
    public func problem(stages: Int) -> String? {
        for (link, who) in owners(stages: stages).sorted(by: { $0.key.description < $1.key.description })
        where who.count > 1 {
            let names = who.map { $0.map { "stage \($0)" } ?? "the host" }.sorted().joined(separator: " and ")
            return "\(names) would send activations over \(link) together; lolpim times each shared link from one "
                + "sender's side, so place the stages so that every uplink and NIC carries one stage's activations "
                + "(the default placement does: consecutive stages fill the nodes in order)"
        }
        return nil
    }
}

/// A process's copies of the shared links it times, by link.
extension Dictionary where Key == SharedLink, Value == Port {
    /// Passes `transit` over `hop`'s link (a link with no history at the hop's rate the first time it is used);
    /// returns it on its way to the next hop.
    mutating func pass(_ transit: Transit, over hop: SharedHop, bytes: Int64) -> Transit {
        self[hop.link, default: Port(link: LinkSpec(bytesPerSecond: hop.bytesPerSecond, latencyPs: 0))]
            .pass(transit, bytes: bytes, latencyAfter: hop.latencyAfterPs)
    }
}
