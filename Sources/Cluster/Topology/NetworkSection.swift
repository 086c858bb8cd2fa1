import PIMModule
import Pipeline
import Yams

/// The `network:` and `placement:` sections of a topology file (docs/TOPOLOGY.md, "Network").
extension TopologyLoader {
    /// Reads `network:` (nil when absent) and `placement:`, and checks that the stages fit the nodes and that the
    /// model can time every shared link (`NetworkRoutes.problem`).
    static func readNetwork(
        _ doc: inout YAMLMapping, modules: Int, parallelism: Topology.Parallelism
    ) throws -> NetworkSpec? {
        var placementMap = try doc.mapping("placement")
        guard var map = try doc.mapping("network") else {
            if placementMap != nil { throw doc.error("placement", "only means something with a network: section") }
            return nil
        }
        if doc.has("links") {
            throw doc.error(
                "links",
                "a topology with network: gives its ports there (network.switch.port_gbps, host_port_gbps, "
                    + "latency_ns); remove links:")
        }
        let nodes = try map.int("nodes", default: 1, within: TopologyLimits.nodes)
        let tp = parallelism.tp
        let hostNode = try map.int("host_node", default: 0, within: TopologyLimits.hostNode)
        guard hostNode < nodes else { throw map.error("host_node", "expected 0…\(nodes - 1), found \(hostNode)") }
        let nodeSwitch = try readSwitch(&map)
        let nic = try readNIC(&map)
        let fabricName = try map.string("fabric", default: "switch")
        guard let fabric = NetworkSpec.Fabric(rawValue: fabricName) else {
            throw map.error("fabric", "expected switch or ring, found '\(YAMLMapping.clip(fabricName))'")
        }
        try map.rejectUnknownKeys()

        let pp = parallelism.pp
        var stageNodes = NetworkSpec.defaultPlacement(stages: pp, tp: tp, nodes: nodes, modules: modules)
        if let node = placementMap?.node("stages"), let m = placementMap {
            guard case .sequence(let seq) = node, seq.count == pp else {
                throw m.error("stages", "expected a list of \(pp) node indices, one per pipeline stage")
            }
            stageNodes = try seq.map { item -> Int in
                guard case .scalar(let s) = item, let n = Int(s.string), (0..<nodes).contains(n) else {
                    throw TopologyError(
                        file: m.file, line: item.mark?.line, column: item.mark?.column, field: "placement.stages",
                        message: "expected a node index 0…\(nodes - 1), found \(item.kindName)")
                }
                return n
            }
        }
        try placementMap?.rejectUnknownKeys()
        let spec = NetworkSpec(
            nodes: nodes, hostNode: hostNode, nodeSwitch: nodeSwitch, nic: nic, fabric: fabric,
            stageNodes: stageNodes)
        if let (key, message) = spec.problem(modules: modules, tp: tp) {
            throw key == "nodes"
                ? map.error("nodes", message) : doc.error(placementMap == nil ? "network" : "placement", message)
        }
        return spec
    }

    private static func readSwitch(_ network: inout YAMLMapping) throws -> NetworkSpec.SwitchSpec {
        var spec = NetworkSpec.SwitchSpec.cxlDefault
        guard var map = try network.mapping("switch") else { return spec }
        func rate(_ key: String, _ value: inout Double) throws {
            if let gbps = try map.double(key, default: nil, within: TopologyLimits.linkBandwidth) { value = gbps * 1e9 }
        }
        try rate("port_gbps", &spec.portBytesPerSecond)
        try rate("host_port_gbps", &spec.hostPortBytesPerSecond)
        try rate("uplink_gbps", &spec.uplinkBytesPerSecond)
        if let ns = try map.double("latency_ns", default: nil, within: TopologyLimits.latency) {
            spec.latencyPs = Picoseconds((ns * 1000).rounded())
        }
        if let gbps = try map.double("capacity_gbps", default: nil, within: TopologyLimits.linkBandwidth) {
            spec.capacityBytesPerSecond = gbps * 1e9
        }
        try map.rejectUnknownKeys()
        return spec
    }

    private static func readNIC(_ network: inout YAMLMapping) throws -> LinkSpec {
        var spec = NetworkSpec.nicDefault
        guard var map = try network.mapping("nic") else { return spec }
        if let gbit = try map.double("bandwidth_gbit", default: nil, within: TopologyLimits.nicBandwidth) {
            spec.bytesPerSecond = gbit * 1e9 / 8
        }
        if let ns = try map.double("latency_ns", default: nil, within: TopologyLimits.latency) {
            spec.latencyPs = Picoseconds((ns * 1000).rounded())
        }
        try map.rejectUnknownKeys()
        return spec
    }
}
