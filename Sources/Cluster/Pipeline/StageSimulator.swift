import PIMModule
import Workload

/// The timing of one pipeline stage (one module), pure and deterministic: a micro-batch arrives over the
/// ingress port, waits for the module to be free, runs the stage's layers, and leaves over the egress port.
/// Micro-batches are handled in the order they arrive (FIFO on one link keeps this causal in a linear
/// pipeline: arrivals from one upstream are in time order).
public struct StageSimulator: Sendable {
    public let plan: StagePlan
    let step: DecodeStep
    let costModel: any OpCostModel
    public private(set) var ingress: Port
    public private(set) var egress: Port
    public private(set) var stats: StageStats

    private var moduleFreeAt: Picoseconds = 0
    /// This module's KV allocator for its layers (static or DPA).
    public private(set) var allocator: any KVAllocator
    /// Timeline events, when recording (`lolpim run --trace`).
    public var timeline: [TimelineEvent]?
    /// Channel-group tracks in the timeline: the module's channels in this many contiguous groups (at most
    /// one per channel), each a track whose spans show how long the group's busiest channel works inside
    /// each op. 0: none.
    public var channelGroups = 0

    public init(plan pipeline: PipelinePlan, stage: StagePlan) {
        let topology = pipeline.topology
        allocator = pipeline.allocator(stage: stage.index)
        plan = stage
        step = DecodeStep(model: topology.model)
        costModel = topology.fidelity.costModel(module: topology.cluster.module, workload: topology.workload)
        let isFirst = stage.index == 0
        let isLast = stage.index == topology.stages - 1
        ingress = Port(link: isFirst ? topology.links.host : topology.links.module)
        egress = Port(link: isLast ? topology.links.host : topology.links.module)
        stats = StageStats(stage: stage)
    }

    /// Result of handling one micro-batch.
    public struct Outcome: Sendable, Equatable {
        public var arrival: Picoseconds
        public var start: Picoseconds
        public var finish: Picoseconds
        /// When the activation leaves towards the next stage (or the host).
        public var depart: Picoseconds
    }

    /// Handles a micro-batch that left the previous stage at `depart` and an activation of `payloadBytes`.
    /// Requests on their first step get their prompt's KV allocated; every request's KV grows to its
    /// context; requests on their last step free their KV afterwards.
    public mutating func handle(depart upstreamDepart: Picoseconds, entries: [MicroBatchHeader.Entry],
                                payloadBytes: Int64, slot: Int = 0, iteration: Int = 0) throws -> Outcome {
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
        let outcome = handle(depart: upstreamDepart, contexts: entries.map { Int($0.context) }, payloadBytes: payloadBytes,
                             slot: slot, iteration: iteration)
        var released: [AllocationEventKind] = []
        for e in entries where e.isLast { released += allocator.release(request: Int(e.request)) }
        stats.count(released)
        if timeline != nil {
            let track = "module \(plan.index)"
            for (kind, count) in Dictionary(grouping: events, by: { $0 }).mapValues(\.count).sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                timeline!.append(TimelineEvent(kind: .instant, track: track, name: "DPA \(kind.rawValue) ×\(count)",
                                               startPs: outcome.start))
            }
            if !released.isEmpty {
                timeline!.append(TimelineEvent(kind: .instant, track: track, name: "DPA request_end ×\(released.count)",
                                               startPs: outcome.finish))
            }
        }
        return outcome
    }

    /// Times a micro-batch with `contexts` tokens per request (no allocation bookkeeping).
    public mutating func handle(depart upstreamDepart: Picoseconds, contexts: [Int], payloadBytes: Int64,
                                slot: Int = 0, iteration: Int = 0) -> Outcome {
        let arrival = ingress.receive(depart: upstreamDepart, bytes: payloadBytes)
        let start = max(arrival, moduleFreeAt)
        let cost = costModel.stageCost(step: step, layers: plan.layers, contexts: contexts,
                                       includesLMHead: plan.includesLMHead)
        let finish = start + cost.total
        moduleFreeAt = finish
        let depart = egress.send(ready: finish, bytes: payloadBytes)
        stats.record(start: start, cost: cost, ingress: ingress, egress: egress)
        if timeline != nil { recordTimeline(start: start, cost: cost, depart: depart, bytes: payloadBytes, slot: slot,
                                            iteration: iteration, requests: contexts.count) }
        return Outcome(arrival: arrival, start: start, finish: finish, depart: depart)
    }

    /// The module's span, its ops laid end to end (all layers of an op kind together, in decode order), and
    /// the activation's transfer on the outgoing link.
    private mutating func recordTimeline(start: Picoseconds, cost: StageCost, depart: Picoseconds, bytes: Int64,
                                         slot: Int, iteration: Int, requests: Int) {
        let track = "module \(plan.index)"
        timeline!.append(TimelineEvent(track: track, name: "slot \(slot) step \(iteration)", startPs: start,
                                       durationPs: cost.total, slot: slot, step: iteration,
                                       args: ["requests": "\(requests)", "layers": "\(plan.layers)"]))
        var at = start
        for kind in OpKind.allCases {
            guard let time = cost.byKind[kind], time > 0 else { continue }
            timeline!.append(TimelineEvent(track: track + " ops", name: kind.rawValue, startPs: at, durationPs: time,
                                           slot: slot, step: iteration))
            if channelGroups > 0, let busy = cost.channelBusy[kind] {
                recordChannels(busy, kind: kind, start: at, opTime: time, slot: slot, iteration: iteration)
            }
            at += time
        }
        let transfer = egress.link.transferTime(bytes: bytes)
        timeline!.append(TimelineEvent(track: "link from stage \(plan.index)", name: "activation \(bytes) B",
                                       startPs: depart, durationPs: transfer + egress.link.latencyPs, slot: slot, step: iteration))
    }

    /// One span per channel group inside an op: from the op's start for as long as the group's busiest
    /// channel works (all layers of the op kind together), with the group's mean busy fraction.
    private mutating func recordChannels(_ busy: [Picoseconds], kind: OpKind, start: Picoseconds, opTime: Picoseconds,
                                         slot: Int, iteration: Int) {
        let groups = min(channelGroups, busy.count)
        for g in 0..<groups {
            let channels = busy[(g * busy.count / groups)..<((g + 1) * busy.count / groups)]
            let longest = channels.max() ?? 0
            guard longest > 0 else { continue }
            let mean = Double(channels.reduce(0, +)) / Double(channels.count) / Double(opTime)
            let name = channels.count == 1 ? "channel \(channels.startIndex)"
                : "channels \(channels.startIndex)-\(channels.endIndex - 1)"
            timeline!.append(TimelineEvent(track: "module \(plan.index) \(name)", name: kind.rawValue, startPs: start,
                                           durationPs: longest, slot: slot, step: iteration,
                                           args: ["busy_percent": String(format: "%.1f", 100 * mean)]))
        }
    }
}
