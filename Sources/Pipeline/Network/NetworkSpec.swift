import PIMModule

/// The nodes, switches and network of a topology (`network:`; docs/TOPOLOGY.md, "Network"). Without it every
/// module has private links (`Topology.links`). With it the modules sit in `nodes` nodes, each behind a switch
/// that the node's modules, its NIC and (on `hostNode`) the host are attached to, and the nodes are joined by a
/// network (`fabric`). Every transfer then crosses the links of its route (`NetworkRoutes`); the model and its
/// rules are in docs/MODEL.md, "Network".
public struct NetworkSpec: Sendable, Codable, Equatable {
    /// Number of nodes; the modules fill them evenly (`cluster.modules / nodes` each).
    public var nodes: Int
    /// The node whose switch the host's port is on.
    public var hostNode: Int
    public var nodeSwitch: SwitchSpec
    /// Each node's network interface, each direction: its bandwidth and the one-way latency from the switch
    /// side of one NIC to the switch side of the next node's NIC (NIC, cable, and one fabric switch or ring hop).
    public var nic: LinkSpec
    public var fabric: Fabric
    /// The node of each pipeline stage (`placement.stages`), stage order.
    public var stageNodes: [Int]

    /// How the nodes are joined.
    public enum Fabric: String, Sendable, Codable, CaseIterable {
        /// One non-blocking switch: node a reaches node b over a's NIC egress and b's NIC ingress.
        case `switch`
        /// A bidirectional ring: node i is cabled to i − 1 and i + 1 (mod nodes); a transfer takes the shorter way
        /// (clockwise on a tie) and crosses one ring segment per hop, each with the NIC's bandwidth and latency.
        case ring
    }

    /// A node's switch (CXL 3.0 by default, docs/REFERENCE.md §4.6).
    public struct SwitchSpec: Sendable, Codable, Equatable {
        /// Each module's ports (pipeline and tensor-parallel), bytes per second per direction.
        public var portBytesPerSecond: Double
        /// The host's port, bytes per second per direction.
        public var hostPortBytesPerSecond: Double
        /// The port towards the node's NIC, bytes per second per direction.
        public var uplinkBytesPerSecond: Double
        /// One way from one port to another through the switch, picoseconds.
        public var latencyPs: Picoseconds
        /// What the switch forwards at once, bytes per second; nil: non-blocking (every port at full rate).
        public var capacityBytesPerSecond: Double?

        public init(
            portBytesPerSecond: Double, hostPortBytesPerSecond: Double, uplinkBytesPerSecond: Double,
            latencyPs: Picoseconds, capacityBytesPerSecond: Double? = nil
        ) {
            self.portBytesPerSecond = portBytesPerSecond
            self.hostPortBytesPerSecond = hostPortBytesPerSecond
            self.uplinkBytesPerSecond = uplinkBytesPerSecond
            self.latencyPs = latencyPs
            self.capacityBytesPerSecond = capacityBytesPerSecond
        }

        /// CXL 3.0 as CENT builds it (docs/REFERENCE.md §4.6): x4 device ports of PCIe Gen5 (16 GB/s), an x16 host
        /// port and an x16 port towards the NIC (63 GB/s: 16 lanes × 32 GT/s × 128/130 / 8), 600 ns through the
        /// switch (an assumption, as `LinkSpec.cxlDefault`), non-blocking.
        public static let cxlDefault = SwitchSpec(
            portBytesPerSecond: 16e9, hostPortBytesPerSecond: 63e9, uplinkBytesPerSecond: 63e9, latencyPs: 600_000)
    }

    /// 400 Gb/s Ethernet (50 GB/s per direction) with 2 µs one way between the switch sides of two NICs (an
    /// assumption: docs/REFERENCE.md §4.7).
    public static let nicDefault = LinkSpec(bytesPerSecond: 50e9, latencyPs: 2_000_000)

    public init(
        nodes: Int, hostNode: Int = 0, nodeSwitch: SwitchSpec = .cxlDefault, nic: LinkSpec = Self.nicDefault,
        fabric: Fabric = .switch, stageNodes: [Int]
    ) {
        self.nodes = nodes
        self.hostNode = hostNode
        self.nodeSwitch = nodeSwitch
        self.nic = nic
        self.fabric = fabric
        self.stageNodes = stageNodes
    }

    /// The default placement: consecutive stages fill the nodes in order, each node taking the stages whose
    /// modules (tp each) fit in its `modulesPerNode`; stages that straddle a node go to the node of their first
    /// module.
    public static func defaultPlacement(stages: Int, tp: Int, nodes: Int, modules: Int) -> [Int] {
        let perNode = max(1, modules / max(nodes, 1))
        return (0..<stages).map { min(nodes - 1, ($0 * tp) / perNode) }
    }

    /// Why this network cannot hold its pipeline (`stageNodes.count` stages of `tp` modules, `modules` in all), with
    /// the key it concerns (`nodes`, or `placement` for where the stages go), or nil. The loader and the
    /// parallelism planner both ask.
    public func problem(modules: Int, tp: Int) -> (key: String, message: String)? {
        guard modules % nodes == 0 else {
            return (
                "nodes", "\(nodes) nodes do not divide cluster.modules (\(modules)): nodes hold as many modules each"
            )
        }
        let perNode = modules / nodes
        guard perNode % tp == 0 || tp % perNode == 0 else {
            return (
                "nodes",
                "a node holds \(perNode) modules: a tensor-parallel group of \(tp) must fill whole nodes or fit a "
                    + "whole number of times in one"
            )
        }
        // A stage takes min(tp, perNode) modules on each of its nodes, from its own on (a group larger than a node
        // fills whole consecutive nodes).
        let span = max(1, tp / perNode)
        var used = [Int](repeating: 0, count: nodes)
        for (stage, first) in stageNodes.enumerated() {
            guard first + span <= nodes else {
                return ("placement", "stage \(stage)'s group of \(tp) needs nodes \(first)…\(first + span - 1)")
            }
            for n in first..<(first + span) {
                used[n] += min(tp, perNode)
                if used[n] > perNode {
                    return (
                        "placement",
                        "node \(n) would hold \(used[n]) modules of stages on it, more than its \(perNode) modules"
                    )
                }
            }
        }
        return NetworkRoutes(spec: self, modules: modules, tp: tp).problem(stages: stageNodes.count).map {
            ("placement", $0)
        }
    }

    /// The rate a port of `bytesPerSecond` gets on a switch whose ports add up to `total` bytes per second: its
    /// full rate on a non-blocking switch; on an oversubscribed one (capacity < total), its even share of the
    /// capacity, capacity × rate / total, as if every port were busy.
    public func portRate(_ bytesPerSecond: Double, totalPortBytesPerSecond total: Double) -> Double {
        guard let capacity = nodeSwitch.capacityBytesPerSecond, capacity < total else { return bytesPerSecond }
        return bytesPerSecond * capacity / total
    }
}
