import Foundation
import PIMModule

/// What `lolpim validate` prints: the topology in words, with units.
public enum TopologyDescription {
    public static func render(_ t: Topology, plan: PipelinePlan, file: String) -> String {
        let m = t.model, mod = t.cluster.module
        let roofline = RooflineCostModel(module: mod, pimEfficiency: t.fidelity.pimEfficiency,
                                         processorEfficiency: t.fidelity.processorEfficiency)
        var out: [String] = ["\(file): valid topology '\(t.name)' (seed \(t.seed))"]
        out.append("  model      \(m.name): \(m.layers) layers, hidden \(m.hidden), \(m.queryHeads) query / "
                   + "\(m.kvHeads) KV heads × \(m.headDim), FFN \(m.ffn), vocab \(m.vocab), up to \(m.maxContext) tokens; "
                   + "weights \(Units.gib(Int64(m.layers) * m.weightBytesPerLayer + m.lmHeadBytes)), "
                   + "KV \(m.kvBytesPerTokenPerLayer * Int64(m.layers) / 1024) KiB per token")
        out.append(String(format: "  cluster    %d × %@ module (%@): %d channels × %d banks, tCK %lld ps, %@, "
                          + "internal %.1f TB/s peak, PIM %.1f TFLOP/s, HUB %.1f TFLOP/s",
                          t.cluster.modules, t.cluster.kind, mod.preset, mod.channels, mod.banksPerChannel, mod.tCKps,
                          Units.gib(mod.capacityBytes), mod.peakInternalBandwidth / 1e12, mod.pimPeakFLOPS / 1e12,
                          mod.processorFLOPS / 1e12))
        out.append(String(format: "  links      host↔module %.1f GB/s, %.0f ns · module↔module %.1f GB/s, %.0f ns",
                          t.links.host.bytesPerSecond / 1e9, Double(t.links.host.latencyPs) / 1000,
                          t.links.module.bytesPerSecond / 1e9, Double(t.links.module.latencyPs) / 1000))
        out.append("  pipeline   \(t.stages) stages, layers per stage \(t.parallelism.layersPerStage.map(String.init).joined(separator: " ")) "
                   + "(LM head on the last), \(t.parallelism.microBatches) micro-batches of "
                   + "\(Set(plan.microBatches.map(\.count)).sorted().map(String.init).joined(separator: "/")) requests")
        let prompts = plan.requests.map(\.promptTokens)
        out.append("  workload   batch \(t.workload.batchSize), \(t.workload.decodeSteps) decode steps, context \(t.workload.context.label); "
                   + "drawn prompts \(prompts.min() ?? 0)…\(prompts.max() ?? 0) tokens (mean \(prompts.reduce(0, +) / max(prompts.count, 1)))")
        switch t.fidelity.level {
        case .roofline:
            out.append(String(format: "  fidelity   roofline (PIM efficiency %.3f%@, processor efficiency %.2f)",
                              roofline.pimEfficiency,
                              t.fidelity.pimEfficiency == nil ? " derived from the timing table" : "",
                              roofline.processorEfficiency))
        case .command:
            out.append(String(format: "  fidelity   command (AiM commands: %@ scheduling, %@ attention partitioning, "
                              + "%d output-buffer entries; processor efficiency %.2f)",
                              t.fidelity.scheduling.rawValue, t.fidelity.partitioning.rawValue,
                              t.fidelity.obufEntries, roofline.processorEfficiency))
        }
        out.append(String(format: "  host       %.1f µs per micro-batch step + %.2f µs per request",
                          Double(t.host.stepOverheadPs) / 1e6, Double(t.host.perRequestPs) / 1e6))
        let fullest = plan.stages.max { $0.memory.usedFraction < $1.memory.usedFraction }!
        out.append(String(format: "  memory     fullest module %d: %@ of %@ (%.1f %%: weights %@, KV %@)",
                          fullest.index, Units.gib(fullest.memory.neededBytes), Units.gib(fullest.memory.capacityBytes),
                          fullest.memory.usedFraction * 100, Units.gib(fullest.memory.weightBytes),
                          Units.gib(fullest.memory.kvBytes)))
        return out.joined(separator: "\n")
    }
}
