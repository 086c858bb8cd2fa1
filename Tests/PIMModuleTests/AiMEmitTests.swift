import Testing
import Workload
@testable import PIMModule

/// `--emit-aim`: lolpim's static kernels written in the AiM simulator's format and timed by the replay give
/// exactly the cycles the engine computed for them.
@Suite("Static kernels as AiM instruction traces")
struct AiMEmitTests {
    let module = ModuleConfig.cent32

    /// Writes `program` as trace text and replays the parsed text.
    func replayText(_ program: [AiMInstruction], refresh: Bool) throws -> Int64 {
        let model = AiMTraceReplay(module: module, refresh: refresh)
        let text = program.map(\.text).joined(separator: "\n") + "\n"
        return model.run(try model.parse(text, file: "emitted.trace").instructions).cycles
    }

    @Test(
        "GEMV: the emitted trace replays to the engine's cycles (random shapes, both loop orders, refresh on and off)")
    func gemv() throws {
        var rng = SplitMix64(seed: 11)
        let timer = KernelTimer(module: module, policy: .static)
        for i in 0..<10 {
            let shape = GEMVShape(
                rows: Int.random(in: 1...400, using: &rng), columns: Int.random(in: 1...2000, using: &rng),
                batch: Int.random(in: 1...6, using: &rng))
            // Every channel of the module runs the same share on the first shape; two channels on the others.
            let mask = i == 0 ? AiMInstruction.mask(0..<32) : AiMInstruction.mask([0, 31])
            for order in LoopOrder.allCases {
                for refresh in [false, true] {
                    let engine = timer.simulate(timer.canonical(shape), order: order, refresh: refresh).cycles
                    let emitted = try replayText(timer.aimProgram(shape, order: order, mask: mask), refresh: refresh)
                    #expect(engine == emitted, "\(shape) \(order) refresh \(refresh)")
                }
            }
        }
    }

    @Test("GEMV: the static schedule is legal under the AiM simulator's timing table")
    func legality() {
        let timer = KernelTimer(module: module, policy: .static)
        for shape in [GEMVShape(rows: 512, columns: 4096, batch: 1), GEMVShape(rows: 300, columns: 128, batch: 8)] {
            #expect(TimingChecker(table: timer.table).check(timer.trace(shape)).isEmpty)
        }
    }

    /// Random attention operators: 1–3 requests of 40–1,200 tokens, 8 or 32 KV heads, groups of 1 or 4.
    func operators(seed: UInt64) -> [(contexts: [Int], kvHeads: Int, group: Int)] {
        var rng = SplitMix64(seed: seed)
        return (0..<4).map { _ in
            let contexts = (0..<Int.random(in: 1...3, using: &rng)).map { _ in Int.random(in: 40...1200, using: &rng) }
            let kvHeads = [8, 32].randomElement(using: &rng)!
            return (contexts, kvHeads, kvHeads == 8 ? 4 : 1)
        }
    }

    @Test(
        "attention: the emitted operator replays to the engine's cycles, composed unit by unit or whole",
        arguments: AttentionPartitioning.attentionMappings)
    func attention(partitioning: AttentionPartitioning) throws {
        let model = CommandCostModel(
            module: module, scheduling: .static, mapping: partitioning.mapping!, refresh: false)
        let program = AttentionProgram(timer: model.timer, mapping: partitioning.mapping!)
        for op in operators(seed: partitioning == .tokenParallel ? 5 : 6) {
            for (phase, kind) in [(AttentionProgram.Phase.score, OpKind.attentionScore), (.value, .attentionValue)] {
                let instructions = program.program(
                    phase, contexts: op.contexts, kvHeads: op.kvHeads, group: op.group,
                    headDim: 128)
                let whole = program.replay(refresh: false).run(instructions).cycles
                #expect(try replayText(instructions, refresh: false) == whole)
                let shape = OpShape.attention(
                    contexts: op.contexts, queryHeads: op.kvHeads * op.group,
                    kvHeads: op.kvHeads, headDim: 128)
                let cost = model.cost(of: DecodeOp(kind, .pim, flops: 0, shape: shape))
                let pim = cost.latency - model.hubTime(cost.hubFlops)
                #expect(pim == whole * module.tCKps, "\(phase) \(op)")
            }
        }
    }

    @Test(
        "attention: each channel receives exactly its own slice's GEMV program",
        arguments: AttentionPartitioning.attentionMappings)
    func merge(partitioning: AttentionPartitioning) {
        let timer = KernelTimer(module: module, policy: .static)
        let program = AttentionProgram(timer: timer, mapping: partitioning.mapping!)
        for op in operators(seed: 9) {
            for unit in program.units(.value, contexts: op.contexts, kvHeads: op.kvHeads, group: op.group, headDim: 128)
            {
                let merged = program.instructions(unit)
                for (c, shape) in unit.shapes.enumerated() {
                    let mine = AiMInstruction.mask([c])
                    let received = merged.filter { $0.values[.mask]! & mine != 0 }.map {
                        instruction -> AiMInstruction in
                        var one = instruction
                        one.values[.mask] = mine
                        return one
                    }
                    let own =
                        shape.map { timer.lowering.aimInstructions($0, order: timer.time($0).order, mask: mine) } ?? []
                    #expect(received == own, "channel \(c)")
                }
            }
        }
    }

    @Test(
        "the timer's reduced unit programs take exactly the full programs' cycles",
        arguments: AttentionPartitioning.attentionMappings)
    func reduced(partitioning: AttentionPartitioning) {
        let timer = KernelTimer(module: module, policy: .static)
        let program = AttentionProgram(timer: timer, mapping: partitioning.mapping!)
        let replay = program.replay(refresh: false)
        for op in operators(seed: 13) {
            for phase in [AttentionProgram.Phase.score, .value] {
                for unit in program.units(
                    phase, contexts: op.contexts, kvHeads: op.kvHeads, group: op.group, headDim: 128)
                {
                    let full = replay.run(program.instructions(unit) + [AiMInstruction(.eoc)]).cycles
                    let reduced = replay.run(program.reducedInstructions(unit) + [AiMInstruction(.eoc)]).cycles
                    #expect(full == reduced, "\(phase) \(op)")
                }
            }
        }
    }

    /// Head-first waves of 2,100-token heads have 17 DRAM rows per bank: with no MAC threshold the timer
    /// decomposes them into row blocks, and boundaries come from 6-block samples.
    @Test("attention: block-decomposed units and their boundaries add up to the whole-operator replay")
    func decomposedUnits() {
        let timer = KernelTimer(module: module, policy: .static, blockThreshold: 0)
        let program = AttentionProgram(timer: timer, mapping: HeadFirstMapping())
        let units = program.units(.score, contexts: [2100, 2200], kvHeads: 32, group: 1, headDim: 128)
        #expect(units.count == 2 && timer.unitBlocks(units[0]) != nil)
        var composed = timer.time(units[0], program: program).cycles + timer.time(units[1], program: program).cycles
        composed += timer.boundary(units[0], units[1], program: program).cycles
        let whole = program.replay(refresh: false).run(
            program.program(
                .score, contexts: [2100, 2200], kvHeads: 32,
                group: 1, headDim: 128)
        ).cycles
        #expect(composed == whole)
    }

    @Test("token-parallel QKᵀ broadcasts one WR_GB to every channel; SV and head-first write each channel's own")
    func inputs() {
        let timer = KernelTimer(module: module, policy: .static)
        let tcp = AttentionProgram(timer: timer, mapping: TokenParallelMapping())
        let hfp = AttentionProgram(timer: timer, mapping: HeadFirstMapping())
        func writes(_ p: AttentionProgram, _ phase: AttentionProgram.Phase) -> [Int] {
            p.program(phase, contexts: [4096], kvHeads: 32, group: 1, headDim: 128).filter { $0.opcode == .wrGB }
                .map { $0.values[.mask]!.nonzeroBitCount }
        }
        #expect(writes(tcp, .score).allSatisfy { $0 == 32 })
        #expect(writes(tcp, .value).allSatisfy { $0 == 1 })
        #expect(writes(hfp, .score).allSatisfy { $0 == 1 })
    }
}
