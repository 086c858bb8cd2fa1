@testable import Cluster
import Foundation
import PIMModule
import Studies
@testable import Pipeline
import TestSupport
import Testing
import Workload

@Suite("Network: routes, cut-through timing, contention, placement")
struct NetworkTests {
    /// LLM-7B on `modules` modules at tp `tp` in `nodes` nodes; one request of 1,000 tokens, no host time, a NIC
    /// of `nicGbit` Gb/s with 2 µs, ports of 16 GB/s with 600 ns through the switch.
    static func yaml(modules: Int = 2, tp: Int = 1, nodes: Int = 2, nicGbit: Double = 8, extra: String = "") -> String {
        """
        name: net
        seed: 3
        model: llm-7b-32k
        cluster: {modules: \(modules)}
        network:
          nodes: \(nodes)
          switch: {port_gbps: 16, host_port_gbps: 64, uplink_gbps: 64, latency_ns: 600}
          nic: {bandwidth_gbit: \(nicGbit), latency_ns: 2000}
        \(extra)
        parallelism: {micro_batches: 1, tp: \(tp)}
        workload: {batch_size: 1, context: 1000, decode_steps: 1, host_intervention_ns: 0, prefill_kv: resident}
        host: {step_overhead_ns: 0, per_request_ns: 0}
        """
    }

    static let entry = [MicroBatchHeader.Entry(request: 0, context: 1000, flags: MicroBatchHeader.Entry.first)]

    /// Stage 0's group handles one micro-batch whose activation is at its ports at 0; returns the stage's
    /// outcomes, the activation's bytes and the plan.
    func stageZero(_ yaml: String) throws -> ([StageSimulator.Outcome], Int64, PipelinePlan) {
        let plan = try PipelinePlan(topology: TopologyLoader.parse(yaml: yaml, file: "net.yaml"))
        var group = TensorParallelGroup(plan: plan, stage: plan.stages[0])
        let bytes = Int64(plan.topology.model.activationBytesPerRequest)
        let ready = Transit(readyPs: 0, headPs: 0, tailPs: 0)
        let outcomes = try group.handle(
            transits: Array(repeating: ready, count: plan.stages[0].tp), entries: Self.entry, payloadBytes: bytes)
        return (outcomes, bytes, plan)
    }

    /// When the activation in `transit` has fully arrived at a module port of `plan`.
    func arrival(_ transit: Transit, bytes: Int64, plan: PipelinePlan) -> Picoseconds {
        var port = Port(link: plan.topology.links.module)
        return port.receive(transit, bytes: bytes)
    }

    @Test("between two nodes a transfer takes the route's latencies plus bytes over its slowest link (cut-through)")
    func closedFormRoute() throws {
        // NIC 8 Gb/s = 1 GB/s: the slowest link. Latencies: the switch (600 ns) on each side, the NIC pair (2 µs).
        let (outcomes, bytes, plan) = try stageZero(Self.yaml())
        let transit = try #require(outcomes[0].transit)
        let finish = outcomes[0].finish
        let expected = finish + 600_000 + 2_000_000 + 600_000 + Time.transfer(bytes: bytes, bytesPerSecond: 1e9)
        #expect(arrival(transit, bytes: bytes, plan: plan) == expected)
        // With a NIC faster than the ports, the module port (16 GB/s) bounds the transfer instead.
        let (fast, _, fastPlan) = try stageZero(Self.yaml(nicGbit: 800))
        let fastExpected =
            fast[0].finish + 3_200_000 + Time.transfer(bytes: bytes, bytesPerSecond: 16e9)
        #expect(arrival(try #require(fast[0].transit), bytes: bytes, plan: fastPlan) == fastExpected)
    }

    @Test("inside a node a transfer is today's link: the switch's latency and the port's rate")
    func insideANode() throws {
        let (outcomes, bytes, plan) = try stageZero(Self.yaml(nodes: 1))
        let transit = try #require(outcomes[0].transit)
        #expect(
            arrival(transit, bytes: bytes, plan: plan)
                == outcomes[0].finish + 600_000 + Time.transfer(bytes: bytes, bytesPerSecond: 16e9))
        #expect(plan.topology.links.module == LinkSpec(bytesPerSecond: 16e9, latencyPs: 600_000))
    }

    @Test("two flows on one NIC take twice as long as one")
    func contention() throws {
        // tp 1: one module of stage 0 sends over node 0's NIC. tp 2: both members of stage 0 send at once.
        let (one, bytes, plan1) = try stageZero(Self.yaml())
        let (two, _, plan2) = try stageZero(Self.yaml(modules: 4, tp: 2))
        let latency: Picoseconds = 3_200_000
        let single = arrival(try #require(one[0].transit), bytes: bytes, plan: plan1) - one[0].finish - latency
        #expect(two[0].finish == two[1].finish)
        let first = arrival(try #require(two[0].transit), bytes: bytes, plan: plan2) - two[0].finish - latency
        let second = arrival(try #require(two[1].transit), bytes: bytes, plan: plan2) - two[1].finish - latency
        #expect(first == single)
        #expect(second == 2 * single)
        // Every member times both flows on its own copy of the NIC: the copies agree.
        #expect(single == Time.transfer(bytes: bytes, bytesPerSecond: 1e9))
    }

    @Test("a ring takes the shorter way round, one segment per hop")
    func ringRoutes() throws {
        let spec = NetworkSpec(nodes: 4, fabric: .ring, stageNodes: [0, 1, 2, 3])
        let routes = NetworkRoutes(spec: spec, modules: 4, tp: 1)
        func links(_ a: Int, _ b: Int) -> [String] {
            routes.sharedHops(from: .module(stage: a, member: 0), to: .module(stage: b, member: 0)).map(
                \.link.description)
        }
        #expect(links(0, 1) == ["node0.uplink.out", "node0.ring.cw", "node1.uplink.in"])
        #expect(links(0, 3) == ["node0.uplink.out", "node0.ring.ccw", "node3.uplink.in"])
        #expect(links(0, 2) == ["node0.uplink.out", "node0.ring.cw", "node1.ring.cw", "node2.uplink.in"])
        #expect(links(2, 2).isEmpty)
    }

    @Test("an oversubscribed switch gives each port its even share of the capacity")
    func oversubscribed() throws {
        // 1 module per node: 2 module ports of 16 GB/s, an uplink and a host port of 64: 160 GB/s of ports, so
        // a capacity of 96 GB/s gives every port 96 / 160 = 0.6 of its rate.
        let yaml = Self.yaml().replacingOccurrences(of: "latency_ns: 600}", with: "latency_ns: 600, capacity_gbps: 96}")
        let topology = try TopologyLoader.parse(yaml: yaml, file: "net.yaml")
        #expect(topology.links.module.bytesPerSecond == 16e9 * 0.6)
        #expect(topology.links.host.bytesPerSecond == 64e9 * 0.6)
    }

    @Test("the default placement fills nodes with consecutive stages; placement: overrides it")
    func placement() throws {
        let base = Self.yaml(modules: 8, nodes: 2)
        let topology = try TopologyLoader.parse(yaml: base, file: "net.yaml")
        #expect(topology.network?.stageNodes == [0, 0, 0, 0, 1, 1, 1, 1])
        let custom = base.replacingOccurrences(
            of: "\nparallelism", with: "\nplacement: {stages: [0, 0, 0, 1, 1, 1, 1, 0]}\nparallelism")
        #expect(
            try TopologyLoader.parse(yaml: custom, file: "net.yaml").network?.stageNodes == [0, 0, 0, 1, 1, 1, 1, 0])
    }

    @Test("placements the model cannot time, and groups across nodes, are refused with the field")
    func refusedPlacements() throws {
        let base = Self.yaml(modules: 8, nodes: 2)
        // Stages 0 and 2 would both send over node 0's uplink and NIC.
        let shared = base.replacingOccurrences(
            of: "\nparallelism", with: "\nplacement: {stages: [0, 1, 0, 1, 0, 1, 0, 1]}\nparallelism")
        let error = try #require(parseError(shared))
        #expect(error.field == "placement")
        #expect(error.message.contains("would send activations over node0."))
        // A node holds 4 modules; five stages on node 0 do not fit.
        let full = base.replacingOccurrences(
            of: "\nparallelism", with: "\nplacement: {stages: [0, 0, 0, 0, 0, 1, 1, 1]}\nparallelism")
        #expect(parseError(full)?.message.contains("more than its 4 modules") == true)
        // A tensor-parallel group of 2 on nodes of 3 modules (a group of 4 on nodes of 2 fills both: allowed).
        #expect(parseError(Self.yaml(modules: 6, tp: 2, nodes: 2))?.field == "network.nodes")
        #expect(parseError(Self.yaml(modules: 4, tp: 4, nodes: 2)) == nil)
        // links: and network: both give the ports.
        let both = Self.yaml() + "\nlinks: {module: {bandwidth_gbps: 8}}"
        #expect(parseError(both)?.field == "links")
        #expect(parseError(Self.yaml(modules: 3, nodes: 2))?.field == "network.nodes")
    }

    @Test("exposed communication is the time a free module waited for an activation that was ready upstream")
    func exposed() throws {
        let outcome = try sequential(Self.yaml(nicGbit: 1))
        let second = try #require(outcome.stages.first { $0.stage == 1 })
        // One micro-batch: stage 1 is free from the start, so it waits the whole transfer from stage 0.
        let first = try #require(outcome.stages.first { $0.stage == 0 })
        let bytes = Int64(ModelConfig.presets["llm-7b-32k"]!.activationBytesPerRequest)
        #expect(
            second.exposedIngressPs
                == 3_200_000 + Time.transfer(bytes: bytes, bytesPerSecond: 0.125e9))
        #expect(first.sharedLinks["node0.nic.out"]?.bytes == bytes)
        let network = try #require(outcome.simulated.network)
        #expect(network.exposed.count == 2)
        let total = Double(second.exposedIngressPs + second.collectiveWaitPs)
        #expect(network.exposed[1].stepFraction == total / (total + Double(second.busyPs)))
        #expect(network.linkClasses.map(\.linkClass) == ["module_port", "host_port", "switch_uplink", "nic"])
        #expect(network.sharedLinks.contains { $0.name == "node1.nic.out" && $0.bytes == bytes })
    }

    // MARK: Collectives across nodes: 2 nodes × 2 modules, one group of 4

    /// Ports of 16 GB/s and 600 ns through each switch, a NIC of 1 GB/s with 2 µs: cross-node chunks are bounded
    /// by the NIC.
    static let twoByTwo = NetworkRoutes(
        spec: NetworkSpec(
            nodes: 2,
            nodeSwitch: .init(
                portBytesPerSecond: 16e9, hostPortBytesPerSecond: 64e9, uplinkBytesPerSecond: 64e9,
                latencyPs: 600_000),
            nic: LinkSpec(bytesPerSecond: 1e9, latencyPs: 2_000_000), stageNodes: [0]),
        modules: 4, tp: 4)

    /// One all-reduce of `bytes` on the 4 members, all starting at 0: every member's finish and the group's
    /// shared links afterwards.
    func allReduce(_ algorithm: CollectiveAlgorithm, bytes: Int64) -> ([Picoseconds], [SharedLink: Pipeline.Port]) {
        let layout = GroupLayout(network: Self.twoByTwo, stage: 0, tp: 4)
        var members = (0..<4).map {
            CollectivePorts(tp: 4, member: $0, link: Self.twoByTwo.moduleLink, algorithm: algorithm, layout: layout)
        }
        var shared: [SharedLink: Pipeline.Port] = [:]
        let finish = CollectivePorts.run(
            [.allReduce(bytes: bytes)], members: &members, start: [0, 0, 0, 0], shared: &shared)
        return (finish, shared)
    }

    static let s: Int64 = 64_000
    func local(_ bytes: Int64) -> Picoseconds { 600_000 + Time.transfer(bytes: bytes, bytesPerSecond: 16e9) }
    func cross(_ bytes: Int64) -> Picoseconds { 3_200_000 + Time.transfer(bytes: bytes, bytesPerSecond: 1e9) }

    @Test("hierarchical: reduce to the node's leader, all-reduce between leaders, broadcast (closed form)")
    func hierarchicalClosedForm() {
        let (finish, shared) = allReduce(.hierarchical, bytes: Self.s)
        let leaders = local(Self.s) + 2 * cross(Self.s / 2)
        #expect(finish == [leaders, leaders + local(Self.s), leaders, leaders + local(Self.s)])
        // Between the nodes only the leaders' halves travel: S / 2 each way in each of two phases.
        #expect(shared[.nicOut(node: 0)]?.bytes == Self.s)
        #expect(shared[.nicOut(node: 1)]?.bytes == Self.s)
        #expect(shared[.nicIn(node: 1)]?.bytes == Self.s)
    }

    @Test("ring across two nodes: 2 (tp − 1) steps, each sending one chunk over each NIC (closed form)")
    func ringClosedForm() {
        let (finish, shared) = allReduce(.ring, bytes: Self.s)
        // Every step, 1 → 2 and 3 → 0 cross the NICs; a chunk of S / 4 takes T = 16 µs on a 1 GB/s NIC, longer
        // than everything else in a step, so the NICs pace the ring: the k-th cross chunk leaves its NIC at
        // 600 ns + k T. Members 0 and 2 get the sixth 2.6 µs later; 1 and 3 get their last (local) chunk one
        // local hop after 0 and 2 got the fifth.
        let c = Self.s / 4
        let t = Time.transfer(bytes: c, bytesPerSecond: 1e9)
        let far = 3_200_000 + 6 * t, near = 3_200_000 + 5 * t + local(c)
        #expect(finish == [far, near, far, near])
        #expect(shared[.nicOut(node: 0)]?.bytes == 6 * c)
        #expect(shared[.nicOut(node: 1)]?.bytes == 6 * c)
    }

    @Test("direct across two nodes: four chunks per phase serialise on each NIC (closed-form bounds)")
    func directBounds() {
        let (finish, shared) = allReduce(.direct, bytes: Self.s)
        let c = Self.s / 4
        let nic = Time.transfer(bytes: c, bytesPerSecond: 1e9)
        // Each phase, both members of a node send both members of the other node a chunk: 4 on each NIC.
        #expect(shared[.nicOut(node: 0)]?.bytes == 8 * c)
        #expect(shared[.nicOut(node: 0)]?.busy == 8 * nic)
        // The last of a NIC's 8 chunks arrives after them all and the route's latencies; no phase takes longer
        // than its 4 chunks on the NIC, its latencies and 3 chunks on a port.
        #expect(finish.max()! >= 3_200_000 + 8 * nic)
        for f in finish {
            #expect(f <= 2 * (3_200_000 + 4 * nic + 3 * Time.transfer(bytes: c, bytesPerSecond: 16e9)))
        }
        // Hierarchical sends S over each NIC, direct 2 S, the ring 1.5 S.
        #expect(allReduce(.hierarchical, bytes: Self.s).1[.nicOut(node: 0)]!.bytes * 2 == 8 * c)
    }

    @Test("a group across nodes: the two-phase protocol gives what the group in lock step gives")
    func groupAcrossNodesReplays() throws {
        let yaml = Self.yaml(modules: 4, tp: 4, nodes: 2).replacingOccurrences(
            of: "tp: 4}", with: "tp: 4, collective: hierarchical}")
        let plan = try PipelinePlan(topology: TopologyLoader.parse(yaml: yaml, file: "net.yaml"))
        var group = TensorParallelGroup(plan: plan, stage: plan.stages[0])
        var lockStep = LockStepGroup(plan: plan, stage: plan.stages[0])
        let bytes = Int64(plan.topology.model.activationBytesPerRequest)
        for step in 0..<2 {
            let batch = step == 0 ? Self.entry : [MicroBatchHeader.Entry(request: 0, context: 1001)]
            let at = Transit(readyPs: 0, headPs: Picoseconds(step) * 50_000_000, tailPs: Picoseconds(step) * 50_000_000)
            let transits = Array(repeating: at, count: 4)
            let outcomes = try group.handle(transits: transits, entries: batch, payloadBytes: bytes)
            let expected = try lockStep.handle(transits: transits, entries: batch, payloadBytes: bytes)
            #expect(outcomes == expected)
            for m in 0..<4 {
                #expect(group.members[m].collective.shared == lockStep.members[m].collective.shared)
            }
        }
        #expect(group.members[0].collective.shared[.nicOut(node: 0)]?.bytes ?? 0 > 0)
    }

    @Test("prompt KV crosses the host port, the NICs and the module ports, and shows on the shared links' tracks")
    func promptKV() throws {
        let topology = try TopologyLoader.parse(yaml: Self.yaml(), file: "net.yaml")
        var host = HostModel(topology: topology)
        host.timeline = []
        // 1 MB to each of the two modules: module 0 on the host's node, module 1 behind the 1 GB/s NICs.
        let done = host.transferKV(ready: 0, bytes: [1_000_000, 1_000_000])
        // Module 1's share leaves the host's port (64 GB/s) after module 0's, then the NICs bound it.
        let hostPort = Time.transfer(bytes: 1_000_000, bytesPerSecond: 64e9)
        #expect(done == hostPort + 3_200_000 + Time.transfer(bytes: 1_000_000, bytesPerSecond: 1e9))
        #expect(host.kvShared[.nicOut(node: 0)]?.bytes == 1_000_000)
        #expect(host.kvHostPort.bytes == 2_000_000)
        #expect(host.shared.isEmpty)
        let tracks = Set((host.timeline ?? []).map(\.track))
        #expect(
            tracks == [
                "node0.uplink.out prompt KV", "node0.nic.out prompt KV", "node1.nic.in prompt KV",
                "node1.uplink.in prompt KV",
            ])
    }

    @Test("the host reaches each member of a group that spans nodes over that member's own route")
    func injectionAcrossNodes() throws {
        var host = HostModel(topology: try TopologyLoader.parse(yaml: Self.yaml(modules: 4, tp: 4), file: "net.yaml"))
        let near = host.inject(ready: 0, payloadBytes: 8192, member: 0)
        let far = host.inject(ready: 0, payloadBytes: 8192, member: 2)
        #expect(host.shared[.nicOut(node: 0)]?.bytes == 8192)
        // Member 2 is on node 1: its first bit crosses the NIC pair (2 µs) and node 1's switch (600 ns) besides.
        #expect(far.headPs - near.headPs == Time.transfer(bytes: 8192, bytesPerSecond: 64e9) + 2_600_000)
    }

    @Test("the planner applies the network's rules to every split, with the default placement")
    func plannerSplits() throws {
        let topology = try TopologyLoader.parse(yaml: Self.yaml(modules: 12, nodes: 2), file: "net.yaml")
        let candidates = ParallelismPlanner.candidates(for: topology)
        let tp4 = try #require(candidates.first { $0.tp == 4 })
        #expect(tp4.problem?.contains("network: a node holds 6 modules") == true)
        #expect(candidates.first { $0.tp == 2 }?.isValid == true)
        #expect(ParallelismPlanner.split(topology, tp: 2).network?.stageNodes == [0, 0, 0, 1, 1, 1])
    }

    @Test("a link two senders time (activations into a group's nodes, the group's own chunks) reports their sum")
    func sharedLinkTotals() throws {
        // tp 4 × pp 2 on 4 nodes of 2: stage 0 on nodes 0–1, stage 1 on nodes 2–3, the host on node 2.
        let yaml = Self.yaml(modules: 8, tp: 4, nodes: 4).replacingOccurrences(
            of: "  nodes: 4\n", with: "  nodes: 4\n  host_node: 2\n")
        let outcome = try sequential(yaml)
        let network = try #require(outcome.simulated.network)
        func reported(_ stage: Int, _ name: String) -> Int64 {
            outcome.stages.first { $0.stage == stage && $0.member == 0 }?.sharedLinks[name]?.bytes ?? 0
        }
        let into2 = try #require(network.sharedLinks.first { $0.name == "node2.nic.in" })
        #expect(reported(0, "node2.nic.in") > 0 && reported(1, "node2.nic.in") > 0)
        #expect(into2.bytes == reported(0, "node2.nic.in") + reported(1, "node2.nic.in"))
    }

    @Test("without network: the simulated results have no network section")
    func absent() throws {
        #expect(try sequential(determinismTopology).simulated.network == nil)
    }
}
