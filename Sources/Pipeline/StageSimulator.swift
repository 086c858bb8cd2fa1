import PIMModule
import Workload

/// The timing of one module of a pipeline stage, pure and deterministic: a micro-batch arrives over the
/// ingress port, waits for the module to be free, runs the module's share of the stage's layers, and leaves
/// over the egress port. Micro-batches are handled in the order they arrive (FIFO on one link keeps this
/// causal in a linear pipeline: arrivals from one upstream are in time order).
///
/// With tensor parallelism (tp > 1) the stage is a group of tp modules, this one member `member`: each
/// layer is compute (norm … O projection), an all-reduce of the partial sums, compute (residual, norm, FFN),
/// another all-reduce; the last stage ends with the LM head and a gather of each member's best candidates to
/// member 0. The driver (a worker process, or `TensorParallelGroup` in one thread) runs the `Segment`s of
/// `begin`'s `Work` over the group (`CollectivePorts.run`), then calls `finish`.
public struct StageSimulator: Sendable {
    public let plan: StagePlan
    /// This module's index in the stage's tensor-parallel group.
    public let member: Int
    let step: DecodeStep
    let costModel: any OpCostModel
    /// The module's NPU (xPU+PIM modules), whose sub-batches interleave with the PIM channels.
    let npu: NPUSpec?
    public private(set) var ingress: Port
    public private(set) var egress: Port
    /// The module's ports towards and from the other members of its group.
    public internal(set) var collective: CollectivePorts
    public private(set) var stats: StageStats

    private var moduleFreeAt: Picoseconds = 0
    /// This module's KV allocator for its share of the layers (static or DPA).
    public private(set) var allocator: any KVAllocator
    /// Timeline events, when recording (`lolpim run --trace`).
    public var timeline: [TimelineEvent]?
    /// Channel-group tracks in the timeline: the module's channels in this many contiguous groups (at most
    /// one per channel), each a track whose spans show how long the group's busiest channel works inside
    /// each op. 0: none.
    public var channelGroups = 0

    /// Bytes per request of the gathered LM-head result: a token id and its logit (4 B each).
    public static let gatherBytesPerRequest: Int64 = 8

    /// - Parameter store: where command-level kernel timings are looked up first (nil: simulated here).
    public init(plan pipeline: PipelinePlan, stage: StagePlan, member: Int = 0, store: (any KernelTimingStore)? = nil) {
        let topology = pipeline.topology
        allocator = pipeline.allocator(stage: stage.index)
        plan = stage
        self.member = member
        step = DecodeStep(model: pipeline.shard)
        costModel = topology.fidelity.costModel(
            module: topology.cluster.module, workload: topology.workload,
            store: store)
        npu = topology.cluster.module.npu
        let isFirst = stage.index == 0
        let isLast = stage.index == topology.stages - 1
        isLastStage = isLast
        ingress = Port(link: isFirst ? topology.links.host : topology.links.module)
        egress = Port(link: isLast ? topology.links.host : topology.links.module)
        collective = CollectivePorts(
            tp: stage.tp, member: member, link: topology.links.tp, algorithm: topology.parallelism.collective)
        stats = StageStats(stage: stage, member: member)
    }

    /// One piece of a micro-batch's work on this module.
    public enum Segment: Sendable, Hashable {
        /// The module computes for this long.
        case compute(Picoseconds)
        /// All-reduce of `bytes` of partial sums over the group: reduce-scatter then all-gather, each member
        /// sending chunks of bytes / tp to every other member in each phase.
        case allReduce(bytes: Int64)
        /// Every member sends `bytes` to member 0 (one phase).
        case gather(bytes: Int64)
    }

    /// A micro-batch's work on this module, from `begin`.
    public struct Work: Sendable {
        public var arrival: Picoseconds
        public var start: Picoseconds
        public var cost: StageCost
        public var segments: [Segment]
        public var payloadBytes: Int64
        public var requests: Int
        public var slot: Int
        public var injection: Int
        var events: [AllocationEventKind]
    }

    /// Result of handling one micro-batch.
    public struct Outcome: Sendable, Equatable {
        public var arrival: Picoseconds
        public var start: Picoseconds
        public var finish: Picoseconds
        /// When the activation leaves towards the next stage (or the host); nil for the members of the last
        /// stage other than 0, which send nothing on.
        public var depart: Picoseconds?
    }

    /// Whether this module sends the micro-batch on: every member to its counterpart in the next stage, only
    /// member 0 from the last stage to the host.
    public var forwards: Bool { member == 0 || !isLastStage }
    private let isLastStage: Bool

    /// Receives a micro-batch that left the previous stage (or the host) at `depart` with an activation of
    /// `payloadBytes`, does its KV bookkeeping (requests on their first step get their prompt's KV; every
    /// request's KV grows to its context), and returns the work to run.
    public mutating func begin(
        depart upstreamDepart: Picoseconds, entries: [MicroBatchHeader.Entry], payloadBytes: Int64,
        slot: Int = 0, injection: Int = 0
    ) throws -> Work {
        var events: [AllocationEventKind] = []
        for e in entries {
            let request = Int(e.request), context = Int(e.context)
            if e.isFirst {
                events += try allocator.admit(request: request, prompt: context - 1, finalTokens: context - 1)
            }
            events += try allocator.grow(request: request, to: context)
        }
        stats.count(events)
        stats.observe(allocator)
        var work = begin(
            depart: upstreamDepart, contexts: entries.map { Int($0.context) }, payloadBytes: payloadBytes,
            slot: slot, injection: injection)
        work.events = events
        return work
    }

    /// As `begin`, without KV bookkeeping.
    public mutating func begin(
        depart upstreamDepart: Picoseconds, contexts: [Int], payloadBytes: Int64,
        slot: Int = 0, injection: Int = 0
    ) -> Work {
        let arrival = ingress.receive(depart: upstreamDepart, bytes: payloadBytes)
        let start = max(arrival, moduleFreeAt)
        let (cost, segments) = self.segments(contexts: contexts, payloadBytes: payloadBytes)
        return Work(
            arrival: arrival, start: start, cost: cost, segments: segments, payloadBytes: payloadBytes,
            requests: contexts.count, slot: slot, injection: injection, events: [])
    }

    /// The stage cost and the segments of a micro-batch with these contexts.
    func segments(contexts: [Int], payloadBytes: Int64) -> (StageCost, [Segment]) {
        var cost = StageCost()
        guard !contexts.isEmpty else { return (cost, []) }
        let all = step.stageOps(contexts: contexts, layers: plan.layers, lmHead: plan.includesLMHead)
        let allCosts = all.map { costModel.cost(of: $0.op) }
        var head: Picoseconds = 0
        for (entry, c) in zip(all, allCosts) {
            cost.add(entry.op, cost: c, times: Int64(entry.times))
            if entry.inHead { head += c.latency }
        }
        // The layer's operators and their costs (one layer), for the tensor-parallel segments below.
        let ops = all.filter { !$0.inHead }.map(\.op)
        let costs = Array(allCosts[..<ops.count])
        if let npu, npu.subBatches > 1, contexts.count > 1, plan.tp == 1 {
            // The sub-batches' operators (weights read once per sub-batch), and the overlapped time.
            var groups = StageCost()
            let time = interleaved(contexts: contexts, subBatches: npu.subBatches, cost: &groups)
            for (entry, c) in zip(all, allCosts) where entry.inHead { groups.add(entry.op, cost: c) }
            groups.total = time + head
            return (groups, [.compute(groups.total)])
        }
        guard plan.tp > 1 else { return (cost, [.compute(cost.total)]) }
        let split = (ops.firstIndex { $0.kind == .outputProjection } ?? ops.count - 1) + 1
        // The layer's two norms are one operator: the first half before QKV, the second before the FFN.
        let norm = zip(ops, costs).first { $0.0.kind == .norm }?.1.latency ?? 0
        let attention = costs[..<split].reduce(0) { $0 + $1.latency } - norm / 2
        let ffn = costs[split...].reduce(0) { $0 + $1.latency } + norm / 2
        var segments: [Segment] = []
        for _ in 0..<plan.layers {
            segments += [
                .compute(attention), .allReduce(bytes: payloadBytes), .compute(ffn), .allReduce(bytes: payloadBytes),
            ]
        }
        if plan.includesLMHead {
            segments += [.compute(head), .gather(bytes: Int64(contexts.count) * Self.gatherBytesPerRequest)]
        }
        return (cost, segments)
    }

    /// NeuPIMs' sub-batch interleaving of a micro-batch on this module (`SubBatchInterleaving`): the time of
    /// the layers (without the LM head); every group's operators are added to `cost`.
    func interleaved(contexts: [Int], subBatches: Int, cost: inout StageCost) -> Picoseconds {
        SubBatchInterleaving(step: step, costModel: costModel, layers: plan.layers, subBatches: subBatches)
            .time(contexts: contexts, cost: &cost)
    }

    /// Runs a micro-batch's segments on this member, with the other members of its group as replicas built
    /// from their states at the start of the micro-batch (`peers[m]`, nil for this member): exactly the time
    /// and port use that running the whole group in lock step gives this member. Returns when it finishes.
    public mutating func run(_ work: Work, peers: [CollectivePorts.State?]) -> Picoseconds {
        let states = peers.enumerated().map { m, state in m == member ? collective.state(start: work.start) : state! }
        let key = GroupReplays.Key(
            segments: work.segments, states: states, link: collective.egress.link, algorithm: collective.algorithm)
        let outcome = GroupReplays.shared.outcome(key)
        collective.absorb(outcome.members[member])
        return outcome.finish[member]
    }

    /// Ends a micro-batch's work at `finish` (after its last segment): the module is free again, the
    /// activation leaves (when this member forwards it), statistics and timeline are recorded, and the KV of
    /// requests on their last step is released.
    public mutating func finish(_ work: Work, at finish: Picoseconds, entries: [MicroBatchHeader.Entry] = []) -> Outcome
    {
        moduleFreeAt = finish
        let depart = forwards ? egress.send(ready: finish, bytes: work.payloadBytes) : nil
        stats.record(
            start: work.start, finish: finish, cost: work.cost, ingress: ingress, egress: egress,
            collective: collective)
        var released: [AllocationEventKind] = []
        for e in entries where e.isLast { released += allocator.release(request: Int(e.request)) }
        stats.count(released)
        if timeline != nil {
            let view = StageTimeline(
                track: "module \(stats.rank)", plan: plan, member: member, egress: egress, channelGroups: channelGroups)
            timeline! += view.events(work, finish: finish, depart: depart, released: released.count)
        }
        return Outcome(arrival: work.arrival, start: work.start, finish: finish, depart: depart)
    }

    /// A whole micro-batch on a module without tensor parallelism (its work is one compute segment).
    public mutating func handle(
        depart upstreamDepart: Picoseconds, entries: [MicroBatchHeader.Entry], payloadBytes: Int64,
        slot: Int = 0, injection: Int = 0
    ) throws -> Outcome {
        precondition(plan.tp == 1, "a tensor-parallel stage needs its group: use TensorParallelGroup")
        let work = try begin(
            depart: upstreamDepart, entries: entries, payloadBytes: payloadBytes, slot: slot, injection: injection)
        return finish(work, at: work.start + work.cost.total, entries: entries)
    }

    /// Times a micro-batch with `contexts` tokens per request (no allocation bookkeeping, no tensor parallelism).
    public mutating func handle(
        depart upstreamDepart: Picoseconds, contexts: [Int], payloadBytes: Int64,
        slot: Int = 0, injection: Int = 0
    ) -> Outcome {
        precondition(plan.tp == 1, "a tensor-parallel stage needs its group: use TensorParallelGroup")
        let work = begin(
            depart: upstreamDepart, contexts: contexts, payloadBytes: payloadBytes, slot: slot, injection: injection)
        return finish(work, at: work.start + work.cost.total)
    }
}
