import PIMModule

/// All members of one pipeline stage in one thread: runs a micro-batch's segments on every member in lock
/// step (`CollectivePorts.run`) with every member's own ports; a worker process runs the same computation
/// with replicas of the other members built from the states they sent it. `SequentialRun` uses it; with tp = 1 it is
/// a plain stage.
public struct TensorParallelGroup: Sendable {
    public private(set) var members: [StageSimulator]

    public init(plan: PipelinePlan, stage: StagePlan, store: (any KernelTimingStore)? = nil) {
        members = (0..<stage.tp).map { StageSimulator(plan: plan, stage: stage, member: $0, store: store) }
    }

    /// Handles a micro-batch whose activation is in `transits[m]` towards member m (one entry per member);
    /// returns every member's outcome.
    public mutating func handle(
        transits: [Transit], entries: [MicroBatchHeader.Entry], payloadBytes: Int64,
        slot: Int = 0, injection: Int = 0
    ) throws -> [StageSimulator.Outcome] {
        var works: [StageSimulator.Work] = []
        for m in members.indices {
            works.append(
                try members[m].begin(
                    transits[m], entries: entries, payloadBytes: payloadBytes,
                    slot: slot, injection: injection))
        }
        var ports = members.map(\.collective)
        var shared = members[0].collective.shared
        let finish = CollectivePorts.run(
            works[0].segments, members: &ports, start: works.map(\.start), shared: &shared)
        for m in members.indices {
            members[m].collective = ports[m]
            members[m].collective.shared = shared
        }
        // Every member's pipeline egress as it is before any of them sends on: what each one's copy of the
        // group's shared links needs (`StageSimulator.finish`).
        let group = StageSimulator.GroupFinish(finish: finish, forwardFree: members.map(\.egress.freeAt))
        return members.indices.map {
            members[$0].finish(works[$0], at: finish[$0], group: group, entries: entries)
        }
    }

    /// As `handle(transits:…)` for activations that left the previous stage's egress ports at `departs[m]`
    /// (no network between the stages).
    public mutating func handle(
        departs: [Picoseconds], entries: [MicroBatchHeader.Entry], payloadBytes: Int64,
        slot: Int = 0, injection: Int = 0
    ) throws -> [StageSimulator.Outcome] {
        let transits = members.indices.map { members[$0].transit(departedAt: departs[$0], bytes: payloadBytes) }
        return try handle(
            transits: transits, entries: entries, payloadBytes: payloadBytes, slot: slot, injection: injection)
    }

    /// Members' allocators and statistics, by member.
    public var stats: [StageStats] { members.map(\.stats) }
}
