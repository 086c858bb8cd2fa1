import Synchronization

/// The time one channel takes for a kernel, and what it issued.
public struct KernelTiming: Sendable, Equatable {
    /// Cycles from the first command until every command has completed.
    public var cycles: Int64
    /// Commands issued by kind (indexed by `AiMCommandKind.rawValue`), refreshes included.
    public var counts: [Int64]
    /// The loop order the timer chose.
    public var order: LoopOrder

    public func count(_ kind: AiMCommandKind) -> Int64 { counts[kind.rawValue] }
}

/// Times GEMV kernels on one channel at command level, under one scheduling policy, and remembers every
/// result: identical kernels (same shape, mapping and schedule) take identical time, so each unique kernel
/// is simulated once. Every kernel starts right after a refresh (refresh phase 0); a kernel that starts
/// elsewhere in the refresh interval would see its refreshes shifted, which changes its time by at most one
/// refresh (PREA + nRFC + ACT16 ≈ 300 cycles) per kernel.
///
/// Long kernels (more than `blockThreshold` MAC16 commands) are timed by row-block decomposition: a kernel
/// is a sequence of identical DRAM-row blocks (one more DRAM row per chunk, or one more input chunk), so
/// without refresh its time is affine in the block count once the pipeline is in steady state. The timer
/// simulates the same kernel with 6, 7 and 8 blocks without refresh, checks that the two increments are
/// equal (otherwise it simulates the whole kernel), extends the line to the real block count, and then adds
/// the refreshes the stream would meet: n = ⌊(T + n·p) / nREFI⌋, where p is the mean stall per refresh
/// measured on a sample of the kernel long enough to meet about 16 refreshes (or nRTP + nRP + nRFC +
/// nRCDRDMAC − nCCDL when the sample meets none).
/// Without refresh the decomposition is exact; with it, the error is the refresh-phase error above (tested
/// against full simulation: under 1 %).
public final class KernelTimer: Sendable {
    public let module: ModuleConfig
    public let policy: SchedulingPolicy
    public let table: TimingTable
    public let lowering: GEMVLowering
    private let cache = Mutex<[GEMVShape: KernelTiming]>([:])
    /// MAC16 count above which kernels are timed by row-block decomposition.
    public let blockThreshold: Int64

    /// - Parameter obufEntries: output-buffer entries for `pingpong` and `dcs` (the LoL-PIM buffer);
    ///   `static` models AiM's single MAC register per bank.
    public init(module: ModuleConfig, policy: SchedulingPolicy, obufEntries: Int = 8, blockThreshold: Int64 = 50_000) {
        self.module = module
        self.blockThreshold = blockThreshold
        self.policy = policy
        table = TimingTable.of(module)
        lowering = GEMVLowering(module: module, obufEntries: policy == .static ? 1 : max(2, obufEntries))
    }

    /// Loop orders worth simulating for a shape (they differ only when the batch does not fit the GB).
    func orders(_ shape: GEMVShape) -> [LoopOrder] {
        lowering.geometry(shape).inputsPerFill >= shape.batch ? [.inputStationary] : LoopOrder.allCases
    }

    /// The representative of `shape`'s timing class. All banks move together and a MAC16 covers a whole
    /// 32 B column, so rows only matter per 16 (one per bank) and columns per 16 elements: shapes that agree
    /// on ceil(rows / 16) and ceil(columns / 16) issue the same commands. Attention slices grow by one token
    /// per step, so this exact equivalence lets consecutive steps share one simulation.
    public func canonical(_ shape: GEMVShape) -> GEMVShape {
        let banks = module.banksPerChannel, elements = module.columnBytes / 2
        return GEMVShape(rows: (shape.rows + banks - 1) / banks * banks,
                         columns: (shape.columns + elements - 1) / elements * elements, batch: shape.batch)
    }

    public func time(_ requested: GEMVShape) -> KernelTiming {
        let shape = canonical(requested)
        if let known = cache.withLock({ $0[shape] }) { return known }
        var best: KernelTiming?
        for order in orders(shape) {
            let timing = macCommands(shape) > blockThreshold
                ? (decomposed(shape, order: order) ?? simulate(shape, order: order, refresh: true))
                : simulate(shape, order: order, refresh: true)
            if best == nil || timing.cycles < best!.cycles { best = timing }
        }
        let result = best!
        cache.withLock { $0[shape] = result }
        return result
    }

    /// MAC16 commands of a shape: one per bank row, input column and input.
    func macCommands(_ shape: GEMVShape) -> Int64 {
        let g = lowering.geometry(shape)
        let columns = (shape.columns + module.columnBytes / 2 - 1) / (module.columnBytes / 2)
        return Int64(g.rowsPerBank) * Int64(columns) * Int64(shape.batch)
    }

    /// Full cycle-by-cycle simulation.
    public func simulate(_ shape: GEMVShape, order: LoopOrder, refresh: Bool) -> KernelTiming {
        var engine = ChannelEngine(table: table, refresh: refresh)
        Scheduler(policy: policy).run(lowering.program(shape, order: order), on: &engine)
        return KernelTiming(cycles: engine.endCycle, counts: engine.counts, order: order)
    }

    /// Row-block decomposition (see the type's documentation); nil when the kernel has too few blocks or
    /// the increments are not steady.
    public func decomposed(_ shape: GEMVShape, order: LoopOrder) -> KernelTiming? {
        let g = lowering.geometry(shape)
        let banks = module.banksPerChannel, elements = module.columnBytes / 2
        let dramRows = (g.rowsPerBank + g.segmentsPerRow - 1) / g.segmentsPerRow
        let sample: (Int) -> GEMVShape
        let blocks: Int
        if dramRows >= 16 {
            // One more DRAM row per chunk; the last row keeps its partial segment count.
            let lastSegments = g.rowsPerBank - (dramRows - 1) * g.segmentsPerRow
            sample = { GEMVShape(rows: (($0 - 1) * g.segmentsPerRow + lastSegments) * banks, columns: shape.columns,
                                 batch: shape.batch) }
            blocks = dramRows
        } else if g.chunks >= 16 {
            let columnsPerInput = (shape.columns + elements - 1) / elements
            let lastColumns = columnsPerInput - (g.chunks - 1) * g.chunkColumns
            sample = { GEMVShape(rows: shape.rows, columns: (($0 - 1) * g.chunkColumns + lastColumns) * elements,
                                 batch: shape.batch) }
            blocks = g.chunks
        } else {
            return nil
        }
        let points = [6, 7, 8].map { simulate(sample($0), order: order, refresh: false) }
        let step = points[1].cycles - points[0].cycles
        guard points[2].cycles - points[1].cycles == step, step > 0 else { return nil }
        let extra = Int64(blocks - 6)
        var counts = zip(points[0].counts, points[1].counts).map { $0 + ($1 - $0) * extra }
        let base = points[0].cycles + step * extra
        let t = module.timing
        // The stall one refresh causes in this kernel's stream, averaged over a sample long enough to meet
        // about 16 refreshes (at most the kernel itself), else the row-stream stall
        // nRTP + nRP + nRFC + nRCDRDMAC − nCCDL.
        let sampleBlocks = min(blocks, 8 + Int((16 * Int64(t.nREFI) + step - 1) / step))
        let plain = simulate(sample(sampleBlocks), order: order, refresh: false)
        let refreshed = simulate(sample(sampleBlocks), order: order, refresh: true)
        let met = refreshed.count(.ref)
        let penalty = met > 0 ? (refreshed.cycles - plain.cycles + met / 2) / met
            : Int64(t.nRTP + t.nRP + t.nRFC + t.nRCDRDMAC - t.nCCDL)
        var refreshes: Int64 = 0
        while true {
            let next = (base + refreshes * penalty) / Int64(t.nREFI)
            if next == refreshes { break }
            refreshes = next
        }
        counts[AiMCommandKind.ref.rawValue] += refreshes
        counts[AiMCommandKind.prea.rawValue] += refreshes
        counts[AiMCommandKind.act16.rawValue] += refreshes
        return KernelTiming(cycles: base + refreshes * penalty, counts: counts, order: order)
    }

    /// The command trace of a kernel in the loop order `time` picks.
    public func trace(_ requested: GEMVShape, channel: Int = 0) -> [IssuedCommand] {
        let shape = canonical(requested)
        let order = time(shape).order
        var engine = ChannelEngine(table: table, record: true, channel: channel)
        Scheduler(policy: policy).run(lowering.program(shape, order: order), on: &engine)
        return engine.trace ?? []
    }

    /// Unique kernels simulated so far.
    public var cachedKernels: Int { cache.withLock { $0.count } }
}
