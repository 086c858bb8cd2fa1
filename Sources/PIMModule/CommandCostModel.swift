import Workload

/// The `command` fidelity: PIM operators are lowered to AiM command streams (GEMVLowering) and timed
/// cycle by cycle on a channel by the scheduling policy's backend (`ChannelBackend`); HUB work (softmax, norms,
/// element-wise operators, partial-sum reductions) runs on the HUB processor as in the roofline model.
///
/// - GEMV: output rows spread over channels (ceil(rows / channels) per channel, all channels in lock-step);
///   the HUB adds the partial sums of inputs longer than one DRAM row (chunks − 1 additions per output).
/// - Attention: the partitioning's mapping (`AttentionMapping`) gives each channel its slices and each slice its
///   GEMV; the backend times the operator (`ChannelBackend.attention`); the HUB adds SV partial sums.
/// - K/V append: K of a token is 8 columns in one bank (ACT16, 8 WR, PREA); V, stored transposed, is
///   written 16 tokens at a time from a HUB staging buffer (per 16 tokens: 8 row groups of ACT16, 16 WR,
///   PREA), so a token costs 1/16 of that. Appends of different (request, head) pairs go to different
///   channels, ceil(pairs / channels) per channel.
public struct CommandCostModel: OpCostModel {
    public let module: ModuleConfig
    public let timer: KernelTimer
    /// How attention is spread over the channels (`AttentionPartitioning.mapping`).
    public let mapping: any AttentionMapping
    public let processor: RooflineCostModel

    /// DPA chunk placement, when the KV cache is allocated in chunks (nil: contiguous, static allocation).
    public let chunkLayout: ChunkLayout?
    /// K/V append kernels by columns per token, simulated once.
    private let appendKernels = SharedComputations<Int, AppendKernel>(keeping: .max)
    /// The cost of one weight matrix at one batch (`gemv`), worked out once: every layer of every micro-batch of
    /// a batch size asks for the same few.
    private let gemvCosts = SharedComputations<GEMVCostKey, OpCost>(keeping: .max)

    public init(
        module: ModuleConfig, scheduling: SchedulingPolicy, mapping: any AttentionMapping,
        obufEntries: Int = 8, processorEfficiency: Double = RooflineCostModel.defaultProcessorEfficiency,
        chunkLayout: ChunkLayout? = nil, refresh: Bool = true, store: (any KernelTimingStore)? = nil,
        inFlight: KernelsInFlight? = nil
    ) {
        self.module = module
        self.chunkLayout = chunkLayout
        timer = KernelTimer(
            module: module, policy: scheduling, obufEntries: obufEntries, refresh: refresh,
            store: store, inFlight: inFlight)
        self.mapping = mapping
        processor = RooflineCostModel(module: module, processorEfficiency: processorEfficiency)
    }

    var cyclePs: Picoseconds { module.tCKps }

    public func cost(of op: DecodeOp) -> OpCost {
        switch (op.unit, op.shape) {
        case (.pim, .gemv(let matrices, let batch)):
            return matrices.reduce(OpCost(latency: 0)) { $0 + gemv($1, batch: batch) }
        case (.pim, .attention(let contexts, let queryHeads, let kvHeads, let headDim)):
            var cost = attention(
                op.kind, contexts: contexts, group: queryHeads / kvHeads, kvHeads: kvHeads,
                headDim: headDim)
            let penalty = chunkEdgePenalty(contexts: contexts, kvHeads: kvHeads, headDim: headDim)
            cost.latency += penalty
            cost.channelBusy = cost.channelBusy.map { $0 + penalty }
            return cost
        case (.pim, .append(let requests, let kvHeads, let headDim)):
            return append(pairs: requests * kvHeads, headDim: headDim)
        default:
            return processor.cost(of: op)
        }
    }

    /// `count` items (matrix rows, append pairs) spread over the channels: ceil or floor of count / channels each.
    func spreadOverChannels(_ rows: Int) -> [Int] {
        EvenSplit.sizes(rows, parts: module.channels)
    }

    /// One weight matrix on all channels in lock-step (the busiest channel decides), plus the HUB's
    /// partial-sum additions.
    func gemv(_ m: Matrix, batch: Int) -> OpCost {
        gemvCosts.value(GEMVCostKey(matrix: m, batch: batch)) { timedGEMV(m, batch: batch) }
    }

    private func timedGEMV(_ m: Matrix, batch: Int) -> OpCost {
        var commands = CommandCounts()
        var kernels: [Int: KernelTiming] = [:]
        for (rows, count) in Dictionary(grouping: spreadOverChannels(m.rows), by: { $0 }).mapValues(\.count)
        where rows > 0 {
            let kernel = timer.time(GEMVShape(rows: rows, columns: m.columns, batch: batch))
            kernels[rows] = kernel
            commands = commands + CommandCounts(kernel.counts) * Int64(count)
        }
        let busy = spreadOverChannels(m.rows).map { (kernels[$0]?.cycles ?? 0) * cyclePs }
        let chunks = timer.lowering.geometry(GEMVShape(rows: m.rows, columns: m.columns, batch: batch)).chunks
        let additions = Int64(m.rows) * Int64(batch) * Int64(chunks - 1)
        return OpCost(
            latency: (busy.max() ?? 0) + hubTime(additions), commands: commands, hubFlops: additions,
            channelBusy: busy)
    }

    /// Attention of every (request, KV head) pair, as the partitioning's mapping spreads it over the channels and
    /// the backend times it (`ChannelBackend.attention`), plus the HUB's additions.
    func attention(_ kind: OpKind, contexts: [Int], group: Int, kvHeads: Int, headDim: Int) -> OpCost {
        let op = AttentionOperator(
            phase: kind == .attentionScore ? .score : .value, contexts: contexts, kvHeads: kvHeads, group: group,
            headDim: headDim)
        let timing = timer.attention(op, mapping: mapping)
        return OpCost(
            latency: timing.cycles * cyclePs + hubTime(timing.hubAdditions), commands: CommandCounts(timing.counts),
            hubFlops: timing.hubAdditions, channelBusy: timing.busy.map { $0 * cyclePs })
    }

    /// K/V appends of `pairs` (request, KV head) pairs spread over the channels.
    func append(pairs: Int, headDim: Int) -> OpCost {
        guard pairs > 0 else { return OpCost(latency: 0) }
        let columns = (headDim * 2 + module.columnBytes - 1) / module.columnBytes
        let kernel = appendKernels.value(columns) { AppendKernel(table: TimingTable.of(module), columns: columns) }
        let busy = spreadOverChannels(pairs).map { Int64($0) * kernel.cycles * cyclePs }
        return OpCost(latency: busy.max() ?? 0, commands: kernel.commands(pairs: Int64(pairs)), channelBusy: busy)
    }

    /// Under DPA with chunks that are not a whole number of row groups, a request's K (or V) cache of one
    /// layer, bytes = tokens × kv_heads × head_dim × 2 B, is cut at every chunk edge; each edge that falls
    /// inside a DRAM row forces an unplanned row change in every channel: the open row closes after nRTP,
    /// precharges (nRP) and the next chunk's row opens (nRCDRDMAC). Aligned chunks (1 MB on a 32-channel,
    /// 16-bank, 2 KB-row module) cost nothing.
    func chunkEdgePenalty(contexts: [Int], kvHeads: Int, headDim: Int) -> Picoseconds {
        guard let layout = chunkLayout, layout.splitsRows else { return 0 }
        let t = module.timing
        let stall = Int64(t.nRTP + t.nRP + t.nRCDRDMAC)
        var edges: Int64 = 0
        for tokens in contexts {
            let bytes = Int64(tokens) * Int64(kvHeads * headDim * 2)
            let chunks = Int((bytes + layout.chunkBytes - 1) / layout.chunkBytes)
            edges += Int64(layout.extraRowActivations(chunks: chunks))
        }
        return edges * stall * cyclePs
    }

    /// Time of `count` additions on the HUB processor.
    func hubTime(_ count: Int64) -> Picoseconds {
        count <= 0 ? 0 : processor.latency(of: DecodeOp(.residual, .processor, flops: count))
    }
}

/// What a GEMV's cost depends on besides the module: the matrix and the batch.
private struct GEMVCostKey: Hashable, Sendable {
    var matrix: Matrix
    var batch: Int
}

/// The command cost of appending one token's K and V for one (request, KV head) pair: K is `columns`
/// WR into one bank (ACT16, WR…, PREA); V, stored transposed, is written 16 tokens at a time from a HUB
/// staging buffer (`columns` row groups of ACT16, 16 WR, PREA), so a token costs 1/16 of that.
struct AppendKernel: Sendable {
    let k: ChannelEngine
    let v: ChannelEngine

    init(table: TimingTable, columns: Int) {
        var k = ChannelEngine(table: table, refresh: false)
        k.issueEarliest(AiMCommand(.act16, row: 0))
        for c in 0..<columns { k.issueEarliest(AiMCommand(.wr, bank: 0, row: 0, column: c)) }
        k.issueEarliest(AiMCommand(.prea))
        var v = ChannelEngine(table: table, refresh: false)
        for group in 0..<columns {
            v.issueEarliest(AiMCommand(.act16, row: group))
            for bank in 0..<table.banks { v.issueEarliest(AiMCommand(.wr, bank: bank, row: group, column: 0)) }
            v.issueEarliest(AiMCommand(.prea))
        }
        self.k = k
        self.v = v
    }

    /// Cycles per token, V rounded up.
    var cycles: Int64 { k.endCycle + (v.endCycle + 15) / 16 }

    /// Commands of `pairs` appends (V's share rounded to the nearest command).
    func commands(pairs: Int64) -> CommandCounts {
        CommandCounts(zip(k.counts, v.counts).map { pairs * $0 + (pairs * $1 + 8) / 16 })
    }
}
