import PIMModule

/// All members of one pipeline stage in one thread. It drives each member's two calls exactly as the worker
/// processes do (`StageSimulator.prepare`, then `complete` with the offers the others made), carrying the offers
/// between members in memory instead of over sockets. `SequentialRun` uses it; with tp = 1 it is a plain stage.
public struct TensorParallelGroup: Sendable {
    public private(set) var members: [StageSimulator]

    public init(
        plan: PipelinePlan, stage: StagePlan, store: (any KernelTimingStore)? = nil,
        caches: ProcessCaches = ProcessCaches()
    ) {
        members = (0..<stage.tp).map {
            StageSimulator(plan: plan, stage: stage, member: $0, store: store, caches: caches)
        }
    }

    /// Handles a micro-batch whose activation is in `transits[m]` towards member m (one entry per member);
    /// returns every member's outcome.
    public mutating func handle(
        transits: [Transit], entries: [MicroBatchHeader.Entry], payloadBytes: Int64,
        microBatch: Int = 0, step: Int = 0
    ) throws -> [StageSimulator.Outcome] {
        var prepared: [StageSimulator.Prepared] = []
        for m in members.indices {
            prepared.append(
                try members[m].prepare(
                    transits[m], entries: entries, payloadBytes: payloadBytes, microBatch: microBatch, step: step))
        }
        return try members.indices.map { m in
            let received = prepared.map { $0.offers.isEmpty ? nil : $0.offers[m] }
            return try members[m].complete(prepared[m], received: received, entries: entries)
        }
    }

    /// As `handle(transits:…)` for activations that left the previous stage's egress ports at `departs[m]`
    /// (no network between the stages).
    public mutating func handle(
        departs: [Picoseconds], entries: [MicroBatchHeader.Entry], payloadBytes: Int64,
        microBatch: Int = 0, step: Int = 0
    ) throws -> [StageSimulator.Outcome] {
        let transits = members.indices.map { members[$0].transit(departedAt: departs[$0], bytes: payloadBytes) }
        return try handle(
            transits: transits, entries: entries, payloadBytes: payloadBytes, microBatch: microBatch, step: step)
    }

    /// Members' allocators and statistics, by member.
    public var stats: [StageStats] { members.map(\.stats) }
}
