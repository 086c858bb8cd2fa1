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

    /// Appends a unit's instructions (`reduced`: `reducedInstructions`) to `out`. Channels with the same shape
    /// share one lowered program; each channel's instructions are that program's with its own mask bit.
    public func append(_ unit: Unit, reduced: Bool = false, to out: inout [AiMInstruction]) {
        var programs: [[AiMInstruction]] = []
        var first: [Int] = []
        var index: [GEMVShape: Int] = [:]
        let programOf: [Int?] = unit.shapes.enumerated().map { c, shape in
            guard let shape else { return nil }
            if let known = index[shape] { return known }
            let order = unit.order ?? timer.time(shape).order
            programs.append(timer.lowering.aimInstructions(shape, order: order, mask: 0))
            first.append(c)
            index[shape] = programs.count - 1
            return programs.count - 1
        }
        let keep = reduced && unit.broadcastInput ? AiMInstruction.mask(first) : AiMInstruction.mask(0..<32)
        for j in 0..<(programs.map(\.count).max() ?? 0) {
            let position = out.count
            for (c, p) in programOf.enumerated() {
                guard let p, j < programs[p].count else { continue }
                var instruction = programs[p][j]
                let bit = AiMInstruction.mask([c]) & keep
                let perChannel = instruction.opcode == .wrGB && !unit.broadcastInput
                if !perChannel, let k = (position..<out.count).first(where: { out[$0].sameExceptMask(instruction) }) {
                    out[k].values[.mask]! |= bit
                } else {
                    instruction.values[.mask] = bit
                    out.append(instruction)
                }
            }
        }
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
