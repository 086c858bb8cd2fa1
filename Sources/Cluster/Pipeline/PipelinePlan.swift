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

/// One request of the workload.
public struct Request: Sendable, Equatable, Codable {
    public var id: Int
    /// Tokens already in the KV cache when decoding starts (the prompt).
    public var promptTokens: Int
}

/// One pipeline stage: a module and the consecutive layers it holds.
public struct StagePlan: Sendable, Equatable, Codable {
    public var index: Int
    public var firstLayer: Int
    public var layers: Int
    /// The last stage also runs the final norm and the LM head.
    public var includesLMHead: Bool
    public var memory: MemoryPlan
}

/// Everything derived from a topology before the run: the requests, the micro-batches, the stages and what
/// each module must store. Built the same way by the coordinator and by every worker.
public struct PipelinePlan: Sendable {
    public let topology: Topology
    public let requests: [Request]
    /// Request ids of each micro-batch (contiguous groups whose sizes differ by at most one).
    public let microBatches: [[Int]]
    public let stages: [StagePlan]

    public init(topology: Topology) throws(PlanError) {
        self.topology = topology
        let workload = topology.workload
        let prompts = workload.context.lengths(count: workload.batchSize, seed: topology.seed)
        requests = prompts.enumerated().map { Request(id: $0.offset, promptTokens: $0.element) }
        let groups = Self.evenSplit(layers: workload.batchSize, stages: topology.parallelism.microBatches)
        var start = 0
        microBatches = groups.map { count in
            defer { start += count }
            return Array(start..<(start + count))
        }
        let totalTokens = requests.map { $0.promptTokens + workload.decodeSteps }
        var first = 0
        var stages: [StagePlan] = []
        for (index, layers) in topology.parallelism.layersPerStage.enumerated() {
            let last = index == topology.parallelism.layersPerStage.count - 1
            let memory = MemoryPlan(model: topology.model, module: topology.cluster.module, layers: layers,
                                    includesLMHead: last, tokensPerRequest: totalTokens)
            stages.append(StagePlan(index: index, firstLayer: first, layers: layers, includesLMHead: last,
                                    memory: memory))
            first += layers
        }
        self.stages = stages
        if let tight = stages.filter({ !$0.memory.fits }).max(by: { $0.memory.neededBytes < $1.memory.neededBytes }) {
            let m = tight.memory
            let longest = totalTokens.max() ?? 0
            throw PlanError(field: "workload.batch_size", message: """
                the model and its KV cache do not fit: module \(tight.index) (layers \(tight.firstLayer)–\
                \(tight.firstLayer + tight.layers - 1)\(tight.includesLMHead ? " + LM head" : "")) needs \
                \(Units.gib(m.neededBytes)) (weights \(Units.gib(m.weightBytes)) + KV cache \(Units.gib(m.kvBytes)) \
                for \(requests.count) requests of up to \(longest) tokens) but has \(Units.gib(m.capacityBytes)); \
                lower workload.batch_size or workload.context, or add cluster.modules
                """)
        }
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
        return evenSplit(layers: model.layers - last, stages: stages - 1) + [last]
    }

    /// `layers` split into `stages` consecutive parts whose sizes differ by at most one, larger parts first.
    public static func evenSplit(layers: Int, stages: Int) -> [Int] {
        guard stages > 0 else { return [] }
        return (0..<stages).map { layers / stages + ($0 < layers % stages ? 1 : 0) }
    }

    /// Contexts (tokens attended) of a micro-batch's requests at decode step `iteration` (0-based): the
    /// prompt, the tokens generated before, and the token being generated.
    public func contexts(microBatch: Int, iteration: Int) -> [Int] {
        microBatches[microBatch].map { requests[$0].promptTokens + iteration + 1 }
    }

    /// Tokens every request generates.
    public var generatedTokens: Int { requests.count * topology.workload.decodeSteps }
}

/// Formatting of sizes and times with their units, for messages and tables.
public enum Units {
    public static func gib(_ bytes: Int64) -> String {
        String(format: "%.2f GiB", Double(bytes) / 1_073_741_824)
    }
}
