/// `pingpong` and `dcs`: kernels are command programs (`GEMVLowering.program`) issued on lolpim's channel engine
/// (`ChannelEngine`) by the `Scheduler` under the policy's `CommandSchedule`, with lolpim's GDDR6-AiM timing table
/// (docs/REFERENCE.md §3.3–3.4, as docs/MAPPING.md §1.2 builds it) and the LoL-PIM output buffer.
///
/// Attention: every channel runs its own slices' GEMVs one after another. Under a lock-step mapping (token-parallel)
/// a unit ends when its channel with the most tokens does, and units follow each other; otherwise each channel goes
/// on with its next slice and the busiest channel decides.
public struct CommandEngineBackend: ChannelBackend {
    public let policy: SchedulingPolicy
    public let schedule: any CommandSchedule
    public let table: TimingTable
    public let obufEntries: Int
    public var runsAiMPrograms: Bool { false }

    /// - Parameter obufEntries: output-buffer entries (at least 2: one fills while another drains).
    public init(module: ModuleConfig, policy: SchedulingPolicy, schedule: any CommandSchedule, obufEntries: Int) {
        self.policy = policy
        self.schedule = schedule
        table = .of(module)
        self.obufEntries = max(2, obufEntries)
    }

    public func simulate(_ shape: GEMVShape, order: LoopOrder, lowering: GEMVLowering, refresh: Bool) -> KernelTiming {
        var engine = ChannelEngine(table: table, refresh: refresh)
        Scheduler(schedule: schedule).run(lowering.program(shape, order: order), on: &engine)
        return KernelTiming(cycles: engine.endCycle, counts: engine.counts, order: order)
    }

    public func trace(
        _ shape: GEMVShape, order: LoopOrder, lowering: GEMVLowering, refresh: Bool, channel: Int
    ) -> [IssuedCommand] {
        var engine = ChannelEngine(table: table, refresh: refresh, record: true, channel: channel)
        Scheduler(schedule: schedule).run(lowering.program(shape, order: order), on: &engine)
        return engine.trace ?? []
    }

    public func attention(_ op: AttentionOperator, mapping: any AttentionMapping, timer: KernelTimer) -> AttentionTiming
    {
        let channels = timer.module.channels
        var memo: [Int: KernelTiming] = [:]
        func slice(_ tokens: Int) -> GEMVShape {
            mapping.slice(op.phase, tokens: tokens, group: op.group, headDim: op.headDim)
        }
        func kernel(_ tokens: Int) -> KernelTiming {
            if let known = memo[tokens] { return known }
            let k = timer.time(slice(tokens))
            memo[tokens] = k
            return k
        }
        var counts = CommandCounts()
        var busy = Array(repeating: Int64(0), count: channels)
        var lockStepCycles: Int64 = 0
        var additions: Int64 = 0
        for unit in mapping.units(contexts: op.contexts, kvHeads: op.kvHeads, channels: channels) {
            let repeats = Int64(unit.repeats)
            for run in unit.runs {
                let k = kernel(run.tokens)
                for c in run.channels { busy[c] += k.cycles * repeats }
                counts = counts + CommandCounts(k.counts) * (Int64(run.count) * repeats)
                additions += Int64(run.count) * repeats * op.chunkAdditions(slice(run.tokens), timer.lowering)
            }
            if mapping.lockStep, !unit.runs.isEmpty { lockStepCycles += kernel(unit.longestSlice).cycles * repeats }
        }
        additions += op.reductionAdditions(mapping, channels: channels)
        return AttentionTiming(
            cycles: mapping.lockStep ? lockStepCycles : busy.max() ?? 0, counts: counts.values, busy: busy,
            hubAdditions: additions)
    }
}
