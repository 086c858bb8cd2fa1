@testable import Cluster
import Foundation
import PIMModule
@testable import Pipeline
@testable import Studies
import TestSupport
import Testing
import Workload

@Suite("Tensor parallelism: collectives, planner, topologies")
struct TensorParallelTests {
    /// `tensorParallelTopology` on `tp` modules at tp = `tp`, with the all-reduce algorithm `collective` (nil:
    /// the key left out, so the default).
    static func yaml(tp: Int, collective: String?) -> String {
        let yaml = tensorParallelTopology(modules: tp, tp: tp)
        guard let collective else { return yaml }
        return yaml.replacingOccurrences(of: "tp: \(tp)}", with: "tp: \(tp), collective: \(collective)}")
    }

    /// Two requests of 1,000 tokens on their first step.
    static let entries = (0..<2).map {
        MicroBatchHeader.Entry(request: UInt32($0), context: 1000, flags: MicroBatchHeader.Entry.first)
    }

    /// One micro-batch of `entries` through a one-stage group, every member's activation arriving at 0.
    func oneMicroBatch(
        tp: Int, collective: String?
    ) throws
        -> (Topology, TensorParallelGroup, [StageSimulator.Outcome], Int64)
    {
        let topology = try TopologyLoader.parse(yaml: Self.yaml(tp: tp, collective: collective), file: "tp.yaml")
        let plan = try PipelinePlan(topology: topology)
        var group = TensorParallelGroup(plan: plan, stage: plan.stages[0])
        let bytes = Int64(2 * topology.model.activationBytesPerRequest)
        let outcomes = try group.handle(
            departs: Array(repeating: 0, count: tp), entries: Self.entries, payloadBytes: bytes)
        return (topology, group, outcomes, bytes)
    }

    @Test(
        "an all-reduce takes 2 × (latency + (tp − 1) × transfer(⌈S / tp⌉)) and sends 2 (tp − 1) chunks per member",
        arguments: [2, 4, 8])
    func allReduceClosedForm(tp: Int) throws {
        let (topology, group, outcomes, bytes) = try oneMicroBatch(tp: tp, collective: nil)

        let link = topology.links.tp
        let chunk = (bytes + Int64(tp) - 1) / Int64(tp)
        let allReduce = 2 * (link.latencyPs + Int64(tp - 1) * link.transferTime(bytes: chunk))
        let layers = Int64(topology.model.layers)
        let compute = group.members[0].segments(contexts: [1000, 1000], payloadBytes: bytes).0.total
        // The gather of the LM head's candidates (8 B per request) from every member to member 0.
        let gather = link.latencyPs + Int64(tp - 1) * link.transferTime(bytes: 2 * StageSimulator.gatherBytesPerRequest)
        let start = outcomes[0].start
        #expect(outcomes.allSatisfy { $0.start == start })
        #expect(outcomes[0].finish == start + compute + 2 * layers * allReduce + gather)
        for m in 1..<tp { #expect(outcomes[m].finish == start + compute + 2 * layers * allReduce) }
        // Traffic: every member sends 2 (tp − 1) chunks per all-reduce; members ≠ 0 also send their candidates.
        let stats = group.stats
        #expect(stats[0].tpEgress.bytes == 2 * layers * 2 * Int64(tp - 1) * chunk)
        #expect(
            stats[1].tpEgress.bytes == 2 * layers * 2 * Int64(tp - 1) * chunk + 2 * StageSimulator.gatherBytesPerRequest
        )
        #expect(outcomes[0].depart != nil && outcomes[1].depart == nil)
    }

    @Test(
        "a ring all-reduce takes 2 (tp − 1) × (latency + transfer(⌈S / tp⌉)), each member sending only to the next",
        arguments: [2, 4, 8])
    func ringAllReduceClosedForm(tp: Int) throws {
        let (topology, group, outcomes, bytes) = try oneMicroBatch(tp: tp, collective: "ring")
        #expect(topology.parallelism.collective == .ring)

        let link = topology.links.tp
        let chunk = (bytes + Int64(tp) - 1) / Int64(tp)
        let allReduce = 2 * Int64(tp - 1) * (link.latencyPs + link.transferTime(bytes: chunk))
        let layers = Int64(topology.model.layers)
        let compute = group.members[0].segments(contexts: [1000, 1000], payloadBytes: bytes).0.total
        let gather = link.latencyPs + Int64(tp - 1) * link.transferTime(bytes: 2 * StageSimulator.gatherBytesPerRequest)
        let start = outcomes[0].start
        #expect(outcomes[0].finish == start + compute + 2 * layers * allReduce + gather)
        for m in 1..<tp { #expect(outcomes[m].finish == start + compute + 2 * layers * allReduce) }
        // The same bytes per member as the direct algorithm, all of them to the next member.
        let stats = group.stats
        #expect(stats[0].tpEgress.bytes == 2 * layers * 2 * Int64(tp - 1) * chunk)
        let ports = group.members[0].collective
        let segments: [StageSimulator.Segment] = [.allReduce(bytes: bytes)]
        #expect(ports.chunks(from: 0, to: 1 % tp, in: segments) == (2 * (tp - 1), 2 * Int64(tp - 1) * chunk))
        if tp > 2 { #expect(ports.chunks(from: 0, to: 2, in: segments) == (0, 0)) }
        #expect(
            parseError(Self.yaml(tp: tp, collective: "tree"))?.message
                == "expected direct, ring or hierarchical, found 'tree'")
    }

    @Test(
        "the two-phase protocol (offers carried between members) gives what the group in lock step gives",
        arguments: ["direct", "ring"])
    func memberReplays(algorithm: String) throws {
        let plan = try PipelinePlan(
            topology: TopologyLoader.parse(yaml: Self.yaml(tp: 4, collective: algorithm), file: "tp.yaml"))
        let entries = Self.entries
        let bytes = Int64(2 * plan.topology.model.activationBytesPerRequest)
        var group = TensorParallelGroup(plan: plan, stage: plan.stages[0])
        var lockStep = LockStepGroup(plan: plan, stage: plan.stages[0])
        // Two micro-batches, the members starting at different times, so the second depends on the first's ports.
        for (step, departs) in [[0, 5_000, 10_000, 15_000], [40_000_000, 40_000_000, 40_000_000, 40_000_000]]
            .enumerated()
        {
            let batch = step == 0 ? entries : entries.map { MicroBatchHeader.Entry(request: $0.request, context: 1001) }
            let transits = departs.indices.map {
                group.members[$0].transit(departedAt: Picoseconds(departs[$0]), bytes: bytes)
            }
            let outcomes = try group.handle(transits: transits, entries: batch, payloadBytes: bytes)
            let expected = try lockStep.handle(transits: transits, entries: batch, payloadBytes: bytes)
            for m in 0..<4 {
                #expect(outcomes[m] == expected[m], "member \(m), micro-batch \(step)")
                #expect(group.members[m].collective == lockStep.members[m].collective)
            }
        }
    }

    @Test("stage costs are shared by the simulators of one topology in a process, never across topologies")
    func stageCostsPerTopology() throws {
        let topology = try TopologyLoader.parse(yaml: Self.yaml(tp: 2, collective: nil), file: "tp.yaml")
        var other = topology
        other.workload.requests += 1
        let costs = StageCosts()
        #expect(costs.computations(for: topology) === costs.computations(for: topology))
        #expect(costs.computations(for: topology) !== costs.computations(for: other))
        // The two members of a group in one process: the second takes the first's costs, which are its own.
        let plan = try PipelinePlan(topology: topology)
        let caches = ProcessCaches()
        var first = StageSimulator(plan: plan, stage: plan.stages[0], member: 0, caches: caches)
        var second = StageSimulator(plan: plan, stage: plan.stages[0], member: 1, caches: caches)
        let bytes = Int64(2 * topology.model.activationBytesPerRequest)
        let transit = first.transit(departedAt: 0, bytes: bytes)
        let a = first.prepare(transit, contexts: [1000, 1200], payloadBytes: bytes).work
        let b = second.prepare(transit, contexts: [1000, 1200], payloadBytes: bytes).work
        let alone = second.segments(contexts: [1000, 1200], payloadBytes: bytes)
        #expect(a.segments == b.segments && b.segments == alone.1 && b.cost == alone.0)
        #expect(first.stageCosts === second.stageCosts)
    }

    @Test("an offer that does not fit the micro-batch is refused, naming the member")
    func wrongOffers() throws {
        let plan = try PipelinePlan(
            topology: TopologyLoader.parse(yaml: Self.yaml(tp: 2, collective: nil), file: "tp.yaml"))
        let bytes = Int64(2 * plan.topology.model.activationBytesPerRequest)
        var members = (0..<2).map { StageSimulator(plan: plan, stage: plan.stages[0], member: $0) }
        let at = members[0].transit(departedAt: 0, bytes: bytes)
        let a = try members[0].prepare(at, entries: Self.entries, payloadBytes: bytes)
        let b = try members[1].prepare(at, entries: Self.entries, payloadBytes: bytes)
        #expect(throws: StageSimulator.OfferError.missing(members: [1])) {
            try members[0].complete(a, received: [nil, nil])
        }
        var wrong = b.offers[0]!
        wrong.chunks += 1
        #expect(throws: StageSimulator.OfferError.self) { try members[0].complete(a, received: [nil, wrong]) }
        let fine = try members[0].complete(a, received: [nil, b.offers[0]])
        #expect(fine.finish > fine.start)
    }

    @Test("a member holds 1/tp of each layer's heads, FFN and KV; norms stay whole")
    func sharding() throws {
        let model = ModelConfig.presets["llm-72b-128k-gqa"]!
        let shard = model.sharded(tp: 4)
        #expect(shard.queryHeads == 16 && shard.kvHeads == 2 && shard.ffn == 7168 && shard.hidden == 8192)
        #expect(shard.kvBytesPerTokenPerLayer * 4 == model.kvBytesPerTokenPerLayer)
        #expect((shard.weightBytesPerLayer - 2 * 8192 * 2) * 4 == model.weightBytesPerLayer - 2 * 8192 * 2)
        #expect(model.tensorParallelProblems(tp: 16) == ["kv_heads (8) is not a multiple of tp (16)"])
        #expect(model.tensorParallelProblems(tp: 8).isEmpty)
    }

    @Test("tp and pp in topology files: located errors for splits that cannot work")
    func topologyErrors() {
        func error(_ parallelism: String, modules: Int = 4) -> String? {
            let yaml = tensorParallelTopology(modules: modules, tp: 1)
                .replacingOccurrences(of: "parallelism: {micro_batches: 1, tp: 1}", with: "parallelism: \(parallelism)")
            return parseError(yaml).map { "\($0.field): \($0.message)" }
        }
        #expect(
            error("{tp: 3}")
                == "parallelism.tp: 3 does not divide cluster.modules (4); tp × pp must equal the modules")
        #expect(error("{tp: 16}", modules: 16) == "parallelism.tp: kv_heads (8) is not a multiple of tp (16)")
        #expect(error("{tp: 2, pp: 4}") == "parallelism.pp: must equal cluster.modules / tp = 4 / 2 = 2")
        #expect(
            error("{tp: 2, layers_per_stage: [10, 10, 12]}")?.hasPrefix(
                "parallelism.layers_per_stage: expected 2 entries") == true)
        #expect(error("{tp: 2, pp: 2, layers_per_stage: [16, 16]}") == nil)
    }

    @Test(
        "the planner never proposes a split that cannot run, and names why the others cannot",
        arguments: ModelConfig.presetNames)
    func planner(model: String) throws {
        var checked = 0
        for modules in [1, 2, 3, 4, 6, 8, 12, 16, 32] {
            let yaml = tensorParallelTopology(modules: 32, tp: 1).replacingOccurrences(
                of: "llm-7b-128k-gqa", with: model
            )
            .replacingOccurrences(of: "cluster: {modules: 32}", with: "cluster: {modules: \(modules)}")
            // A size at which the model does not fit at all is skipped.
            guard let base = try? TopologyLoader.parse(yaml: yaml, file: "p.yaml") else { continue }
            checked += 1
            let candidates = ParallelismPlanner.candidates(for: base)
            #expect(candidates.map { $0.tp * $0.pp } == Array(repeating: modules, count: candidates.count))
            for c in candidates {
                let split = ParallelismPlanner.split(base, tp: c.tp)
                let works =
                    base.model.tensorParallelProblems(tp: c.tp).isEmpty && (try? PipelinePlan(topology: split)) != nil
                #expect(works == c.isValid, "\(model) on \(modules): tp \(c.tp) \(c.problem ?? "valid")")
                if c.isValid {
                    #expect(
                        split.parallelism.pp == c.pp
                            && split.parallelism.layersPerStage.reduce(0, +) == base.model.layers)
                    #expect(
                        base.model.queryHeads % c.tp == 0 && base.model.kvHeads % c.tp == 0
                            && base.model.ffn % c.tp == 0)
                }
            }
        }
        // Even the 72B models fit the larger clusters: the loop did check something.
        #expect(checked >= 2)
    }
}
