import Foundation
import PIMModule
import Pipeline

/// What `lolpim validate` prints: the topology in words, with units.
public enum TopologyDescription {
    public static func render(_ t: Topology, plan: PipelinePlan, file: String) -> String {
        let m = t.model, mod = t.cluster.module
        let roofline = RooflineCostModel(
            module: mod, pimEfficiency: t.fidelity.pimEfficiency,
            processorEfficiency: t.fidelity.processorEfficiency)
        var out: [String] = ["\(file): valid topology '\(t.name)' (seed \(t.seed))"]
        out.append(
            "  model      \(m.name): \(m.layers) layers, hidden \(m.hidden), \(m.queryHeads) query / "
                + "\(m.kvHeads) KV heads × \(m.headDim), FFN \(m.ffn), vocab \(m.vocab), "
                + "up to \(m.maxContext) tokens; "
                + "weights \(Units.gib(Int64(m.layers) * m.weightBytesPerLayer + m.lmHeadBytes)), "
                + "KV \(m.kvBytesPerTokenPerLayer * Int64(m.layers) / 1024) KiB per token")
        out.append(
            String(
                format: "  cluster    %d × %@ module (%@): %d channels × %d banks, tCK %lld ps, %@, "
                    + "internal %.1f TB/s peak, PIM %.1f TFLOP/s, HUB %.1f TFLOP/s",
                t.cluster.modules, t.cluster.kind.rawValue, mod.preset, mod.channels, mod.banksPerChannel,
                mod.tCKps,
                Units.gib(mod.capacityBytes), mod.peakInternalBandwidth / 1e12, mod.pimPeakFLOPS / 1e12,
                mod.processorFLOPS / 1e12)
                + (mod.npu.map { npu in
                    let bandwidth = XPUPIMCostModel(pim: RooflineCostModel(module: mod), npu: npu, module: mod)
                        .npuBandwidth
                    return String(
                        format: ", NPU %.0f TFLOP/s reading %.0f GB/s, %d sub-batches", npu.flops / 1e12,
                        bandwidth / 1e9, npu.subBatches)
                } ?? ""))
        if let n = t.network {
            let s = n.nodeSwitch
            out.append(
                String(
                    format: "  network    %d nodes of %d modules (stages on nodes %@), host on node %d; per node a "
                        + "switch: module ports %.1f GB/s, host port %.1f GB/s, uplink %.1f GB/s, %.0f ns%@; "
                        + "NIC %.0f Gb/s, %.0f ns; fabric %@",
                    n.nodes, t.cluster.modules / n.nodes, n.stageNodes.map(String.init).joined(separator: " "),
                    n.hostNode, s.portBytesPerSecond / 1e9, s.hostPortBytesPerSecond / 1e9,
                    s.uplinkBytesPerSecond / 1e9, Double(s.latencyPs) / 1000,
                    s.capacityBytesPerSecond.map { String(format: ", capacity %.1f GB/s", $0 / 1e9) } ?? "",
                    n.nic.bytesPerSecond * 8 / 1e9, Double(n.nic.latencyPs) / 1000, n.fabric.rawValue))
        }
        out.append(
            String(
                format: "  links      host↔module %.1f GB/s, %.0f ns · module↔module %.1f GB/s, %.0f ns",
                t.links.host.bytesPerSecond / 1e9, Double(t.links.host.latencyPs) / 1000,
                t.links.module.bytesPerSecond / 1e9, Double(t.links.module.latencyPs) / 1000)
                + (t.parallelism.tp > 1
                    ? String(
                        format: " · TP group %.1f GB/s, %.0f ns", t.links.tp.bytesPerSecond / 1e9,
                        Double(t.links.tp.latencyPs) / 1000) : ""))
        let split = t.parallelism.layersPerStage.map(String.init).joined(separator: " ")
        let tp =
            t.parallelism.tp > 1
            ? " × tp \(t.parallelism.tp) (each stage \(t.parallelism.tp) modules splitting heads and FFN, "
                + "\(t.parallelism.collective.rawValue) all-reduce)" : ""
        out.append(
            "  pipeline   \(t.stages) stages\(tp), layers per stage \(split) (LM head on the last), "
                + "\(t.parallelism.microBatches) micro-batches")
        let w = t.workload
        let prompts = plan.requests.map(\.promptTokens)
        let source = w.trace != nil ? "a request trace" : "context \(w.context.label), \(w.arrival.label)"
        out.append(
            "  workload   \(plan.requests.count) requests from \(source); output tokens \(w.output.label); "
                + "prompts \(prompts.min() ?? 0)…\(prompts.max() ?? 0) tokens "
                + "(mean \(prompts.reduce(0, +) / max(prompts.count, 1)))"
        )
        out.append(
            "  batching   \(w.batching.rawValue), at most \(w.batchSize) requests at once; KV allocation "
                + "\(w.allocation.rawValue)"
                + (w.allocation == .dpa
                    ? " in \(w.chunkBytes / 1024) KiB chunks"
                    : " reserving T_max = \(w.maxContext) tokens per request"))
        switch t.fidelity.level {
        case .roofline:
            out.append(
                String(
                    format: "  fidelity   roofline (PIM efficiency %.3f%@, processor efficiency %.2f)",
                    roofline.pimEfficiency,
                    t.fidelity.pimEfficiency == nil ? " derived from the timing table" : "",
                    roofline.processorEfficiency))
        case .command:
            out.append(
                String(
                    format: "  fidelity   command (AiM commands: %@ scheduling, %@ attention partitioning, "
                        + "%d output-buffer entries; processor efficiency %.2f)",
                    t.fidelity.scheduling.rawValue, t.fidelity.partitioning.rawValue,
                    t.fidelity.obufEntries, roofline.processorEfficiency))
        }
        if let arithmetic = t.fidelity.functional {
            out.append(
                "  functional real tokens through the cluster in the \(arithmetic.rawValue) arithmetic, the "
                    + "\(t.fidelity.partitioning.rawValue) partitioning's attention "
                    + "(docs/MODEL.md, \"Functional runs\")")
        }
        out.append(
            String(
                format: "  host       %.1f µs per micro-batch step + %.2f µs per request",
                Double(t.host.stepOverheadPs) / 1e6, Double(t.host.perRequestPs) / 1e6))
        // The module that holds the fewest tokens of KV bounds the batch.
        func tokens(_ s: StagePlan) -> Int64 { s.memory.kvCapacityBytes / max(s.memory.kvBytesPerToken, 1) }
        let tightest = plan.stages.min { tokens($0) < tokens($1) }!
        let room = tightest.memory
        let perRequest =
            w.allocation == .static
            ? Int64(w.maxContext) * room.kvBytesPerToken
            : Int64((plan.requests.map(\.finalTokens).reduce(0, +)) / max(plan.requests.count, 1))
                * room.kvBytesPerToken
        out.append(
            String(
                format: "  memory     tightest module %d: weights %@ of %@, KV room %@ = about %lld requests "
                    + "of the %@ (%@ each)", tightest.index, Units.gib(room.weightBytes), Units.gib(room.capacityBytes),
                Units.gib(room.kvCapacityBytes), room.kvCapacityBytes / max(perRequest, 1),
                w.allocation == .static ? "T_max reservation" : "mean final length", Units.gib(perRequest)))
        return out.joined(separator: "\n")
    }
}
