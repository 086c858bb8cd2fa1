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
        collective = CollectivePorts(tp: stage.tp, member: member, link: topology.links.tp)
        stats = StageStats(stage: stage, member: member)
    }

    /// One piece of a micro-batch's work on this module.
    public enum Segment: Sendable, Equatable {
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
        let ops = step.layerOps(contexts: contexts)
        let costs = ops.map { costModel.cost(of: $0) }
        for (op, c) in zip(ops, costs) { cost.add(op, cost: c, times: Int64(plan.layers)) }
        var head: Picoseconds = 0
        if plan.includesLMHead {
            for op in step.lmHeadOps(batch: contexts.count) {
                let c = costModel.cost(of: op)
                cost.add(op, cost: c)
                head += c.latency
            }
        }
        if let npu, npu.subBatches > 1, contexts.count > 1, plan.tp == 1 {
            // The sub-batches' operators (weights read once per sub-batch), and the overlapped time.
            var groups = StageCost()
            let time = interleaved(contexts: contexts, subBatches: npu.subBatches, cost: &groups)
            if plan.includesLMHead {
                for op in step.lmHeadOps(batch: contexts.count) { groups.add(op, cost: costModel.cost(of: op)) }
            }
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

    /// NeuPIMs' sub-batch interleaving on an xPU+PIM module: the micro-batch's requests are split into
    /// `subBatches` groups; per layer each group runs its QKV part (first norm, QKV) on the NPU, its attention
    /// (K/V append, QKᵀ, softmax, SV) on the PIM channels, then its O/FFN part on the NPU. The NPU and the PIM
    /// channels each do one thing at a time, in the order NPU: pre(0), pre(1), …, then per layer and group
    /// post(g, l), pre(g, l + 1); PIM: att(0, l), att(1, l), …; so one group's attention overlaps the others'
    /// weight GEMVs (each group reads the weights again). Returns the time of the layers (without the LM head)
    /// and adds every group's operators to `cost`.
    func interleaved(contexts: [Int], subBatches: Int, cost: inout StageCost) -> Picoseconds {
        let sizes = PipelinePlan.evenSplit(layers: contexts.count, stages: min(subBatches, contexts.count))
        var groups: [(pre: Picoseconds, attention: Picoseconds, post: Picoseconds)] = []
        var offset = 0
        for size in sizes {
            var g: (pre: Picoseconds, attention: Picoseconds, post: Picoseconds) = (0, 0, 0)
            for op in step.layerOps(contexts: Array(contexts[offset..<(offset + size)])) {
                let c = costModel.cost(of: op)
                cost.add(op, cost: c, times: Int64(plan.layers))
                let time = c.latency
                switch op.kind {
                case .norm:
                    // The layer's two norms are one operator: the first before QKV, the second before the FFN.
                    g.pre += time / 2
                    g.post += time - time / 2
                case .qkvProjection: g.pre += time
                case let kind where kind.isAttention: g.attention += time
                default: g.post += time
                }
            }
            groups.append(g)
            offset += size
        }
        var npuFree: Picoseconds = 0, pimFree: Picoseconds = 0
        var preDone = groups.map { _ in Picoseconds(0) }
        for g in groups.indices {
            npuFree += groups[g].pre
            preDone[g] = npuFree
        }
        for layer in 0..<plan.layers {
            for g in groups.indices {
                pimFree = max(pimFree, preDone[g]) + groups[g].attention
                npuFree = max(npuFree, pimFree) + groups[g].post
                if layer + 1 < plan.layers {
                    npuFree += groups[g].pre
                    preDone[g] = npuFree
                }
            }
        }
        return npuFree
    }

    /// Runs a micro-batch's segments on this member, with the other members of its group as replicas built
    /// from their states at the start of the micro-batch (`peers[m]`, nil for this member): exactly the time
    /// and port use that running the whole group in lock step gives this member. Returns when it finishes.
    public mutating func run(_ work: Work, peers: [CollectivePorts.State?]) -> Picoseconds {
        var members = peers.enumerated().map { m, state in
            m == member
                ? collective
                : CollectivePorts(tp: plan.tp, member: m, link: collective.egress.link, state: state!)
        }
        let start = peers.map { $0?.startPs ?? work.start }
        let finish = CollectivePorts.run(work.segments, members: &members, start: start)
        collective = members[member]
        return finish[member]
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
            recordTimeline(work, finish: finish, depart: depart)
            let track = "module \(stats.rank)"
            for (kind, count) in Dictionary(grouping: work.events, by: { $0 }).mapValues(\.count).sorted(by: {
                $0.key.rawValue < $1.key.rawValue
            }) {
                timeline!.append(
                    TimelineEvent(
                        kind: .instant, track: track, name: "DPA \(kind.rawValue) ×\(count)",
                        startPs: work.start))
            }
            if !released.isEmpty {
                timeline!.append(
                    TimelineEvent(
                        kind: .instant, track: track, name: "DPA request_end ×\(released.count)",
                        startPs: finish))
            }
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

    /// The module's span (start to finish, collectives included), its ops laid end to end (all layers of an
    /// op kind together, in decode order; collectives not shown), and the activation's transfer on the
    /// outgoing link.
    private mutating func recordTimeline(_ work: Work, finish: Picoseconds, depart: Picoseconds?) {
        let track = "module \(stats.rank)"
        var args = ["requests": "\(work.requests)", "layers": "\(plan.layers)"]
        if plan.tp > 1 { args["tp_member"] = "\(member) of \(plan.tp)" }
        timeline!.append(
            TimelineEvent(
                track: track, name: "slot \(work.slot) step \(work.injection)", startPs: work.start,
                durationPs: finish - work.start, slot: work.slot, step: work.injection, args: args))
        var at = work.start
        for kind in OpKind.allCases {
            guard let time = work.cost.byKind[kind], time > 0 else { continue }
            timeline!.append(
                TimelineEvent(
                    track: track + " ops", name: kind.rawValue, startPs: at, durationPs: time,
                    slot: work.slot, step: work.injection))
            if channelGroups > 0, let busy = work.cost.channelBusy[kind] {
                recordChannels(busy, kind: kind, start: at, opTime: time, slot: work.slot, injection: work.injection)
            }
            at += time
        }
        guard let depart else { return }
        let transfer = egress.link.transferTime(bytes: work.payloadBytes)
        timeline!.append(
            TimelineEvent(
                track: "link from module \(stats.rank)", name: "activation \(work.payloadBytes) B",
                startPs: depart, durationPs: transfer + egress.link.latencyPs, slot: work.slot,
                step: work.injection))
    }

    /// One span per channel group inside an op: from the op's start for as long as the group's busiest
    /// channel works (all layers of the op kind together), with the group's mean busy fraction.
    private mutating func recordChannels(
        _ busy: [Picoseconds], kind: OpKind, start: Picoseconds, opTime: Picoseconds,
        slot: Int, injection: Int
    ) {
        let groups = min(channelGroups, busy.count)
        for g in 0..<groups {
            let channels = busy[(g * busy.count / groups)..<((g + 1) * busy.count / groups)]
            let longest = channels.max() ?? 0
            guard longest > 0 else { continue }
            let mean = Double(channels.reduce(0, +)) / Double(channels.count) / Double(opTime)
            let name =
                channels.count == 1
                ? "channel \(channels.startIndex)"
                : "channels \(channels.startIndex)-\(channels.endIndex - 1)"
            timeline!.append(
                TimelineEvent(
                    track: "module \(stats.rank) \(name)", name: kind.rawValue, startPs: start,
                    durationPs: longest, slot: slot, step: injection,
                    args: ["busy_percent": String(format: "%.1f", 100 * mean)]))
        }
    }
}
