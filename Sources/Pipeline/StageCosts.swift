import Foundation
import PIMModule
import Synchronization

/// Micro-batches' stage costs and segments (`StageSimulator.segments`) that the simulators of one process reuse.
/// A stage's cost is a pure function of the topology, the stage's layers, whether it holds the LM head, and the
/// micro-batch (its requests' contexts and its activation's bytes): every member of a tensor-parallel group times
/// the same work on its slice, and the stages of a pipeline with the same layers meet the same micro-batch one
/// after another. When they are threads of one process (`inproc`, the studies) and are handed the same
/// `StageCosts` (`ProcessCaches`), the first to get there computes it and the others wait for its result
/// (`SharedComputations`); nothing simulated changes.
///
/// Kept per topology (its encoding decides: the workers rebuild everything from it), the 16 most recent
/// topologies, each with about its 256 most recent micro-batches (16 of each of `SharedComputations`' shards).
public final class StageCosts: Sendable {
    struct Key: Hashable, Sendable {
        var layers: Int
        var includesLMHead: Bool
        var contexts: [Int]
        var payloadBytes: Int64
    }

    struct Entry: Sendable {
        var cost: StageCost
        var segments: [StageSimulator.Segment]
    }

    typealias Computations = SharedComputations<Key, Entry>

    private let byTopology = Mutex<(map: [Data: Computations], order: [Data])>(([:], []))

    public init() {}

    /// The shared costs of `topology`'s stages.
    func computations(for topology: Topology) -> Computations {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // A topology that does not encode (it always does: the coordinator sends it to every worker this way)
        // gets costs of its own.
        guard let identity = try? encoder.encode(topology) else { return Computations(keeping: 256) }
        return byTopology.withLock { known in
            if let found = known.map[identity] { return found }
            let made = Computations(keeping: 256)
            known.map[identity] = made
            known.order.append(identity)
            if known.order.count > 16 { known.map[known.order.removeFirst()] = nil }
            return made
        }
    }
}
