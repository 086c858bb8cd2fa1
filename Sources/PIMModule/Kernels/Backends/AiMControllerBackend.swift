/// `static`: the public AiM simulator's rules (docs/VALIDATION.md §1–5). Kernels are AiM instruction programs
/// (`GEMVLowering.aimInstructions`) run by the AiM controller model (`AiMTraceReplay`: one decoder for every
/// channel, an in-order queue per channel, blocking RD_MAC) under that simulator's effective GDDR6 timing, with
/// AiM's single MAC register per bank.
///
/// Attention: the whole operator is one AiM program over every channel (`AttentionProgram`), timed unit by unit:
/// each unit alone plus what it costs after the previous one (`KernelTimer.boundary`), which equals replaying the
/// whole operator (tested); then the expected refresh stalls. A channel is busy for its own slice's kernel time in
/// each unit.
public struct AiMControllerBackend: ChannelBackend {
    public let module: ModuleConfig
    public let table: TimingTable
    public var policy: SchedulingPolicy { .static }
    public var obufEntries: Int { 1 }
    public var runsAiMPrograms: Bool { true }

    public init(module: ModuleConfig) {
        self.module = module
        table = .aimSimulator(module.timing.aimSimulatorEffective, banks: module.banksPerChannel)
    }

    /// The AiM controller model for one channel of the module.
    func replay(refresh: Bool) -> AiMTraceReplay {
        AiMTraceReplay(timing: module.timing, channels: 1, banks: module.banksPerChannel, refresh: refresh)
    }

    /// The cycles until EOC completes.
    public func simulate(_ shape: GEMVShape, order: LoopOrder, lowering: GEMVLowering, refresh: Bool) -> KernelTiming {
        let report = replay(refresh: refresh).run(program(shape, order: order, lowering: lowering))
        return KernelTiming(cycles: report.cycles, counts: report.commands.values, order: order)
    }

    /// The AiM controller runs a kernel on channel 0 whatever `channel` says.
    public func trace(
        _ shape: GEMVShape, order: LoopOrder, lowering: GEMVLowering, refresh: Bool, channel: Int
    ) -> [IssuedCommand] {
        replay(refresh: refresh).run(program(shape, order: order, lowering: lowering), record: true).trace
    }

    /// The kernel's AiM instructions on channel 0, ending with EOC.
    func program(_ shape: GEMVShape, order: LoopOrder, lowering: GEMVLowering) -> PeriodicProgram {
        var program = lowering.aimRuns(lowering.canonical(shape), order: order, mask: AiMInstruction.mask([0]))
        program.append([AiMInstruction(.eoc)])
        return program
    }

    public func attention(_ op: AttentionOperator, mapping: any AttentionMapping, timer: KernelTimer) -> AttentionTiming
    {
        let program = AttentionProgram(timer: timer, mapping: mapping)
        let units = program.units(op)
        var total = KernelTiming(cycles: 0, counts: CommandCounts().values, order: .inputStationary)
        func add(_ t: KernelTiming, times n: Int64 = 1) {
            total.cycles += t.cycles * n
            total.counts = zip(total.counts, t.counts).map { $0 + $1 * n }
        }
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
        if timer.refresh { total = timer.withExpectedRefresh(total) }
        var busy = Array(repeating: Int64(0), count: module.channels)
        var additions = op.reductionAdditions(mapping, channels: module.channels)
        for run in runs {
            for (c, shape) in run.unit.shapes.enumerated() {
                guard let shape else { continue }
                busy[c] += timer.time(shape).cycles * run.count
                additions += op.chunkAdditions(shape, timer.lowering) * run.count
            }
        }
        return AttentionTiming(
            cycles: total.cycles, counts: total.counts, busy: busy.map { min($0, total.cycles) },
            hubAdditions: additions)
    }
}
