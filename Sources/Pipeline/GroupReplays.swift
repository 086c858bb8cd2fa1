import PIMModule
import Synchronization

/// Replays of a tensor-parallel group's collectives that the members running in one process reuse. Every member
/// of a group replays the whole group's collectives for each micro-batch (`StageSimulator.complete`), from the
/// same inputs: the segments and every member's state. When the members are threads of one process (`inproc`,
/// `TensorParallelGroup`) and are handed the same `GroupReplays` (`ProcessCaches`), the first one to get there
/// computes the replay and the others take its result; the result is the same function of the same inputs, so
/// nothing simulated changes. Bounded: the most recent `capacity` replays.
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

    private let capacity = 256
    private let entries = Mutex<(map: [Key: Outcome], order: [Key])>(([:], []))

    /// The replay of `key`, computed here unless a member of the same group already did.
    func outcome(_ key: Key) -> Outcome {
        if let found = entries.withLock({ $0.map[key] }) { return found }
        let tp = key.states.count
        var members = key.states.indices.map {
            CollectivePorts(
                tp: tp, member: $0, link: key.link, algorithm: key.algorithm, layout: key.layout,
                state: key.states[$0])
        }
        var shared = key.shared
        let finish = CollectivePorts.run(
            key.segments, members: &members, start: key.states.map(\.startPs), shared: &shared)
        let outcome = Outcome(members: members, finish: finish, shared: shared)
        entries.withLock { cache in
            guard cache.map[key] == nil else { return }
            cache.map[key] = outcome
            cache.order.append(key)
            if cache.order.count > capacity { cache.map[cache.order.removeFirst()] = nil }
        }
        return outcome
    }
}
