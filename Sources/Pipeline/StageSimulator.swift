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
/// member 0.
///
/// A micro-batch takes two calls, whoever drives them (a worker process, or `TensorParallelGroup` in one
/// thread): `prepare` does the KV bookkeeping and returns the work and an `Offer` for every other member of
/// the group; `complete`, given the offers the other members made this one, times the group's collectives and
/// finishes the micro-batch. The driver only carries offers between members; with tp = 1 there are none.
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
    /// What this module did so far (`stats` adds the shared links' totals when asked).
    private var recorded: StageStats
    /// With a network: the shared links each member's activation crosses towards the next stage (or the host),
    /// in order, by member; empty inside a node. Every member of the group times all members' flows over them
    /// (`finish`), on its own copy of the links; member 0's copy is the one reported.
    let forwardRoutes: [[SharedHop]]
    public private(set) var shared: [SharedLink: Port] = [:]

    /// What this module did over the run so far, with the shared links' totals (built when asked: workers ask once,
    /// at the end).
    public var stats: StageStats {
        guard !shared.isEmpty || !collective.shared.isEmpty else { return recorded }
        var stats = recorded
        stats.record(shared: shared, collective: collective.shared)
        return stats
    }

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

    /// What the simulators of this process share (kernels being simulated, group replays, stage costs).
    let caches: ProcessCaches
    /// Micro-batches' costs on stages of this topology, shared with the other simulators of this process.
    let stageCosts: StageCosts.Computations

    /// - Parameters:
    ///   - store: where command-level kernel timings are looked up first (nil: simulated here).
    ///   - caches: what simulators in the same process share; results never depend on it.
    public init(
        plan pipeline: PipelinePlan, stage: StagePlan, member: Int = 0, store: (any KernelTimingStore)? = nil,
        caches: ProcessCaches = ProcessCaches()
    ) {
        self.caches = caches
        let topology = pipeline.topology
        stageCosts = caches.stageCosts.computations(for: topology)
        allocator = pipeline.allocator(stage: stage.index)
        plan = stage
        self.member = member
        step = DecodeStep(model: pipeline.shard)
        costModel = topology.fidelity.costModel(
            module: topology.cluster.module, model: topology.model, tp: stage.tp,
            layersPerModule: pipeline.maxLayersPerStage, groupLink: topology.links.tp, workload: topology.workload,
            store: store, inFlight: caches.kernelsInFlight, centReplays: caches.centReplays)
        npu = topology.cluster.module.npu
        let isFirst = stage.index == 0
        let isLast = stage.index == topology.stages - 1
        isLastStage = isLast
        // Without a network each stage end of a host link is the host link; with one, every module's ports
        // are module ports on its switch (`links` then holds the ports' rates and the switch's latency).
        let network = topology.network.map { NetworkRoutes(spec: $0, modules: topology.cluster.modules, tp: stage.tp) }
        ingress = Port(link: isFirst && network == nil ? topology.links.host : topology.links.module)
        egress = Port(link: isLast && network == nil ? topology.links.host : topology.links.module)
        forwardRoutes = (0..<stage.tp).map {
            network?.forwardHops(stage: stage.index, member: $0, stages: topology.stages) ?? []
        }
        collective = CollectivePorts(
            tp: stage.tp, member: member, link: topology.links.tp, algorithm: topology.parallelism.collective,
            layout: network.map { GroupLayout(network: $0, stage: stage.index, tp: stage.tp) })
        recorded = StageStats(stage: stage, member: member)
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

    /// A micro-batch's work on this module.
    public struct Work: Sendable {
        public var arrival: Picoseconds
        public var start: Picoseconds
        public var cost: StageCost
        public var segments: [Segment]
        public var payloadBytes: Int64
        public var requests: Int
        public var microBatch: Int
        public var step: Int
        var events: [AllocationEventKind]
    }

    /// What this member tells another member of its group about a micro-batch: its state at the start (which
    /// decides its part in every collective of the micro-batch), and the chunks of partial sums it sends that
    /// member over the micro-batch, end to end (docs/PROTOCOL.md §5b).
    public struct Offer: Sendable, Hashable {
        public var state: CollectivePorts.State
        public var chunks: Int
        public var bytes: Int64

        public init(state: CollectivePorts.State, chunks: Int, bytes: Int64) {
            self.state = state
            self.chunks = chunks
            self.bytes = bytes
        }
    }

    /// A micro-batch prepared on this member (`prepare`), waiting for the other members' offers.
    public struct Prepared: Sendable {
        public var work: Work
        /// This member's state at the start of the micro-batch.
        public var state: CollectivePorts.State
        /// By member: what this member offers it (nil for this member; no entry at all with tp = 1).
        public var offers: [Offer?]
    }

    /// Offers that do not fit the micro-batch: the driver carried the wrong ones, or a member computed its
    /// collectives differently (a different topology or version).
    public enum OfferError: Error, Equatable, CustomStringConvertible {
        case missing(members: [Int])
        case wrongChunks(member: Int, expected: Int, expectedBytes: Int64, got: Int, gotBytes: Int64)

        public var description: String {
            switch self {
            case .missing(let members): "no offer from group members \(members)"
            case .wrongChunks(let member, let expected, let expectedBytes, let got, let gotBytes):
                "member \(member) offered \(got) chunks of \(gotBytes) bytes in all; its collectives send this "
                    + "member \(expected) chunks of \(expectedBytes) bytes"
            }
        }
    }

    /// Result of handling one micro-batch.
    public struct Outcome: Sendable, Equatable {
        public var arrival: Picoseconds
        public var start: Picoseconds
        public var finish: Picoseconds
        /// When the activation leaves this module's egress port towards the next stage (or the host), and the
        /// activation on its way there; nil for the members of the last stage other than 0, which send nothing on.
        public var depart: Picoseconds?
        public var transit: Transit?
    }

    /// Whether this module sends the micro-batch on: every member to its counterpart in the next stage, only
    /// member 0 from the last stage to the host.
    public var forwards: Bool { member == 0 || !isLastStage }
    private let isLastStage: Bool

    /// Receives a micro-batch whose activation of `payloadBytes` is in `transit` from the previous stage (or the
    /// host) to this module, does its KV bookkeeping (requests on their first step get their prompt's KV; every
    /// request's KV grows to its context), and returns its work and the offers for the other members.
    public mutating func prepare(
        _ transit: Transit, entries: [MicroBatchHeader.Entry], payloadBytes: Int64,
        microBatch: Int = 0, step: Int = 0
    ) throws -> Prepared {
        var events: [AllocationEventKind] = []
        for e in entries {
            let request = Int(e.request), context = Int(e.context)
            if e.isFirst {
                events += try allocator.admit(request: request, prompt: context - 1, finalTokens: context - 1)
            }
            events += try allocator.grow(request: request, to: context)
        }
        recorded.count(events)
        recorded.observe(allocator)
        var prepared = prepare(
            transit, contexts: entries.map { Int($0.context) }, payloadBytes: payloadBytes,
            microBatch: microBatch, step: step)
        prepared.work.events = events
        return prepared
    }

    /// The slow part of timing a micro-batch with these contexts, as work another thread can do first while the
    /// caller keeps its links alive (the cost model keeps what it computes); nil when no part is slow: only the
    /// `cent` partitioning replays traces that take seconds (`CENTCostModel`), and only device steps it has not
    /// timed yet.
    public func warmUp(contexts: [Int]) -> (@Sendable () -> Void)? {
        guard let whole = costModel as? any StageCostModel,
            !whole.isTimed(contexts: contexts, includesLMHead: plan.includesLMHead)
        else { return nil }
        let step = step, layers = plan.layers, head = plan.includesLMHead
        return { _ = whole.stageCost(step: step, layers: layers, contexts: contexts, includesLMHead: head) }
    }

    /// As `prepare(_:entries:…)`, without KV bookkeeping.
    public mutating func prepare(
        _ transit: Transit, contexts: [Int], payloadBytes: Int64,
        microBatch: Int = 0, step: Int = 0
    ) -> Prepared {
        let arrival = ingress.receive(transit, bytes: payloadBytes)
        let start = max(arrival, moduleFreeAt)
        // Exposed: the module was free and the activation ready upstream, but it was still on its way.
        recorded.exposedIngressPs += max(0, arrival - max(moduleFreeAt, transit.readyPs))
        let key = StageCosts.Key(
            layers: plan.layers, includesLMHead: plan.includesLMHead, contexts: contexts, payloadBytes: payloadBytes)
        let costed = stageCosts.value(key) {
            let (cost, segments) = self.segments(contexts: contexts, payloadBytes: payloadBytes)
            return StageCosts.Entry(cost: cost, segments: segments)
        }
        let work = Work(
            arrival: arrival, start: start, cost: costed.cost, segments: costed.segments, payloadBytes: payloadBytes,
            requests: contexts.count, microBatch: microBatch, step: step, events: [])
        let state = collective.state(start: start, forwardFree: egress.freeAt)
        let offers: [Offer?] = (0..<(plan.tp > 1 ? plan.tp : 0)).map { peer in
            guard peer != member else { return nil }
            let chunks = collective.chunks(from: member, to: peer, in: costed.segments)
            return Offer(state: state, chunks: chunks.count, bytes: chunks.bytes)
        }
        return Prepared(work: work, state: state, offers: offers)
    }

    /// Finishes a prepared micro-batch, given the offer every other member of the group made this one
    /// (`received[m]` from member m; ignored for this member; empty with tp = 1): the group's collectives are
    /// timed from the members' states, the module is free again, the activation leaves.
    public mutating func complete(
        _ prepared: Prepared, received: [Offer?] = [], entries: [MicroBatchHeader.Entry] = []
    ) throws(OfferError) -> Outcome {
        let work = prepared.work
        guard plan.tp > 1 else { return finish(work, at: work.start + work.cost.total, entries: entries) }
        let others = (0..<plan.tp).filter { $0 != member }
        let missing = others.filter { $0 >= received.count || received[$0] == nil }
        guard missing.isEmpty else { throw .missing(members: missing) }
        for m in others {
            let offer = received[m]!
            let expected = collective.chunks(from: m, to: member, in: work.segments)
            guard offer.chunks == expected.count, offer.bytes == expected.bytes else {
                throw .wrongChunks(
                    member: m, expected: expected.count, expectedBytes: expected.bytes, got: offer.chunks,
                    gotBytes: offer.bytes)
            }
        }
        let states = (0..<plan.tp).map { $0 == member ? prepared.state : received[$0]!.state }
        let group = replay(work, states: states)
        return finish(work, at: group.finish[member], group: group, entries: entries)
    }

    /// The stage cost and the segments of a micro-batch with these contexts.
    func segments(contexts: [Int], payloadBytes: Int64) -> (StageCost, [Segment]) {
        var cost = StageCost()
        guard !contexts.isEmpty else { return (cost, []) }
        if let whole = costModel as? any StageCostModel {
            // CENT's blocks: the stage as a whole; in a group (model-parallel mode) its gathers and broadcasts are
            // CENT's own, in the stage's time, so the members exchange no collectives.
            let cost = whole.stageCost(
                step: step, layers: plan.layers, contexts: contexts, includesLMHead: plan.includesLMHead)
            return (cost, [.compute(cost.total)])
        }
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

    /// When every member of a group finished a micro-batch and when each one's pipeline egress port was next
    /// free: what `finish` needs to time the group's activations over shared links.
    struct GroupFinish: Sendable, Equatable {
        var finish: [Picoseconds]
        var forwardFree: [Picoseconds]
    }

    /// Runs a micro-batch's segments on this member, with the other members of its group as replicas built
    /// from their states at the start of the micro-batch (`states[m]`, this member's own included): exactly the
    /// time and port use that running the whole group in lock step gives this member. Returns when every member
    /// finishes (this one at `finish[member]`).
    private mutating func replay(_ work: Work, states: [CollectivePorts.State]) -> GroupFinish {
        let key = GroupReplays.Key(
            segments: work.segments, states: states, link: collective.egress.link, algorithm: collective.algorithm,
            layout: collective.layout, shared: collective.shared.mapValues { Port(link: $0.link, freeAt: $0.freeAt) })
        let outcome = caches.groupReplays.outcome(key)
        collective.absorb(outcome.members[member], shared: outcome.shared)
        return GroupFinish(finish: outcome.finish, forwardFree: states.map(\.forwardFreePs))
    }

    /// Ends a micro-batch's work at `finish` (after its last segment): the module is free again, the
    /// activation leaves (when this member forwards it), statistics and timeline are recorded, and the KV of
    /// requests on their last step is released. `group` (every member's finish, from `replay`) is needed when
    /// the activation crosses shared links; without it this member is taken to be the only sender.
    mutating func finish(
        _ work: Work, at finish: Picoseconds, group: GroupFinish? = nil, entries: [MicroBatchHeader.Entry] = []
    ) -> Outcome {
        var transit: Transit?, depart: Picoseconds?
        let ready = finish + work.cost.afterModulePs
        if !forwards {
            transit = nil
        } else if forwardRoutes.allSatisfy(\.isEmpty) {
            transit = egress.launch(ready: ready, bytes: work.payloadBytes)
            depart = transit!.headPs - egress.link.latencyPs
        } else {
            let group = group ?? GroupFinish(finish: [ready], forwardFree: [egress.freeAt])
            (depart, transit) = forwardOverSharedLinks(bytes: work.payloadBytes, group: group)
        }
        moduleFreeAt = finish
        recorded.record(
            start: work.start, finish: finish, cost: work.cost, ingress: ingress, egress: egress,
            collective: collective)
        var released: [AllocationEventKind] = []
        for e in entries where e.isLast { released += allocator.release(request: Int(e.request)) }
        recorded.count(released)
        if timeline != nil {
            let view = StageTimeline(
                track: "module \(recorded.rank)", plan: plan, member: member, egress: egress,
                channelGroups: channelGroups)
            timeline! += view.events(work, finish: finish, depart: depart, released: released.count)
        }
        return Outcome(arrival: work.arrival, start: work.start, finish: finish, depart: depart, transit: transit)
    }

    /// Times the activations of every sending member of the group (all of them; member 0 alone from the last
    /// stage) through their pipeline egress ports and then, in the order their first bits reach them (member
    /// index on a tie), through the shared links they cross together. Every member computes the same, on its own
    /// copy of the links, from the group's finish times; returns this member's transfer in transit.
    private mutating func forwardOverSharedLinks(
        bytes: Int64, group: GroupFinish
    ) -> (depart: Picoseconds, transit: Transit) {
        let senders = isLastStage ? [0] : Array(0..<plan.tp)
        var launched: [(transit: Transit, member: Int)] = senders.map { m in
            if m == member { return (egress.launch(ready: group.finish[m], bytes: bytes), m) }
            var replica = Port(link: egress.link, freeAt: group.forwardFree[m])
            return (replica.launch(ready: group.finish[m], bytes: bytes), m)
        }
        launched.sort { ($0.transit.headPs, $0.member) < ($1.transit.headPs, $1.member) }
        var mine = (depart: Picoseconds(0), transit: launched[0].transit)
        for (start, m) in launched {
            var t = start
            for hop in forwardRoutes[m] {
                t = shared.pass(t, over: hop, bytes: bytes)
                if member == 0, timeline != nil {
                    let begin = t.headPs - hop.latencyAfterPs
                    timeline!.append(
                        TimelineEvent(
                            track: hop.link.description, name: "stage \(plan.index).\(m) activation",
                            startPs: begin, durationPs: max(0, t.tailPs - hop.latencyAfterPs - begin)))
                }
            }
            if m == member { mine = (start.headPs - egress.link.latencyPs, t) }
        }
        return mine
    }

    /// The transit of an activation of `bytes` that left the upstream end of this module's ingress link at
    /// `depart` (no network between them).
    public func transit(departedAt depart: Picoseconds, bytes: Int64) -> Transit {
        Transit(
            ready: depart, departingAt: depart, over: ingress.link, transfer: ingress.link.transferTime(bytes: bytes))
    }

    /// Times a micro-batch with `contexts` tokens per request on a module without tensor parallelism (no
    /// allocation bookkeeping): `prepare` and `complete` with nothing to exchange.
    public mutating func handle(depart upstreamDepart: Picoseconds, contexts: [Int], payloadBytes: Int64) -> Outcome {
        precondition(plan.tp == 1, "a tensor-parallel stage needs its group: use TensorParallelGroup")
        let prepared = prepare(
            transit(departedAt: upstreamDepart, bytes: payloadBytes), contexts: contexts, payloadBytes: payloadBytes)
        return finish(prepared.work, at: prepared.work.start + prepared.work.cost.total)
    }
}
