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
public final class KernelTimer: Sendable {
    public let module: ModuleConfig
    public let policy: SchedulingPolicy
    public let table: TimingTable
    public let lowering: GEMVLowering
    private let cache = Mutex<[GEMVShape: KernelTiming]>([:])

    /// - Parameter obufEntries: output-buffer entries for `pingpong` and `dcs` (the LoL-PIM buffer);
    ///   `static` models AiM's single MAC register per bank.
    public init(module: ModuleConfig, policy: SchedulingPolicy, obufEntries: Int = 8) {
        self.module = module
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
            var engine = ChannelEngine(table: table)
            Scheduler(policy: policy).run(lowering.program(shape, order: order), on: &engine)
            let timing = KernelTiming(cycles: engine.endCycle, counts: engine.counts, order: order)
            if best == nil || timing.cycles < best!.cycles { best = timing }
        }
        let result = best!
        cache.withLock { $0[shape] = result }
        return result
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
