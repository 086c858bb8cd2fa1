/// Attention under `static` scheduling: the AiM instruction program of a QKᵀ or SV operator over a module's
/// channels, as the AiM controller model runs it (one decoder for every channel, blocking RD_MAC).
///
/// The program is built in the units of channels that work together that the mapping gives
/// (`AttentionMapping.units`): token-parallel, one unit per (request, KV head) pair, every channel a token slice
/// of it; head-first, one unit per wave of up to `channels` pairs. Each channel's share is its slice's GEMV
/// (`AttentionMapping.slice`). Inside a unit the channels' GEMV programs are merged in lock-step: position by
/// position, identical instructions go out once with the union of their channel masks. A `WR_GB` whose data
/// differs between channels (each channel's own query heads, or its own slice of the scores) goes out once per
/// channel: only a mapping that broadcasts the query (token-parallel QKᵀ) sends one to every channel.
public struct AttentionProgram: Sendable {
    public typealias Phase = AttentionPhase

    /// Channels working together, and the GEMV each runs (nil: idle in this unit).
    public struct Unit: Sendable, Hashable {
        public var shapes: [GEMVShape?]
        /// All channels read the same input (token-parallel QKᵀ).
        public var broadcastInput: Bool
        /// The loop order of every channel's GEMV (nil: each shape's own best, `KernelTimer.time`).
        public var order: LoopOrder? = nil
    }

    public let timer: KernelTimer
    public let mapping: any AttentionMapping

    public init(timer: KernelTimer, mapping: any AttentionMapping) {
        self.timer = timer
        self.mapping = mapping
    }

    var channels: Int { timer.module.channels }

    /// The units of an operator, in program order (a mapping unit repeated n times is n units here).
    public func units(_ op: AttentionOperator) -> [Unit] {
        var out: [Unit] = []
        for unit in mapping.units(contexts: op.contexts, kvHeads: op.kvHeads, channels: channels) {
            var shapes: [GEMVShape?] = Array(repeating: nil, count: channels)
            for run in unit.runs {
                let shape = timer.canonical(
                    mapping.slice(op.phase, tokens: run.tokens, group: op.group, headDim: op.headDim))
                for c in run.channels { shapes[c] = shape }
            }
            let programUnit = Unit(shapes: shapes, broadcastInput: op.phase == .score && mapping.broadcastsQuery)
            out += Array(repeating: programUnit, count: unit.repeats)
        }
        return out
    }

    /// The units of an operator, in program order.
    public func units(_ phase: Phase, contexts: [Int], kvHeads: Int, group: Int, headDim: Int) -> [Unit] {
        units(AttentionOperator(phase: phase, contexts: contexts, kvHeads: kvHeads, group: group, headDim: headDim))
    }

    /// A unit's instructions (without EOC).
    public func instructions(_ unit: Unit) -> [AiMInstruction] {
        var out: [AiMInstruction] = []
        append(unit, to: &out)
        return out
    }

    /// The unit's program with the same timing on fewer channels, for the timer. When every channel reads
    /// the same input (one broadcast WR_GB), channels that run the same GEMV receive identical requests in
    /// the same cycles and move in lock-step: one of each group is enough. (When each channel has its own
    /// WR_GB, a full channel queue stalls the decoder for each of them, so every channel is kept.) Tested
    /// equal to the full program.
    public func reducedInstructions(_ unit: Unit) -> [AiMInstruction] {
        var out: [AiMInstruction] = []
        append(unit, reduced: true, to: &out)
        return out
    }

    /// Appends a unit's instructions (`reduced`: `reducedInstructions`) to `out` (`periodicProgram` written out).
    public func append(_ unit: Unit, reduced: Bool = false, to out: inout [AiMInstruction]) {
        out += periodicProgram(unit, reduced: reduced)
    }

    /// A unit's instructions (`reduced`: `reducedInstructions`) held as runs, without writing out its periods.
    /// Channels with the same shape share one lowered program (`GEMVLowering.aimRuns`); each channel's
    /// instructions are that program's with its own mask bit, merged position by position: at each position the
    /// channels' instructions that are equal but for the mask go out once with the union of their bits, in channel
    /// order (a `WR_GB` of a channel's own data always alone).
    ///
    /// Where every program still running is in a run of the same period length and row step, at the same offset in
    /// its period, for n more whole periods, the merge of those positions is one merged period repeated n times:
    /// position j + q·L of each program is position j moved on by q row steps, all by the same rows, and moving
    /// every row alike keeps equal instructions equal and different ones different. So a unit costs its
    /// programs' runs, not its length (tested equal to the merge written out position by position).
    public func periodicProgram(_ unit: Unit, reduced: Bool = false) -> PeriodicProgram {
        var programs: [PeriodicProgram] = []
        var first: [Int] = []
        var index: [GEMVShape: Int] = [:]
        let programOf: [Int?] = unit.shapes.enumerated().map { c, shape in
            guard let shape else { return nil }
            if let known = index[shape] { return known }
            let order = unit.order ?? timer.time(shape).order
            programs.append(timer.lowering.aimRuns(shape, order: order, mask: 0))
            first.append(c)
            index[shape] = programs.count - 1
            return programs.count - 1
        }
        let keep = reduced && unit.broadcastInput ? AiMInstruction.mask(first) : AiMInstruction.mask(0..<32)
        /// Merges the channels' instructions at `position` into `block`.
        func merge(_ position: Int, into block: inout [AiMInstruction]) {
            let from = block.count
            for (c, p) in programOf.enumerated() {
                guard let p, position < programs[p].count else { continue }
                var instruction = programs[p][position]
                let bit = AiMInstruction.mask([c]) & keep
                let perChannel = instruction.opcode == .wrGB && !unit.broadcastInput
                if !perChannel, let k = (from..<block.count).first(where: { block[$0].sameExceptMask(instruction) }) {
                    block[k].values[.mask]! |= bit
                } else {
                    instruction.values[.mask] = bit
                    block.append(instruction)
                }
            }
        }
        var out = PeriodicProgram()
        let end = programs.map(\.count).max() ?? 0
        var position = 0
        while position < end {
            // The run each program still running is in: the same period length, row step and offset in it?
            var period = 0, rowStep = 0, offset = 0, periods = Int.max
            for p in programs {
                guard let (run, i) = p.run(at: position) else { continue }
                let length = run.period.count
                if period == 0 {
                    (period, rowStep, offset) = (length, run.rowStep, i % length)
                } else if length != period || run.rowStep != rowStep || i % length != offset {
                    periods = 0
                    break
                }
                periods = min(periods, (run.count - i) / length)
            }
            let span = periods > 0 ? period : 1
            var block: [AiMInstruction] = []
            for t in 0..<span { merge(position + t, into: &block) }
            out.append(period: block, repeats: max(periods, 1), rowStep: rowStep)
            position += span * max(periods, 1)
        }
        return out
    }

    /// The whole operator as one program, ending with EOC.
    public func program(_ phase: Phase, contexts: [Int], kvHeads: Int, group: Int, headDim: Int) -> [AiMInstruction] {
        units(phase, contexts: contexts, kvHeads: kvHeads, group: group, headDim: headDim).flatMap(instructions)
            + [AiMInstruction(.eoc)]
    }

    /// The AiM controller model of the module.
    public func replay(refresh: Bool) -> AiMTraceReplay {
        AiMTraceReplay(module: timer.module, refresh: refresh)
    }
}

extension AiMInstruction {
    /// Equal but for the channel mask.
    func sameExceptMask(_ other: AiMInstruction) -> Bool {
        opcode == other.opcode && values.sameExceptMask(other.values)
    }
}
