import Testing
import Workload

@testable import PIMModule

/// The `cent` partitioning's cost model (`CENTCostModel`, docs/MAPPING.md §13): CENT's block split, its lock-step
/// device steps, and the trace cut at its operators.
@Suite("The cent partitioning: CENT's blocks and device steps")
struct CENTCostModelTests {
    /// Llama2-7B as CENT's table has it.
    static let llama7B = ModelConfig(
        name: "Llama2-7B", layers: 32, hidden: 4096, queryHeads: 32, kvHeads: 32, headDim: 128, ffn: 11008,
        vocab: 32000, maxContext: 4096)

    @Test("blocks per module give CENT's channels per block, 32 // blocks (run_sim.py:58-59)")
    func blockSplit() {
        for (blocks, channels) in [(1, 32), (2, 16), (3, 10), (4, 8), (5, 6), (8, 4), (32, 1), (40, 1)] {
            let model = CENTCostModel(module: .cent32, model: Self.llama7B, blocks: blocks)
            #expect(model.device.channelsPerBlock == channels)
            #expect(model.blocks == min(blocks, 32))
        }
    }

    @Test("the model's dimensions become CENT's: heads, KV heads, head dim, hidden, FFN, vocabulary")
    func modelMapping() {
        let m = CENTModel(Self.llama7B)
        #expect(m.heads == 32 && m.kvHeads == 32 && m.headDim == 128 && m.dim == 4096)
        #expect(m.ffn == 11008 && m.layers == 32 && m.vocabulary == 32000)
        #expect(m.dim == CENTModel.llama2_7B.dim && m.repeats == CENTModel.llama2_7B.repeats)
    }

    @Test("the segments, one after the other, are the whole trace")
    func segmentsMakeTheTrace() {
        let device = CENTDevice(channelsPerBlock: 8)
        for seqLen in [2, 128, 1025, 4096] {
            let program = CENTProgram(model: .llama2_7B, device: device, seqLen: seqLen)
            let joined = program.segments.flatMap(\.instructions) + [AiMInstruction(.eoc)]
            #expect(joined == program.instructions)
            #expect(program.segments.map(\.kind).filter(\.isAttention).count == 4)
        }
    }

    @Test("a segment's instructions depend on T only as CENTProgram.pieces says (what its timings are keyed on)")
    func contextUse() {
        var random = SplitMix64(seed: 27)
        var sameAppends = 0
        for (model, c) in [(CENTModel.llama2_7B, 8), (.llama2_13B, 16), (.llama2_70B, 10), (.llama2_70B, 32)] {
            let device = CENTDevice(channelsPerBlock: c)
            for _ in 0..<6 {
                let t = 2 + Int(random.next() % 9000)
                let base = CENTProgram(model: model, device: device, seqLen: t)
                // Another T with the same bursts of 16 tokens, and any other T.
                let sameBursts = max(2, (t + 15) / 16 * 16 - Int(random.next() % 16))
                let other = 2 + Int(random.next() % 9000)
                for (index, piece) in CENTProgram.pieces.enumerated() {
                    let mine = base.segment(index).instructions
                    switch piece.context {
                    case .none:
                        #expect(
                            CENTProgram(model: model, device: device, seqLen: other).segment(index).instructions == mine
                        )
                    case .bursts:
                        #expect((sameBursts + 15) / 16 == (t + 15) / 16)
                        let twin = CENTProgram(model: model, device: device, seqLen: sameBursts).segment(index)
                        #expect(
                            twin.instructions == mine, "\(model.name) C=\(c) piece \(index): T \(t) vs \(sameBursts)")
                    case .scoreGroups:
                        // Any T in the same group of 16C·f tokens whose last group reaches as many channels.
                        let groups = device.scoreGroups(seqLen: t)
                        let group = device.fcBanks
                        let twins = ((groups.count - 1) * group + 1...groups.count * group).filter {
                            $0 >= 2 && device.scoreGroups(seqLen: $0).lastChannels == groups.lastChannels
                        }
                        let twin = twins[Int(random.next() % UInt64(twins.count))]
                        let instructions = CENTProgram(model: model, device: device, seqLen: twin).segment(index)
                            .instructions
                        #expect(instructions == mine, "\(model.name) C=\(c) piece \(index): T \(t) vs \(twin)")
                    case .appendBank:
                        // A T with the same bank and the same equal rows (`appendKey`): the same instructions with
                        // rows renamed one to one, so the same replay; any T with the same bank has the same shape.
                        let twin = t + device.fcBanks * (1 + Int(random.next() % 64))
                        let other = CENTProgram(model: model, device: device, seqLen: twin)
                        let theirs = other.segment(index).instructions
                        let (theirRows, theirShape) = Self.renamed(theirs), (myRows, myShape) = Self.renamed(mine)
                        #expect(theirShape == myShape)
                        guard other.appendKey == base.appendKey else { continue }
                        sameAppends += 1
                        #expect(theirRows == myRows, "\(model.name) C=\(c): T \(t) vs \(twin)")
                        let replay = AiMTraceReplay(module: .cent32, refresh: false, commit: .centPinned)
                        #expect(
                            replay.run(theirs + [AiMInstruction(.eoc)]).cycles
                                == replay.run(mine + [AiMInstruction(.eoc)]).cycles)
                    }
                }
            }
        }
        #expect(sameAppends > 0)
    }

    /// Instructions with every row replaced by the order in which its value first appears (rows renamed one to one),
    /// and the same without rows (the instructions' shape).
    static func renamed(_ instructions: [AiMInstruction]) -> (rows: [AiMInstruction], shape: [AiMInstruction]) {
        var order: [Int: Int] = [:]
        var rows: [AiMInstruction] = [], shape: [AiMInstruction] = []
        for var instruction in instructions {
            if let row = instruction.values[.row] {
                if order[row] == nil { order[row] = order.count }
                instruction.values[.row] = order[row]
                rows.append(instruction)
                instruction.values[.row] = 0
            } else {
                rows.append(instruction)
            }
            shape.append(instruction)
        }
        return (rows, shape)
    }

    @Test("a micro-batch of b requests through k layers keeps the module for max(b, k) device steps")
    func lockStepSteps() {
        let model = CENTCostModel(module: .cent32, model: Self.llama7B, blocks: 4)
        let step = DecodeStep(model: Self.llama7B)
        let one = model.stageCost(step: step, layers: 1, contexts: [130], includesLMHead: false).total
        #expect(one > 0)
        for (contexts, layers, steps) in [
            ([130], 4, 4), ([130, 129, 128, 127], 4, 4), (Array(repeating: 100, count: 6), 4, 6),
            ([130, 2], 3, 3),
        ] {
            let cost = model.stageCost(step: step, layers: layers, contexts: contexts + [], includesLMHead: false)
            // Every step runs at the longest context of the micro-batch.
            let longest = model.stageCost(step: step, layers: 1, contexts: [contexts.max()!], includesLMHead: false)
            #expect(cost.total == longest.total * Int64(steps))
        }
        _ = one
    }

    @Test("the near-memory units' time is CENT's Acc latency for every block (run_sim.py:166-180, 201)")
    func nearMemory() {
        let model = CENTCostModel(module: .cent32, model: Self.llama7B, blocks: 4)
        let acc = model.deviceStep(seqLen: 1000).filter { $0.1.commands == CommandCounts() }
            .reduce(Int64(0)) { $0 + $1.1.latency }
        let expected = CENTAnalytic.accMs(model: .llama2_7B, seqLen: 1000, blocksPerDevice: 4) * 1e9
        #expect(abs(Double(acc) - expected) <= 3)
    }

    @Test("the LM head (CENT's embedding trace) delays the micro-batch but does not keep the module")
    func embeddingOffModule() {
        let model = CENTCostModel(module: .cent32, model: Self.llama7B, blocks: 4)
        let step = DecodeStep(model: Self.llama7B)
        #expect(!model.isTimed(contexts: [200, 200], includesLMHead: false))
        let without = model.stageCost(step: step, layers: 4, contexts: [200, 200], includesLMHead: false)
        // The step is timed now; the embedding not yet.
        #expect(model.isTimed(contexts: [200, 190], includesLMHead: false))
        #expect(!model.isTimed(contexts: [200, 200], includesLMHead: true))
        let with = model.stageCost(step: step, layers: 4, contexts: [200, 200], includesLMHead: true)
        #expect(model.isTimed(contexts: [200, 200], includesLMHead: true))
        #expect(with.total == without.total)
        #expect(with.afterModulePs == model.embedding().latency)
        #expect(with.byKind == without.byKind)
    }

    @Test("timing the trace operator by operator is within 0.5 % of replaying the whole step (7B, C = 8)")
    func segmentsAgainstWhole() {
        for seqLen in [128, 640] {
            let model = CENTCostModel(module: .cent32, model: Self.llama7B, blocks: 4)
            let parts = model.deviceStep(seqLen: seqLen).filter { $0.1.commands != CommandCounts() }
                .reduce(Int64(0)) { $0 + $1.1.latency }
            let whole = CENTPIMLatency(
                model: .llama2_7B, device: CENTDevice(channelsPerBlock: 8), seqLen: seqLen, commit: .validated)
            let wholePs = whole.cycles * ModuleConfig.cent32.tCKps
            #expect(abs(Double(parts) / Double(wholePs) - 1) < 0.005, "T=\(seqLen): \(parts) vs \(wholePs) ps")
        }
    }
}

@Suite("The cent partitioning: cached pieces")
struct CENTCachedPiecesTests {
    @Test("a device step from cached pieces equals the step timed from scratch")
    func cachedEqualsFresh() {
        // Small FC layers keep the replays short; the attention pieces follow T as in any model.
        let m = ModelConfig(
            name: "small", layers: 4, hidden: 1024, queryHeads: 8, kvHeads: 8, headDim: 128, ffn: 2048,
            vocab: 1000, maxContext: 4096)
        let shared = CENTCostModel(module: .cent32, model: m, blocks: 2)
        for t in [105, 112, 113, 128, 129, 152, 1024, 1025, 1040, 1041] {
            let cached = shared.deviceStep(seqLen: t).map { $0.1.latency }
            let fresh = CENTCostModel(module: .cent32, model: m, blocks: 2).deviceStep(seqLen: t).map { $0.1.latency }
            #expect(cached == fresh, "T=\(t)")
        }
    }
}
