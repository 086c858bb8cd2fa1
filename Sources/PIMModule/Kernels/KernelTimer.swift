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
        table = TimingTable.aim(module.timing)
        lowering = GEMVLowering(module: module, obufEntries: policy == .static ? 1 : max(2, obufEntries))
    }

    /// Loop orders worth simulating for a shape (they differ only when the batch does not fit the GB).
    func orders(_ shape: GEMVShape) -> [LoopOrder] {
        lowering.geometry(shape).inputsPerFill >= shape.batch ? [.inputStationary] : LoopOrder.allCases
    }

    public func time(_ shape: GEMVShape) -> KernelTiming {
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
    public func trace(_ shape: GEMVShape, channel: Int = 0) -> [IssuedCommand] {
        let order = time(shape).order
        var engine = ChannelEngine(table: table, record: true, channel: channel)
        Scheduler(policy: policy).run(lowering.program(shape, order: order), on: &engine)
        return engine.trace ?? []
    }

    /// Unique kernels simulated so far.
    public var cachedKernels: Int { cache.withLock { $0.count } }
}
