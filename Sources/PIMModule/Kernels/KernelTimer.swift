import Synchronization

/// The time one channel takes for a kernel, and what it issued.
public struct KernelTiming: Sendable, Equatable {
    /// Cycles from the first command until every command has completed.
    public var cycles: Int64
    /// Commands issued by kind (indexed by `AiMCommandKind.rawValue`), refreshes included.
    public var counts: [Int64]
    /// The loop order the timer chose.
    public var order: LoopOrder

    public init(cycles: Int64, counts: [Int64], order: LoopOrder) {
        self.cycles = cycles
        self.counts = counts
        self.order = order
    }

    public func count(_ kind: AiMCommandKind) -> Int64 { counts[kind.rawValue] }
}

/// Times GEMV kernels on one channel at command level on one backend (`ChannelBackend`, chosen by the scheduling
/// policy), and remembers every result: identical kernels (same shape, mapping and schedule) take identical time,
/// so each unique kernel is simulated once.
///
/// Refresh: a kernel's command stream is simulated without refresh, exactly, and then pays the refreshes it
/// meets on average over the refresh phase: every nREFI cycles a refresh stalls a row stream for
/// p = `AiMTiming.refreshStallCycles` (308 cycles for `GDDR6_AiM`), so T refresh-free cycles become
/// T · nREFI / (nREFI − p), with T / (nREFI − p) refreshes (rounded). Real refresh timing depends on where in
/// the refresh interval a kernel starts; the expected value avoids biasing short kernels (shorter than
/// nREFI) either way. The engine itself refreshes exactly when asked (traces, replays, tests).
///
/// Long kernels (more than `blockThreshold` MAC16 commands) are timed by row-block decomposition: a kernel
/// is a sequence of identical DRAM-row blocks (one more DRAM row per chunk, or one more input chunk), so
/// without refresh its time is affine in the block count once the pipeline is in steady state. The timer
/// simulates the same kernel with 6, 7 and 8 blocks, checks that the two increments are equal (otherwise it
/// simulates the whole kernel) and extends the line to the real block count: exact (tested).
public final class KernelTimer: Sendable {
    public let module: ModuleConfig
    /// What runs the kernels: timing rules, output buffer, simulator.
    public let backend: any ChannelBackend
    public var policy: SchedulingPolicy { backend.policy }
    /// The timing rules its kernels are simulated under (the backend's).
    public var table: TimingTable { backend.table }
    public let lowering: GEMVLowering
    private let cache = Mutex<[GEMVShape: KernelTiming]>([:])
    private let unitCache = Mutex<[[AttentionProgram.Unit]: KernelTiming]>([:])
    /// A block sample of a long GEMV (`decomposed`) in one loop order.
    struct SampleKey: Hashable, Sendable {
        var shape: GEMVShape
        var order: LoopOrder
    }
    private let sampleCache = Mutex<[SampleKey: KernelTiming]>([:])
    /// MAC16 count above which kernels are timed by row-block decomposition.
    public let blockThreshold: Int64
    /// Whether `time` adds the expected refresh stalls (off: refresh-free timings throughout).
    public let refresh: Bool
    /// Where timings outlive this timer (nil: this process's memory only).
    public let store: (any KernelTimingStore)?
    /// The kernels other timers of this process are simulating now, to wait for instead of repeating (nil: none).
    public let inFlight: KernelsInFlight?
    /// What decides this timer's kernels besides their own shape (`KernelKey.context`).
    public let storeContext: String

    /// - Parameter obufEntries: output-buffer entries for `pingpong` and `dcs` (the LoL-PIM buffer); the `static`
    ///   backend models AiM's single MAC register per bank.
    public init(
        module: ModuleConfig, policy: SchedulingPolicy, obufEntries: Int = 8, blockThreshold: Int64 = 50_000,
        refresh: Bool = true, store: (any KernelTimingStore)? = nil, inFlight: KernelsInFlight? = nil
    ) {
        self.inFlight = inFlight
        self.module = module
        self.blockThreshold = blockThreshold
        self.refresh = refresh
        backend = policy.backend(module: module, obufEntries: obufEntries)
        lowering = GEMVLowering(module: module, obufEntries: backend.obufEntries)
        self.store = store
        storeContext = Self.storeContext(
            module: module, policy: policy, table: backend.table, lowering: lowering,
            blockThreshold: blockThreshold, refresh: refresh)
    }

    /// The timing of `key`: this timer's memory, else another thread's simulation of it under way
    /// (`KernelsInFlight`), else the store, else `compute` (then remembered and stored).
    private func remembered<Key: Hashable & Sendable>(
        _ memoryKey: Key, in memory: borrowing Mutex<[Key: KernelTiming]>,
        store storeKey: @autoclosure () -> KernelKey,
        compute: () -> KernelTiming
    ) -> KernelTiming {
        if let known = memory.withLock({ $0[memoryKey] }) { return known }
        let key = storeKey()
        func lookUp() -> KernelTiming {
            if let stored = store?.timing(key) { return stored }
            let computed = compute()
            store?.record(key, computed)
            return computed
        }
        let (result, fromOther) = inFlight?.lookUp(key, compute: lookUp) ?? (lookUp(), false)
        // Another thread's timer simulated it, and recorded it in its own store, usually the same file: this
        // timer's store then answers (a hit), else it is recorded there too.
        if fromOther, let store, store.timing(key) == nil { store.record(key, result) }
        memory.withLock { $0[memoryKey] = result }
        return result
    }

    /// Loop orders worth simulating for a shape (they differ only when the batch does not fit the GB).
    func orders(_ shape: GEMVShape) -> [LoopOrder] {
        lowering.geometry(shape).inputsPerFill >= shape.batch ? [.inputStationary] : LoopOrder.allCases
    }

    /// The representative of `shape`'s timing class (`GEMVLowering.canonical`).
    public func canonical(_ shape: GEMVShape) -> GEMVShape { lowering.canonical(shape) }

    public func time(_ requested: GEMVShape) -> KernelTiming {
        let shape = canonical(requested)
        return remembered(shape, in: cache, store: storeKey(shape)) {
            var best: KernelTiming?
            for order in orders(shape) {
                let base =
                    (macCommands(shape) > blockThreshold ? decomposed(shape, order: order) : nil)
                    ?? simulate(shape, order: order, refresh: false)
                let timing = refresh ? withExpectedRefresh(base) : base
                if best == nil || timing.cycles < best!.cycles { best = timing }
            }
            return best!
        }
    }

    /// MAC16 commands of a shape: one per bank row, input column and input.
    func macCommands(_ shape: GEMVShape) -> Int64 {
        let g = lowering.geometry(shape)
        let columns = (shape.columns + module.columnBytes / 2 - 1) / (module.columnBytes / 2)
        return Int64(g.rowsPerBank) * Int64(columns) * Int64(shape.batch)
    }

    /// Full cycle-by-cycle simulation on the backend, refreshing from cycle 0 when `refresh` is on.
    public func simulate(_ shape: GEMVShape, order: LoopOrder, refresh: Bool) -> KernelTiming {
        backend.simulate(shape, order: order, lowering: lowering, refresh: refresh)
    }

    /// The kernel's AiM instructions on the channels of `mask` (channel 0 by default), ending with EOC.
    public func aimProgram(
        _ shape: GEMVShape, order: LoopOrder,
        mask: Int = AiMInstruction.mask([0])
    ) -> [AiMInstruction] {
        lowering.aimInstructions(canonical(shape), order: order, mask: mask) + [AiMInstruction(.eoc)]
    }

    /// Row-block decomposition of the refresh-free timing (see the type's documentation); nil when the
    /// kernel has too few blocks or the increments are not steady.
    public func decomposed(_ shape: GEMVShape, order: LoopOrder) -> KernelTiming? {
        guard let (blocks, sample) = blockSamples(shape) else { return nil }
        return extrapolate(blocks: blocks) { sampleTiming(sample($0), order: order) }
    }

    /// The refresh-free simulation of a block sample in one loop order, remembered: kernels whose last block
    /// is the same share their samples.
    func sampleTiming(_ shape: GEMVShape, order: LoopOrder) -> KernelTiming {
        let key = SampleKey(shape: shape, order: order)
        return remembered(key, in: sampleCache, store: sampleStoreKey(shape, order: order)) {
            simulate(shape, order: order, refresh: false)
        }
    }

    /// A kernel as a sequence of identical blocks: one more DRAM row per chunk (the last row keeps its
    /// partial segment count), or one more input chunk (the last chunk keeps its partial columns); nil when
    /// it has fewer than 16 blocks. `sample(k)` is the same kernel with k blocks.
    func blockSamples(_ shape: GEMVShape) -> (blocks: Int, sample: (Int) -> GEMVShape)? {
        let g = lowering.geometry(shape)
        let banks = module.banksPerChannel, elements = module.columnBytes / 2
        let dramRows = (g.rowsPerBank + g.segmentsPerRow - 1) / g.segmentsPerRow
        if dramRows >= 16 {
            let lastSegments = g.rowsPerBank - (dramRows - 1) * g.segmentsPerRow
            return (
                dramRows,
                {
                    GEMVShape(
                        rows: (($0 - 1) * g.segmentsPerRow + lastSegments) * banks,
                        columns: shape.columns, batch: shape.batch)
                }
            )
        }
        if g.chunks >= 16 {
            let columnsPerInput = (shape.columns + elements - 1) / elements
            let lastColumns = columnsPerInput - (g.chunks - 1) * g.chunkColumns
            return (
                g.chunks,
                {
                    GEMVShape(
                        rows: shape.rows,
                        columns: (($0 - 1) * g.chunkColumns + lastColumns) * elements,
                        batch: shape.batch)
                }
            )
        }
        return nil
    }

    /// The timing of `blocks` blocks from timings of 6, 7 and 8, if the two increments are equal.
    func extrapolate(blocks: Int, _ timing: (Int) -> KernelTiming) -> KernelTiming? {
        let points = [6, 7, 8].map(timing)
        let step = points[1].cycles - points[0].cycles
        guard points[2].cycles - points[1].cycles == step, step > 0 else { return nil }
        let extra = Int64(blocks - 6)
        let counts = zip(points[0].counts, points[1].counts).map { $0 + ($1 - $0) * extra }
        return KernelTiming(cycles: points[0].cycles + step * extra, counts: counts, order: points[0].order)
    }

    /// A refresh-free timing plus the refreshes it meets on average (see the type's documentation).
    public func withExpectedRefresh(_ t: KernelTiming) -> KernelTiming {
        let interval = Double(module.timing.nREFI), stall = Double(module.timing.refreshStallCycles)
        let refreshes = Double(t.cycles) / (interval - stall)
        var counts = t.counts
        let n = Int64(refreshes.rounded())
        counts[AiMCommandKind.ref.rawValue] += n
        counts[AiMCommandKind.prea.rawValue] += n
        counts[AiMCommandKind.act16.rawValue] += n
        return KernelTiming(
            cycles: Int64((Double(t.cycles) * interval / (interval - stall)).rounded()), counts: counts,
            order: t.order)
    }

    /// A static attention unit (`AttentionProgram`) alone on all channels of the module, refresh-free (EOC
    /// included); remembered like kernels. A long unit whose channels all run the same GEMV is timed by
    /// block decomposition, as long kernels are (`decomposed`).
    public func time(_ unit: AttentionProgram.Unit, program: AttentionProgram) -> KernelTiming {
        remembered([unit], in: unitCache, store: storeKey([unit], program: program, boundary: false)) {
            var result: KernelTiming?
            if let (blocks, sample) = unitBlocks(unit) {
                // Samples are remembered too: contexts that end in the same partial block share them.
                result = extrapolate(blocks: blocks) { time(sample($0), program: program) }
            }
            return result ?? replayUnits([unit], program: program)
        }
    }

    /// A whole static attention operator given as its units, replayed in one piece, refresh-free (EOC
    /// included); remembered like kernels.
    public func time(wholeProgram units: [AttentionProgram.Unit], program: AttentionProgram) -> KernelTiming {
        remembered(units, in: unitCache, store: storeKey(units, program: program, boundary: false)) {
            replayUnits(units, program: program)
        }
    }

    /// A unit whose channels all run one GEMV of more than `blockThreshold` MAC16 commands in all, as
    /// blocks (`blockSamples`); the samples keep the GEMV's loop order.
    func unitBlocks(_ unit: AttentionProgram.Unit) -> (blocks: Int, sample: (Int) -> AttentionProgram.Unit)? {
        let shapes = unit.shapes.compactMap { $0 }
        guard let shape = shapes.first, shapes.allSatisfy({ $0 == shape }),
            macCommands(shape) * Int64(shapes.count) > blockThreshold,
            let (blocks, sample) = blockSamples(shape)
        else { return nil }
        let order = unit.order ?? time(shape).order
        return (
            blocks,
            { k in
                AttentionProgram.Unit(
                    shapes: unit.shapes.map { $0 == nil ? nil : sample(k) },
                    broadcastInput: unit.broadcastInput, order: order)
            }
        )
    }

    /// What unit `b` costs right after unit `a` in one program, beyond the two alone: T(a b) − T(a) − T(b)
    /// (it saves one EOC and one start-up: the first mode change, the first row opening; it may pay a
    /// precharge). A unit ends with a blocking RD_MAC on every channel it uses, so once a unit is under way
    /// the controller's state no longer depends on the one before: summing units and these boundaries gives
    /// the whole program's cycles (tested against whole-operator replays). For the same reason a long unit's
    /// boundary is that of its 6-block sample, which ends and starts the same way.
    public func boundary(
        _ a: AttentionProgram.Unit, _ b: AttentionProgram.Unit,
        program: AttentionProgram
    ) -> KernelTiming {
        remembered([a, b], in: unitCache, store: storeKey([a, b], program: program, boundary: true)) {
            let shortA = unitBlocks(a)?.sample(6) ?? a, shortB = unitBlocks(b)?.sample(6) ?? b
            let both = replayUnits([shortA, shortB], program: program)
            let one = time(shortA, program: program), two = time(shortB, program: program)
            return KernelTiming(
                cycles: both.cycles - one.cycles - two.cycles,
                counts: zip(both.counts, zip(one.counts, two.counts)).map { $0 - $1.0 - $1.1 },
                order: .inputStationary)
        }
    }

    private func replayUnits(_ units: [AttentionProgram.Unit], program: AttentionProgram) -> KernelTiming {
        var instructions = PeriodicProgram()
        for unit in units { instructions.append(contentsOf: program.periodicProgram(unit, reduced: true)) }
        instructions.append([AiMInstruction(.eoc)])
        let report = program.replay(refresh: false).run(instructions)
        return KernelTiming(cycles: report.cycles, counts: report.commands.values, order: .inputStationary)
    }

    /// The command trace of a kernel in the loop order `time` picks.
    public func trace(_ requested: GEMVShape, channel: Int = 0, refresh: Bool = true) -> [IssuedCommand] {
        let shape = canonical(requested)
        return backend.trace(shape, order: time(shape).order, lowering: lowering, refresh: refresh, channel: channel)
    }

    /// One attention operator over every channel of the module, as `mapping` spreads it (the backend's rules).
    public func attention(_ op: AttentionOperator, mapping: any AttentionMapping) -> AttentionTiming {
        backend.attention(op, mapping: mapping, timer: self)
    }

    /// Unique kernels simulated so far.
    public var cachedKernels: Int { cache.withLock { $0.count } }
}
