import PIMModule

/// Replays of a tensor-parallel group's collectives that the members running in one process reuse. Every member
/// of a group replays the whole group's collectives for each micro-batch (`StageSimulator.complete`), from the
/// same inputs: the segments and every member's state. When the members are threads of one process (`inproc`,
/// `TensorParallelGroup`) and are handed the same `GroupReplays` (`ProcessCaches`), the first one to get there
/// computes the replay and the others wait for its result; the result is the same function of the same inputs, so
/// nothing simulated changes. Bounded: about the most recent 256 replays.
public final class GroupReplays: Sendable {
    public init() {}

    /// What decides a replay.
    struct Key: Hashable, Sendable {
        var segments: [StageSimulator.Segment]
        var states: [CollectivePorts.State]
        var link: LinkSpec
        var algorithm: CollectiveAlgorithm
        var layout: GroupLayout
        /// The group's shared links (between its nodes), as replicas from their next free times.
        var shared: [SharedLink: Port] = [:]
    }

    /// Every member's ports after the replay, as replicas that started from its state with no history (their
    /// counters are the replay's own traffic), and every member's finish time.
    struct Outcome: Sendable {
        var members: [CollectivePorts]
        var finish: [Picoseconds]
        /// The group's shared links after the replay, as replicas from their next free times.
        var shared: [SharedLink: Port]
    }

    /// About the most recent 256 replays (16 per shard): a group's members ask for one within a micro-batch's visit.
    private let replays = SharedComputations<Key, Outcome>(keeping: 256)

    /// The replay of `key`, computed here unless a member of the same group already did or is doing it (then its
    /// result, waited for).
    func outcome(_ key: Key) -> Outcome {
        replays.value(key) { Self.replay(key) }
    }

    private static func replay(_ key: Key) -> Outcome {
        let tp = key.states.count
        var members = key.states.indices.map {
            CollectivePorts(
                tp: tp, member: $0, link: key.link, algorithm: key.algorithm, layout: key.layout,
                state: key.states[$0])
        }
        var shared = key.shared
        let finish = CollectivePorts.run(
            key.segments, members: &members, start: key.states.map(\.startPs), shared: &shared)
        return Outcome(members: members, finish: finish, shared: shared)
    }
}
