import PIMModule

/// All members of one pipeline stage in one thread: runs a micro-batch's segments on every member in lock
/// step and does each collective's exchange in memory, with exactly the calls (and so the port timing) a
/// worker process makes when it exchanges the chunks over ZeroMQ. `SequentialRun` uses it; with tp = 1 it is
/// a plain stage.
public struct TensorParallelGroup: Sendable {
    public private(set) var members: [StageSimulator]

    public init(plan: PipelinePlan, stage: StagePlan, store: (any KernelTimingStore)? = nil) {
        members = (0..<stage.tp).map { StageSimulator(plan: plan, stage: stage, member: $0, store: store) }
    }

    /// Handles a micro-batch that left the previous stage at `departs[m]` towards member m (one entry per
    /// member); returns every member's outcome.
    public mutating func handle(departs: [Picoseconds], entries: [MicroBatchHeader.Entry], payloadBytes: Int64,
                                slot: Int = 0, iteration: Int = 0) throws -> [StageSimulator.Outcome] {
        var works: [StageSimulator.Work] = []
        for m in members.indices {
            works.append(try members[m].begin(depart: departs[m], entries: entries, payloadBytes: payloadBytes,
                                              slot: slot, iteration: iteration))
        }
        var now = works.map(\.start)
        for segment in works[0].segments {
            if case .compute(let time) = segment {
                for m in members.indices { now[m] += time }
                continue
            }
            for phase in 0..<StageSimulator.phases(segment) {
                let bytes = members[0].chunkBytes(segment)
                var inbox = Array(repeating: [(sender: Int, depart: Picoseconds)](), count: members.count)
                for m in members.indices {
                    for (to, depart) in members[m].collectiveSend(ready: now[m], bytes: bytes,
                                                                  to: members[m].receivers(segment, phase: phase)) {
                        inbox[to].append((m, depart))
                    }
                }
                for m in members.indices where !members[m].senders(segment, phase: phase).isEmpty {
                    now[m] = members[m].collectiveReceive(ready: now[m], bytes: bytes, from: inbox[m])
                }
            }
        }
        return members.indices.map { members[$0].finish(works[$0], at: now[$0], entries: entries) }
    }

    /// Members' allocators and statistics, by member.
    public var stats: [StageStats] { members.map(\.stats) }
}
