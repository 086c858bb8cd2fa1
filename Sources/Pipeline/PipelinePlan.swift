import Foundation
import PIMModule
import Workload

/// A configuration the hardware cannot run (e.g. the model and KV cache do not fit).
public struct PlanError: Error, CustomStringConvertible, Sendable {
    /// The topology field to change.
    public var field: String
    public var message: String
    public var description: String { "\(field): \(message)" }
}

/// One pipeline stage: a group of `tp` modules (ranks `firstRank ..< firstRank + tp`) and the consecutive
/// layers it holds, each module a 1/tp share of every layer.
public struct StagePlan: Sendable, Equatable, Codable {
    public var index: Int
    public var firstLayer: Int
    public var layers: Int
    /// The last stage also runs the final norm and the LM head.
    public var includesLMHead: Bool
    /// What each module of the stage holds (its share of the layers).
    public var memory: MemoryPlan
    /// Tensor-parallel degree: modules in the stage.
    public var tp: Int = 1
    /// Rank of the stage's first module; member m is rank firstRank + m.
    public var firstRank: Int = 0
}

/// Everything derived from a topology before the run: the requests and the stages with what each module
/// stores. Built the same way by the coordinator and by every worker.
public struct PipelinePlan: Sendable {
    public let topology: Topology
    /// Requests in arrival order.
    public let requests: [RequestSpec]
    public let stages: [StagePlan]
    /// The share of the model each module computes (the whole model without tensor parallelism).
    public let shard: ModelConfig

    /// Worker processes (modules): pipeline stages × tensor-parallel degree.
    public var workers: Int { stages.count * topology.parallelism.tp }
    /// The most layers any stage holds (the `cent` partitioning's blocks per module).
    public var maxLayersPerStage: Int { stages.map(\.layers).max() ?? 1 }

    /// The pipeline stage and tensor-parallel member of a worker rank (ranks go stage by stage).
    public func position(rank: Int) -> (stage: Int, member: Int) {
        (rank / topology.parallelism.tp, rank % topology.parallelism.tp)
    }

    public init(topology: Topology) throws(PlanError) {
        self.topology = topology
        let w = topology.workload
        requests =
            w.trace
            ?? RequestStream.generate(
                count: w.requests, context: w.context, output: w.output,
                arrival: w.arrival, seed: topology.seed)
        let tp = topology.parallelism.tp
        shard = topology.model.sharded(tp: tp)
        var first = 0
        var stages: [StagePlan] = []
        for (index, layers) in topology.parallelism.layersPerStage.enumerated() {
            let last = index == topology.parallelism.layersPerStage.count - 1
            var memory = MemoryPlan(model: shard, module: topology.cluster.module, layers: layers, includesLMHead: last)
            if Self.centKeepsVWhole(topology) {
                // CENT's model-parallel layout spreads K over the group but keeps every layer's V whole on each
                // device (docs/MAPPING.md §13, `TransformerBlock.py:122-147`): K / tp + V per token and layer.
                let half = topology.model.kvBytesPerTokenPerLayer / 2
                memory.kvBytesPerToken = Int64(layers) * (half / Int64(tp) + half)
            }
            stages.append(
                StagePlan(
                    index: index, firstLayer: first, layers: layers, includesLMHead: last, memory: memory,
                    tp: tp, firstRank: index * tp))
            first += layers
        }
        self.stages = stages
        // The run needs every module to hold its weights and the longest request alone (static allocation:
        // a T_max reservation).
        let longest = requests.map(\.finalTokens).max() ?? 0
        let needed = w.allocation == .static ? w.maxContext : longest
        // DPA hands out whole chunks: the longest request needs its KV rounded up to a chunk.
        func kvBytes(_ m: MemoryPlan) -> Int64 {
            let bytes = Int64(needed) * m.kvBytesPerToken
            return w.allocation == .dpa ? (bytes + w.chunkBytes - 1) / w.chunkBytes * w.chunkBytes : bytes
        }
        if let tight = stages.first(where: {
            $0.memory.weightBytes + kvBytes($0.memory) > $0.memory.capacityBytes
                || (w.allocation == .dpa
                    && $0.memory.kvCapacityBytes / w.chunkBytes
                        < kvBytes($0.memory) / w.chunkBytes)
        }) {
            let m = tight.memory
            let kv = kvBytes(m)
            let modules =
                tight.tp == 1 ? "module \(tight.index) (" : "each module of stage \(tight.index) (1/\(tight.tp) of "
            throw PlanError(
                field: m.weightBytes > m.capacityBytes ? "cluster.modules" : "workload.context",
                message: """
                    the model does not fit: \(modules)layers \(tight.firstLayer)–\
                    \(tight.firstLayer + tight.layers - 1)\(tight.includesLMHead ? " + LM head" : "")) needs \
                    \(Units.gib(m.weightBytes + kv)) (weights \(Units.gib(m.weightBytes)) + KV cache \
                    \(Units.gib(kv)) for one request of \(needed) tokens\
                    \(w.allocation == .static ? " reserved by static allocation (T_max)" : "")) but has \
                    \(Units.gib(m.capacityBytes)); add cluster.modules, or shorten workload.context / max_context
                    """)
        }
    }

    /// Whether the topology runs the `cent` partitioning in CENT's model-parallel mode over a group (tp > 1).
    static func centKeepsVWhole(_ topology: Topology) -> Bool {
        let f = topology.fidelity, tp = topology.parallelism.tp
        return f.level == .command && f.partitioning == .cent && tp > 1
            && (f.centMode ?? .default(tp: tp)) == .modelParallel
    }

    /// The `auto` split. On PIM a decode step streams, per request, every weight of a layer (GEMV) plus the
    /// request's K and V of that layer, so a layer weighs weightBytesPerLayer + tokens × kvBytesPerTokenPerLayer
    /// (at the workload's mean context) and the LM head lmHeadBytes. The last stage, which also holds the LM
    /// head, gets the layer count that brings it closest to an equal share (at least one layer); the other
    /// stages split the remaining layers evenly, larger parts first.
    public static func balancedSplit(model: ModelConfig, stages: Int, meanTokens: Double) -> [Int] {
        guard stages > 1 else { return [model.layers] }
        let layerWeight = Double(model.weightBytesPerLayer) + meanTokens * Double(model.kvBytesPerTokenPerLayer)
        let head = Double(model.lmHeadBytes) / layerWeight
        let share = (Double(model.layers) + head) / Double(stages)
        let maxLast = model.layers - (stages - 1)
        let last = min(maxLast, max(1, Int((share - head).rounded())))
        return EvenSplit.sizes(model.layers - last, parts: stages - 1) + [last]
    }

    /// The KV allocator of a stage's module under the workload's scheme.
    public func allocator(stage: Int) -> any KVAllocator {
        let w = topology.workload
        let m = stages[stage].memory
        return KVAllocatorFactory.make(
            w.allocation, capacityBytes: m.kvCapacityBytes, bytesPerToken: m.kvBytesPerToken,
            maxContext: w.maxContext, chunkBytes: w.chunkBytes)
    }

    /// Tokens the run generates.
    public var generatedTokens: Int { requests.reduce(0) { $0 + $1.outputTokens } }
}

/// Formatting of sizes and times with their units, for messages and tables.
public enum Units {
    public static func gib(_ bytes: Int64) -> String {
        String(format: "%.2f GiB", Double(bytes) / 1_073_741_824)
    }
}
