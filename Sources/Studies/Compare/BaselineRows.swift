import Baselines
import PIMModule
import Workload

/// The GPU rows of `lolpim compare`: how many devices each gets (memory-matched to the PIM system) and their
/// figures from the `Baselines` decode loop (docs/COMPARE.md §1, §3).
public enum BaselineRows {
    /// The fewest GPUs that split the model evenly (tensor-parallel) and hold at least `memoryBytes` together.
    public static func memoryMatchedGPUs(model: ModelConfig, memoryBytes: Int64, gpu: GPUSpec = .a100) -> Int {
        let needed = Int((memoryBytes + gpu.memoryBytes - 1) / gpu.memoryBytes)
        return validGPUCount(model: model, gpu: gpu, from: max(1, needed)) { _ in true }
    }

    /// The fewest GPUs (with HBM3, AttAcc's) that split the model evenly and hold its weights, and the fewest
    /// HBM-PIM devices (at least one, for attention) that bring the system to at least `memoryBytes`.
    public static func memoryMatchedGPUPIM(model: ModelConfig, memoryBytes: Int64) -> (gpus: Int, devices: Int) {
        let gpus = validGPUCount(model: model, gpu: .a100HBM3, from: 1) {
            MultiGPUSystem(gpu: .a100HBM3, count: $0, model: model).kvCapacityBytesPerGPU > 0
        }
        let device = GPUPIMSystem(gpus: gpus, model: model).deviceBytes
        let left = memoryBytes - Int64(gpus) * GPUSpec.a100HBM3.memoryBytes
        return (gpus, max(1, Int((left + device - 1) / device)))
    }

    /// The smallest count ≥ `from` that splits the model and satisfies `accept`; `from` itself if none up to
    /// 4,096 does (the row then reports why it cannot run).
    static func validGPUCount(model: ModelConfig, gpu: GPUSpec, from: Int, accept: (Int) -> Bool) -> Int {
        (from...max(from, 4096)).first {
            MultiGPUSystem(gpu: gpu, count: $0, model: model).problems.isEmpty && accept($0)
        } ?? from
    }

    /// One row from a baseline system decoding the requests with continuous batching.
    static func row(
        system: any DecodeSystem, name: String, label: String, kind: SystemKind, tp: Int,
        requests: [RequestSpec], maxBatch: Int
    ) -> Comparison.Row {
        var row = Comparison.Row(
            system: name, label: label, kind: kind, memoryBytes: system.memoryBytes,
            configuration: "\(system.name), tp \(tp)")
        if let gpus = system as? MultiGPUSystem, let problem = gpus.problems.first {
            row.note = "cannot run: \(problem)"
            return row
        }
        let r = BaselineDecodeRun(system: system, requests: requests, maxBatch: maxBatch).run()
        guard r.generatedTokens > 0 else {
            row.note = "cannot run: the model or every request does not fit"
            return row
        }
        if r.rejected > 0 { row.note = "\(r.rejected) requests do not fit and are skipped" }
        row.tp = tp
        row.pp = 1
        let tokens = Double(r.generatedTokens)
        row.figures = Comparison.Figures(
            throughputTokensPerS: r.throughputTokensPerS, timePerOutputTokenP50Ps: r.timePerOutputTokenP50Ps,
            meanEffectiveBatch: r.meanEffectiveBatch, energyPerTokenJ: r.energyPerTokenJ,
            attentionTimePerTokenPs: Double(r.time.attention) / tokens,
            attentionEnergyPerTokenJ: r.attentionEnergyJ / tokens,
            attentionBackgroundFraction: r.attentionEnergyJ > 0 ? r.attentionStaticEnergyJ / r.attentionEnergyJ : 0,
            macUtilisationFraction: nil, kvCapacityUtilisationFraction: r.kvMeanUsedFraction,
            pipelineBubbleFraction: nil)
        return row
    }
}
