import Testing
import Workload

@testable import PIMModule

/// Programs held as runs of periods (`PeriodicProgram`): a GEMV's runs are its instructions, a head-first unit's
/// merge by runs is the merge position by position, what a program claims to repeat does, and head-first static
/// attention timed through them takes exactly the cycles of the cycle-by-cycle replay.
@Suite("Programs held as runs of periods")
struct PeriodicProgramTests {
    let module = ModuleConfig.cent32

    /// The GEMV's instructions written out loop by loop, as `GEMVLowering` documents them (the reference the runs
    /// must expand to).
    func written(_ lowering: GEMVLowering, _ shape: GEMVShape, order: LoopOrder, mask: Int) -> [AiMInstruction] {
        let g = lowering.geometry(shape)
        let columnsPerInput = (shape.columns + 15) / 16
        let dramRows = (g.rowsPerBank + g.segmentsPerRow - 1) / g.segmentsPerRow
        var out: [AiMInstruction] = []
        func columns(_ k: Int) -> Int { min(g.chunkColumns, columnsPerInput - k * g.chunkColumns) }
        func fill(_ k: Int, _ inputs: Range<Int>) {
            out.append(AiMInstruction(.wrGB, [.opsize: columns(k) * inputs.count, .gpr0: 0, .mask: mask]))
        }
        func sweep(_ k: Int, _ d: Int, _ inputs: Range<Int>) {
            for _ in 0..<min(g.segmentsPerRow, g.rowsPerBank - d * g.segmentsPerRow) {
                for _ in inputs {
                    out.append(AiMInstruction(.wrBias, [.gpr0: 0, .mask: mask]))
                    out.append(AiMInstruction(.macABK, [.opsize: columns(k), .mask: mask, .row: k * dramRows + d]))
                    out.append(AiMInstruction(.rdMAC, [.gpr0: 0, .mask: mask]))
                }
            }
        }
        let groups = stride(from: 0, to: shape.batch, by: g.inputsPerFill).map {
            $0..<min($0 + g.inputsPerFill, shape.batch)
        }
        for k in 0..<g.chunks {
            for d in 0..<dramRows where order == .rowStationary {
                for inputs in groups {
                    fill(k, inputs)
                    sweep(k, d, inputs)
                }
            }
            for inputs in groups where order == .inputStationary {
                fill(k, inputs)
                for d in 0..<dramRows { sweep(k, d, inputs) }
            }
        }
        return out
    }

    /// A unit's channels merged position by position, as `AttentionProgram` documents it.
    func mergedByPosition(
        _ program: AttentionProgram, _ unit: AttentionProgram.Unit, reduced: Bool
    )
        -> [AiMInstruction]
    {
        let timer = program.timer
        let programs = unit.shapes.map { shape in
            shape.map { timer.lowering.aimInstructions($0, order: unit.order ?? timer.time($0).order, mask: 0) }
        }
        var first: [GEMVShape: Int] = [:]
        for (c, shape) in unit.shapes.enumerated() { if let shape, first[shape] == nil { first[shape] = c } }
        let keep = reduced && unit.broadcastInput ? AiMInstruction.mask(first.values) : AiMInstruction.mask(0..<32)
        var out: [AiMInstruction] = []
        for j in 0..<(programs.map { $0?.count ?? 0 }.max() ?? 0) {
            let position = out.count
            for (c, p) in programs.enumerated() {
                guard let p, j < p.count else { continue }
                var instruction = p[j]
                let bit = AiMInstruction.mask([c]) & keep
                if instruction.opcode == .wrGB && !unit.broadcastInput {
                    instruction.values[.mask] = bit
                    out.append(instruction)
                } else if let k = (position..<out.count).first(where: { out[$0].sameExceptMask(instruction) }) {
                    out[k].values[.mask]! |= bit
                } else {
                    instruction.values[.mask] = bit
                    out.append(instruction)
                }
            }
        }
        return out
    }

    @Test("a GEMV's runs expand to its instructions, in both loop orders, chunks folded or not")
    func gemvRuns() {
        var rng = SplitMix64(seed: 41)
        let lowering = GEMVLowering(module: module, obufEntries: 1)
        for _ in 0..<60 {
            let shape = GEMVShape(
                rows: Int.random(in: 1...3000, using: &rng), columns: Int.random(in: 1...9000, using: &rng),
                batch: Int.random(in: 1...9, using: &rng))
            for order in LoopOrder.allCases {
                let runs = lowering.aimRuns(shape, order: order, mask: 5)
                #expect(Array(runs) == written(lowering, shape, order: order, mask: 5), "\(shape) \(order)")
                #expect(runs.rowSummary.maxRow == Array(runs).compactMap { $0.values[.row] }.max() ?? -1)
            }
        }
        // A value slice of 60,000 tokens: 58 full chunks of one DRAM row's width folded into one run, and the last
        // chunk's four input groups (a GB fill, then its 8 DRAM rows as one run, each).
        let value = lowering.aimRuns(GEMVShape(rows: 128, columns: 60_000, batch: 4), order: .inputStationary, mask: 1)
        #expect(value.runs.count == 9 && value.runs[0].repeats == 58 && value.runs[1...].allSatisfy { $0.repeats <= 8 })
    }

    @Test("what a program says repeats does repeat, and its host accesses are counted by run")
    func claims() {
        var rng = SplitMix64(seed: 43)
        let lowering = GEMVLowering(module: module, obufEntries: 1)
        var program = lowering.aimRuns(GEMVShape(rows: 700, columns: 2100, batch: 3), order: .rowStationary, mask: 1)
        program.append([AiMInstruction(.writeCFR, [.address: 2, .data: 1])])
        program.append(
            contentsOf: lowering.aimRuns(GEMVShape(rows: 900, columns: 128, batch: 4), order: .inputStationary, mask: 1)
        )
        program.append(
            period: [AiMInstruction(.readMEM, [.channel: 0, .bank: 1, .row: 3]), AiMInstruction(.wrBias, [.gpr0: 0])],
            repeats: 9, rowStep: 2)
        let all = Array(program)
        var claimed = 0
        for _ in 0..<400 {
            let reference = Int.random(in: 0..<all.count, using: &rng)
            let run = program.runs[program.runIndex(containing: reference)]
            let length = run.period.count * Int.random(in: 1...3, using: &rng)
            let rows = length / run.period.count * run.rowStep
            let known = program.knownRepeats(of: reference, length: length, rows: rows)
            claimed += known
            for q in 0...known where q > 0 {
                for t in 0..<length {
                    #expect(FastForward.same(all[reference + q * length + t], all[reference + t], rowsOn: q * rows))
                }
            }
            let a = Int.random(in: 0..<all.count, using: &rng), b = Int.random(in: a...all.count, using: &rng)
            #expect(program.hostAccesses(in: a..<b) == all[a..<b].filter { $0.opcode.isHostAccess }.count)
        }
        #expect(claimed > 0)
        // Sync points are recorded everywhere but inside the periods of a run of 16 periods or more.
        for (i, run) in program.runs.enumerated() {
            let long = run.repeats >= PeriodicProgram.longRun
            for position in run.start..<(run.start + run.count) {
                let inside = (position - run.start) % run.period.count != 0
                #expect(program.recordsSyncPoint(at: position) == !(long && inside), "run \(i) at \(position)")
            }
        }
        #expect(program.runs.contains { $0.repeats >= PeriodicProgram.longRun })
        #expect(program.runs.contains { $0.repeats > 1 && $0.repeats < PeriodicProgram.longRun })
    }

    /// Head-first units of random slices: channels of different token counts (some equal, some idle).
    func headFirstOperators(seed: UInt64, count: Int, maxTokens: Int) -> [AttentionOperator] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let kvHeads = [1, 2, 8].randomElement(using: &rng)!
            let requests = Int.random(in: 1...(32 / kvHeads + 2), using: &rng)
            var contexts = (0..<requests).map { _ in Int.random(in: 1...maxTokens, using: &rng) }
            if requests > 2 { contexts[1] = contexts[0] }
            let phase: AttentionPhase = Bool.random(using: &rng) ? .score : .value
            return AttentionOperator(
                phase: phase, contexts: contexts, kvHeads: kvHeads, group: [1, 4, 8].randomElement(using: &rng)!,
                headDim: 128)
        }
    }

    @Test("a unit merged by runs is the merge written out position by position", arguments: [false, true])
    func merge(reduced: Bool) {
        let timer = KernelTimer(module: module, policy: .static)
        for mapping in AttentionPartitioning.attentionMappings.compactMap(\.mapping) {
            let program = AttentionProgram(timer: timer, mapping: mapping)
            for op in headFirstOperators(seed: 47, count: 12, maxTokens: 20_000) {
                for unit in program.units(op) {
                    let runs = program.periodicProgram(unit, reduced: reduced)
                    #expect(Array(runs) == mergedByPosition(program, unit, reduced: reduced), "\(op)")
                }
            }
        }
    }

    /// The differential test: head-first static attention over random slice lengths, timed as the backend
    /// times it (units held as runs, periods skipped), equals the whole operator replayed cycle by cycle.
    @Test("head-first static attention: every cycle count equals the cycle-by-cycle replay's")
    func cycleByCycle() {
        let timer = KernelTimer(module: module, policy: .static, refresh: false)
        let mapping = HeadFirstMapping()
        let program = AttentionProgram(timer: timer, mapping: mapping)
        for op in headFirstOperators(seed: 53, count: 14, maxTokens: 5_000) {
            let timing = timer.attention(op, mapping: mapping)
            let whole = program.program(
                op.phase, contexts: op.contexts, kvHeads: op.kvHeads, group: op.group, headDim: op.headDim)
            let report = program.replay(refresh: false).run(whole, fastForward: false)
            #expect(timing.cycles == report.cycles, "\(op)")
            #expect(timing.counts == report.commands.values, "\(op)")
            var runs = PeriodicProgram()
            for unit in program.units(op) { runs.append(contentsOf: program.periodicProgram(unit)) }
            runs.append([AiMInstruction(.eoc)])
            let skipped = program.replay(refresh: false).run(runs)
            #expect(skipped.cycles == report.cycles && skipped.commands == report.commands, "\(op)")
        }
    }
}
