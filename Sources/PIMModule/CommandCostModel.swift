import Workload

/// The `command` fidelity: PIM operators are lowered to AiM command streams (GEMVLowering) and timed
/// cycle by cycle on a channel (ChannelEngine under a SchedulingPolicy); HUB work (softmax, norms,
/// element-wise operators, partial-sum reductions) runs on the HUB processor as in the roofline model.
///
/// - GEMV: output rows spread over channels (ceil(rows / channels) per channel, all channels in lock-step);
///   the HUB adds the partial sums of inputs longer than one DRAM row (chunks − 1 additions per output).
/// - Attention: QKᵀ of a (request, KV head) slice is a GEMV with the slice's tokens as rows, head_dim as
///   columns and the GQA group's query heads as inputs (they share the open K rows); SV is a GEMV with
///   head_dim rows over the slice's tokens (V is stored transposed: a dimension's tokens along a row) and
///   the group's score vectors as inputs. Token-parallel: Σ over (request, head) of the busiest channel's
///   slice, plus the HUB reduction of the channels' SV partial sums. Head-first: the busiest channel's sum.
/// - K/V append: K of a token is 8 columns in one bank (ACT16, 8 WR, PREA); V, stored transposed, is
///   written 16 tokens at a time from a HUB staging buffer (per 16 tokens: 8 row groups of ACT16, 16 WR,
///   PREA), so a token costs 1/16 of that. Appends of different (request, head) pairs go to different
///   channels, ceil(pairs / channels) per channel.
public struct CommandCostModel: OpCostModel {
    public let module: ModuleConfig
    public let timer: KernelTimer
    public let partitioning: AttentionPartitioning
    public let processor: RooflineCostModel

    public init(module: ModuleConfig, scheduling: SchedulingPolicy, partitioning: AttentionPartitioning,
                obufEntries: Int = 8, processorEfficiency: Double = RooflineCostModel.defaultProcessorEfficiency) {
        self.module = module
        timer = KernelTimer(module: module, policy: scheduling, obufEntries: obufEntries)
        self.partitioning = partitioning
        processor = RooflineCostModel(module: module, processorEfficiency: processorEfficiency)
    }

    var cyclePs: Picoseconds { module.tCKps }

    public func latency(of op: DecodeOp) -> Picoseconds {
        switch (op.unit, op.shape) {
        case (.pim, .gemv(let matrices, let batch)):
            return matrices.reduce(0) { $0 + gemv($1, batch: batch) }
        case (.pim, .attention(let contexts, let queryHeads, let kvHeads, let headDim)):
            return attention(op.kind, contexts: contexts, group: queryHeads / kvHeads, kvHeads: kvHeads,
                             headDim: headDim)
        case (.pim, .append(let requests, let kvHeads, let headDim)):
            return append(pairs: requests * kvHeads, headDim: headDim)
        default:
            return processor.latency(of: op)
        }
    }

    /// One weight matrix on all channels, plus the HUB's partial-sum additions.
    func gemv(_ m: Matrix, batch: Int) -> Picoseconds {
        let rows = (m.rows + module.channels - 1) / module.channels
        let kernel = timer.time(GEMVShape(rows: rows, columns: m.columns, batch: batch))
        let chunks = timer.lowering.geometry(GEMVShape(rows: rows, columns: m.columns, batch: batch)).chunks
        return kernel.cycles * cyclePs + hubAdditions(Int64(m.rows) * Int64(batch) * Int64(chunks - 1))
    }

    func attention(_ kind: OpKind, contexts: [Int], group: Int, kvHeads: Int, headDim: Int) -> Picoseconds {
        let slices = partitioning.assign(contexts: contexts, kvHeads: kvHeads, channels: module.channels)
        func sliceCycles(_ tokens: Int) -> Int64 {
            let shape = kind == .attentionScore
                ? GEMVShape(rows: tokens, columns: headDim, batch: group)
                : GEMVShape(rows: headDim, columns: tokens, batch: group)
            return timer.time(shape).cycles
        }
        switch partitioning {
        case .tokenParallel:
            // Channel 0 holds the largest slice of every pair (ranges differ by at most one token).
            let cycles = slices[0].reduce(Int64(0)) { $0 + sliceCycles($1.tokens) }
            let reduce: Int64 = kind == .attentionValue
                ? Int64(contexts.count * kvHeads * group * headDim) * Int64(module.channels - 1) : 0
            return cycles * cyclePs + hubAdditions(reduce)
        case .headFirst:
            let busiest = slices.map { $0.reduce(Int64(0)) { $0 + sliceCycles($1.tokens) } }.max() ?? 0
            return busiest * cyclePs
        }
    }

    /// K/V appends of `pairs` (request, KV head) pairs spread over the channels.
    func append(pairs: Int, headDim: Int) -> Picoseconds {
        guard pairs > 0 else { return 0 }
        let perChannel = Int64((pairs + module.channels - 1) / module.channels)
        let columns = (headDim * 2 + module.columnBytes - 1) / module.columnBytes
        return perChannel * AppendKernel.cycles(table: timer.table, columns: columns) * cyclePs
    }

    /// Additions on the HUB processor (1 flop each).
    func hubAdditions(_ count: Int64) -> Picoseconds {
        count <= 0 ? 0 : processor.latency(of: DecodeOp(.residual, .processor, flops: count))
    }
}

/// The command cost of appending one token's K and V for one (request, KV head) pair.
enum AppendKernel {
    /// Cycles of K (ACT16, `columns` WR, PREA) plus 1/16 of the V write-back of 16 staged tokens
    /// (`columns` row groups of ACT16, 16 WR, PREA), rounded up.
    static func cycles(table: TimingTable, columns: Int) -> Int64 {
        var k = ChannelEngine(table: table, refresh: false)
        k.issueEarliest(AiMCommand(.act16, row: 0))
        for c in 0..<columns { k.issueEarliest(AiMCommand(.wr, bank: 0, row: 0, column: c)) }
        k.issueEarliest(AiMCommand(.prea))
        var v = ChannelEngine(table: table, refresh: false)
        for group in 0..<columns {
            v.issueEarliest(AiMCommand(.act16, row: group))
            for bank in 0..<16 { v.issueEarliest(AiMCommand(.wr, bank: bank, row: group, column: 0)) }
            v.issueEarliest(AiMCommand(.prea))
        }
        return k.endCycle + (v.endCycle + 15) / 16
    }
}
