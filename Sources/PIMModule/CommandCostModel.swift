import Synchronization
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

    /// DPA chunk placement, when the KV cache is allocated in chunks (nil: contiguous, static allocation).
    public let chunkLayout: ChunkLayout?
    /// K/V append kernels by columns per token, simulated once.
    private let appendKernels = AppendKernels()

    public init(
        module: ModuleConfig, scheduling: SchedulingPolicy, partitioning: AttentionPartitioning,
        obufEntries: Int = 8, processorEfficiency: Double = RooflineCostModel.defaultProcessorEfficiency,
        chunkLayout: ChunkLayout? = nil, refresh: Bool = true, store: (any KernelTimingStore)? = nil,
        inFlight: KernelsInFlight? = nil
    ) {
        self.module = module
        self.chunkLayout = chunkLayout
        timer = KernelTimer(
            module: module, policy: scheduling, obufEntries: obufEntries, refresh: refresh,
            store: store, inFlight: inFlight)
        self.partitioning = partitioning
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

    /// Attention of every (request, KV head) pair, as `AttentionPartitioning.assign` spreads it. Slices
    /// are grouped by size instead of listed: token-parallel slices of one pair differ by at most one token.
    func attention(_ kind: OpKind, contexts: [Int], group: Int, kvHeads: Int, headDim: Int) -> OpCost {
        var memo: [Int: KernelTiming] = [:]
        func kernel(_ tokens: Int) -> KernelTiming {
            if let k = memo[tokens] { return k }
            let k = timer.time(
                kind == .attentionScore
                    ? GEMVShape(rows: tokens, columns: headDim, batch: group)
                    : GEMVShape(rows: headDim, columns: tokens, batch: group))
            memo[tokens] = k
            return k
        }
        let channels = module.channels
        var commands = CommandCounts()
        if timer.policy == .static {
            return staticAttention(kind, contexts: contexts, group: group, kvHeads: kvHeads, headDim: headDim)
        }
        // SV slices longer than one DRAM row of tokens leave one partial sum per chunk; the HUB adds them.
        func chunkAdditions(_ tokens: Int) -> Int64 {
            guard kind == .attentionValue, tokens > 0 else { return 0 }
            let chunks = timer.lowering.geometry(GEMVShape(rows: headDim, columns: tokens, batch: group)).chunks
            return Int64(chunks - 1) * Int64(headDim * group)
        }
        switch partitioning {
        case .tokenParallel:
            // All channels work on one pair at a time; the channels with the extra token decide.
            var cycles: Int64 = 0
            var perChannel = Array(repeating: Int64(0), count: channels)
            var additions: Int64 = 0
            for tokens in contexts {
                let small = tokens / channels, extra = tokens % channels
                let large = kernel(small + (extra > 0 ? 1 : 0))
                cycles += large.cycles * Int64(kvHeads)
                let smallCycles = small > 0 ? kernel(small).cycles : 0
                for c in 0..<channels { perChannel[c] += (c < extra ? large.cycles : smallCycles) * Int64(kvHeads) }
                commands = commands + CommandCounts(large.counts) * Int64(extra * kvHeads)
                if small > 0 {
                    commands = commands + CommandCounts(kernel(small).counts) * Int64((channels - extra) * kvHeads)
                }
                additions +=
                    Int64(kvHeads)
                    * (Int64(extra) * chunkAdditions(small + 1)
                        + Int64(channels - extra) * chunkAdditions(small))
            }
            // The channels' SV partial sums are reduced once per (request, head) in the HUB.
            if kind == .attentionValue {
                additions += Int64(contexts.count * kvHeads * group * headDim) * Int64(channels - 1)
            }
            return OpCost(
                latency: cycles * cyclePs + hubTime(additions), commands: commands, hubFlops: additions,
                channelBusy: perChannel.map { $0 * cyclePs })
        case .headFirst:
            var perChannel = Array(repeating: Int64(0), count: channels)
            var additions: Int64 = 0
            for (request, tokens) in contexts.enumerated() {
                let k = kernel(tokens)
                commands = commands + CommandCounts(k.counts) * Int64(kvHeads)
                additions += Int64(kvHeads) * chunkAdditions(tokens)
                for head in 0..<kvHeads { perChannel[(request * kvHeads + head) % channels] += k.cycles }
            }
            return OpCost(
                latency: (perChannel.max() ?? 0) * cyclePs + hubTime(additions), commands: commands,
                hubFlops: additions, channelBusy: perChannel.map { $0 * cyclePs })
        }
    }

    /// Attention under `static` scheduling: the operator's AiM program (`AttentionProgram`) timed on all
    /// channels by the AiM controller model, either replayed whole or composed unit by unit: every unit alone
    /// plus what each unit costs after the previous one (`KernelTimer.boundary`), which equals replaying the
    /// whole operator (tested); then the expected refresh stalls. A channel is busy for its own slice's kernel
    /// time in each unit.
    /// The HUB adds SV partial sums as in the other policies: chunks − 1 per output of each slice, and
    /// (token-parallel) the channels' partial outputs.
    func staticAttention(_ kind: OpKind, contexts: [Int], group: Int, kvHeads: Int, headDim: Int) -> OpCost {
        let program = AttentionProgram(timer: timer, partitioning: partitioning)
        let phase: AttentionProgram.Phase = kind == .attentionScore ? .score : .value
        var total = KernelTiming(cycles: 0, counts: CommandCounts().values, order: .inputStationary)
        func add(_ t: KernelTiming, times n: Int64 = 1) {
            total.cycles += t.cycles * n
            total.counts = zip(total.counts, t.counts).map { $0 + $1 * n }
        }
        var perChannel = Array(repeating: Int64(0), count: module.channels)
        var additions: Int64 = 0
        let units = program.units(phase, contexts: contexts, kvHeads: kvHeads, group: group, headDim: headDim)
        // Runs of equal consecutive units (token-parallel: the KV heads of one request), each looked up once.
        var runs: [(unit: AttentionProgram.Unit, count: Int64)] = []
        for unit in units {
            if let last = runs.last, last.unit == unit {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((unit, 1))
            }
        }
        // Composition pays when units recur (token-parallel: every KV head of a request has the same unit) or
        // are long enough to decompose; otherwise (head-first waves of different requests' contexts) it would
        // replay each unit three times, alone and in both its boundaries, so the operator is replayed once.
        // A run of n equal units is n units and the n − 1 boundaries between them.
        let recur = runs.count < units.count || Set(units).count < units.count
        if recur || units.contains(where: { timer.unitBlocks($0) != nil }) {
            for (i, run) in runs.enumerated() {
                add(timer.time(run.unit, program: program), times: run.count)
                if i > 0 { add(timer.boundary(runs[i - 1].unit, run.unit, program: program)) }
                if run.count > 1 { add(timer.boundary(run.unit, run.unit, program: program), times: run.count - 1) }
            }
        } else {
            add(timer.time(wholeProgram: units, program: program))
        }
        for run in runs {
            for (c, shape) in run.unit.shapes.enumerated() {
                guard let shape else { continue }
                perChannel[c] += timer.time(shape).cycles * run.count
                if phase == .value {
                    additions += Int64(timer.lowering.geometry(shape).chunks - 1) * Int64(headDim * group) * run.count
                }
            }
        }
        if timer.refresh { total = timer.withExpectedRefresh(total) }
        if phase == .value && partitioning == .tokenParallel {
            additions += Int64(contexts.count * kvHeads * group * headDim) * Int64(module.channels - 1)
        }
        let busy = perChannel.map { min($0, total.cycles) * cyclePs }
        return OpCost(
            latency: total.cycles * cyclePs + hubTime(additions), commands: CommandCounts(total.counts),
            hubFlops: additions, channelBusy: busy)
    }

    /// K/V appends of `pairs` (request, KV head) pairs spread over the channels.
    func append(pairs: Int, headDim: Int) -> OpCost {
        guard pairs > 0 else { return OpCost(latency: 0) }
        let columns = (headDim * 2 + module.columnBytes - 1) / module.columnBytes
        let kernel = appendKernels.kernel(module: module, columns: columns)
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

/// The append kernels a cost model has simulated, by columns per token.
final class AppendKernels: Sendable {
    private let kernels = Mutex<[Int: AppendKernel]>([:])

    func kernel(module: ModuleConfig, columns: Int) -> AppendKernel {
        if let known = kernels.withLock({ $0[columns] }) { return known }
        let kernel = AppendKernel(table: TimingTable.of(module), columns: columns)
        kernels.withLock { $0[columns] = kernel }
        return kernel
    }
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
