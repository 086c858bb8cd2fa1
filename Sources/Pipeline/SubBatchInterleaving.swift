import PIMModule
import Workload

/// NeuPIMs' sub-batch interleaving on an xPU+PIM module: the micro-batch's requests are split into
/// `subBatches` groups; per layer each group runs its QKV part (first norm, QKV) on the NPU, its attention
/// (K/V append, QKᵀ, softmax, SV) on the PIM channels, then its O/FFN part on the NPU. The NPU and the PIM
/// channels each do one thing at a time, in the order NPU: pre(0), pre(1), …, then per layer and group
/// post(g, l), pre(g, l + 1); PIM: att(0, l), att(1, l), …; so one group's attention overlaps the others'
/// weight GEMVs (each group reads the weights again).
struct SubBatchInterleaving {
    let step: DecodeStep
    let costModel: any OpCostModel
    /// The stage's layers on this module.
    let layers: Int
    let subBatches: Int

    /// The time of the layers (without the LM head) for a micro-batch with these contexts; every group's
    /// operators are added to `cost`.
    func time(contexts: [Int], cost: inout StageCost) -> Picoseconds {
        let sizes = EvenSplit.sizes(contexts.count, parts: min(subBatches, contexts.count))
        var groups: [(pre: Picoseconds, attention: Picoseconds, post: Picoseconds)] = []
        var offset = 0
        for size in sizes {
            var g: (pre: Picoseconds, attention: Picoseconds, post: Picoseconds) = (0, 0, 0)
            for op in step.layerOps(contexts: Array(contexts[offset..<(offset + size)])) {
                let c = costModel.cost(of: op)
                cost.add(op, cost: c, times: Int64(layers))
                let time = c.latency
                switch op.kind {
                case .norm:
                    // The layer's two norms are one operator: the first before QKV, the second before the FFN.
                    g.pre += time / 2
                    g.post += time - time / 2
                case .qkvProjection: g.pre += time
                case let kind where kind.isAttention: g.attention += time
                default: g.post += time
                }
            }
            groups.append(g)
            offset += size
        }
        var npuFree: Picoseconds = 0, pimFree: Picoseconds = 0
        var preDone = groups.map { _ in Picoseconds(0) }
        for g in groups.indices {
            npuFree += groups[g].pre
            preDone[g] = npuFree
        }
        for layer in 0..<layers {
            for g in groups.indices {
                pimFree = max(pimFree, preDone[g]) + groups[g].attention
                npuFree = max(npuFree, pimFree) + groups[g].post
                if layer + 1 < layers {
                    npuFree += groups[g].pre
                    preDone[g] = npuFree
                }
            }
        }
        return npuFree
    }
}
