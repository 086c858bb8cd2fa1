import PIMModule
@testable import Pipeline

/// The reference a tensor-parallel group's two-phase protocol (`StageSimulator.prepare` / `complete`, offers
/// carried between members) must reproduce: every member of the group run in lock step on its own ports, one
/// `CollectivePorts.run` over all of them and one copy of the shared links.
struct LockStepGroup {
    var members: [StageSimulator]

    init(plan: PipelinePlan, stage: StagePlan) {
        members = (0..<stage.tp).map { StageSimulator(plan: plan, stage: stage, member: $0) }
    }

    mutating func handle(
        transits: [Transit], entries: [MicroBatchHeader.Entry], payloadBytes: Int64
    ) throws -> [StageSimulator.Outcome] {
        var works: [StageSimulator.Work] = []
        for m in members.indices {
            works.append(try members[m].prepare(transits[m], entries: entries, payloadBytes: payloadBytes).work)
        }
        var ports = members.map(\.collective)
        var shared = members[0].collective.shared
        let finish = CollectivePorts.run(works[0].segments, members: &ports, start: works.map(\.start), shared: &shared)
        for m in members.indices {
            members[m].collective = ports[m]
            members[m].collective.shared = shared
        }
        // Every member's pipeline egress as it is before any of them sends on.
        let group = StageSimulator.GroupFinish(finish: finish, forwardFree: members.map(\.egress.freeAt))
        return members.indices.map {
            members[$0].finish(works[$0], at: finish[$0], group: group, entries: entries)
        }
    }
}
