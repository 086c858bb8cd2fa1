import Foundation
import Testing
import Workload
@testable import PIMModule

/// `ReplayFastForward`: skipping the periods a program repeats changes nothing in the report.
@Suite("AiM replay fast-forward: the same report as the cycle-by-cycle replay")
struct ReplayFastForwardTests {
    let module = ModuleConfig.cent32

    /// Replays `program` with and without the fast-forward and expects every figure of the report equal;
    /// returns the cycles the fast-forward passed over.
    @discardableResult
    func expectSame(
        _ program: some AiMProgram, on replay: AiMTraceReplay, _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int64 {
        let slow = replay.run(program, fastForward: false), fast = replay.run(program)
        #expect(slow.fastForwardedCycles == 0, sourceLocation: sourceLocation)
        #expect(fast.cycles == slow.cycles, "\(what): cycles", sourceLocation: sourceLocation)
        #expect(fast.commands == slow.commands, "\(what): commands", sourceLocation: sourceLocation)
        #expect(fast.instructions == slow.instructions, "\(what): instructions", sourceLocation: sourceLocation)
        #expect(fast.hostLines == slow.hostLines, "\(what): host lines", sourceLocation: sourceLocation)
        #expect(fast.channelCommands == slow.channelCommands, "\(what): per channel", sourceLocation: sourceLocation)
        #expect(fast.channelEnd == slow.channelEnd, "\(what): channel ends", sourceLocation: sourceLocation)
        #expect(fast.queueFullCycles == slow.queueFullCycles, "\(what): queue full", sourceLocation: sourceLocation)
        #expect(fast.blockedCycles == slow.blockedCycles, "\(what): blocked", sourceLocation: sourceLocation)
        return fast.fastForwardedCycles
    }

    @Test("GEMV programs: random shapes, both loop orders, one channel and 32")
    func gemv() {
        var rng = SplitMix64(seed: 21)
        let timer = KernelTimer(module: module, policy: .static)
        var skipped: Int64 = 0
        for i in 0..<8 {
            let shape = GEMVShape(
                rows: Int.random(in: 1...1200, using: &rng), columns: Int.random(in: 1...2500, using: &rng),
                batch: Int.random(in: 1...10, using: &rng))
            let channels = i % 2 == 0 ? 1 : 32
            let replay = AiMTraceReplay(
                timing: module.timing, channels: channels, banks: module.banksPerChannel, refresh: false)
            for order in LoopOrder.allCases {
                let mask = AiMInstruction.mask(0..<channels)
                let program = timer.aimProgram(shape, order: order, mask: mask)
                skipped += expectSame(program, on: replay, "\(shape) \(order)")
            }
        }
        #expect(skipped > 0)
    }

    /// Head-first waves whose channels hold contexts of different lengths: the case the fast-forward is for
    /// (each channel leaves the lock-step at its own length).
    @Test("attention operators: both partitionings, both phases, contexts of different lengths, MHA and GQA")
    func attention() {
        var rng = SplitMix64(seed: 8)
        for partitioning in AttentionPartitioning.attentionMappings {
            let timer = KernelTimer(module: module, policy: .static)
            let program = AttentionProgram(timer: timer, mapping: partitioning.mapping!)
            let replay = program.replay(refresh: false)
            var skipped: Int64 = 0
            for _ in 0..<3 {
                let contexts = (0..<Int.random(in: 1...9, using: &rng)).map { _ in
                    Int.random(in: 100...4000, using: &rng)
                }
                let (kvHeads, group) = [(4, 1), (8, 4), (2, 8)].randomElement(using: &rng)!
                for phase in [AttentionProgram.Phase.score, .value] {
                    let instructions = program.program(
                        phase, contexts: contexts, kvHeads: kvHeads, group: group, headDim: 128)
                    skipped += expectSame(instructions, on: replay, "\(partitioning) \(phase) \(contexts)")
                }
            }
            #expect(skipped > 0, "\(partitioning)")
        }
    }

    @Test("the recorded traces, whatever they hold (memory requests, SYNC, AF, masks)")
    func recorded() throws {
        let replay = AiMTraceReplay(timing: .gddr6AiM, refresh: false)
        for file in ["cycles.csv", "lolpim-cycles.csv"] {
            for (trace, cycles) in try validationTotals(file) {
                let text = try String(contentsOfFile: validationFolder + "/" + trace, encoding: .utf8)
                let program = try replay.parse(text, file: trace).instructions
                expectSame(program, on: replay, trace)
                #expect(replay.run(program).cycles == cycles, "\(trace)")
            }
        }
    }

    /// One row per instruction, or the same row throughout; MAC_ABK with and without WR_BIAS; mode changes
    /// in every period; a SYNC every few periods: programs whose periods are short, long or broken.
    @Test("hand-made programs: periods of every length, broken periods, programs without EOC")
    func handMade() {
        let replay = AiMTraceReplay(timing: .gddr6AiM, channels: 4, refresh: false)
        let all = AiMInstruction.mask(0..<4), one = AiMInstruction.mask([2])
        func mac(_ row: Int, _ opsize: Int = 8, mask: Int = all) -> AiMInstruction {
            AiMInstruction(.macABK, [.opsize: opsize, .mask: mask, .row: row])
        }
        let rdMAC = AiMInstruction(.rdMAC, [.gpr0: 0, .mask: all])
        let bias = AiMInstruction(.wrBias, [.gpr0: 0, .mask: all])
        let eoc = AiMInstruction(.eoc)
        let sameRow = (0..<200).flatMap { _ in [bias, mac(3), rdMAC] } + [eoc]
        let newRows = (0..<200).flatMap { r in [mac(r), rdMAC] } + [eoc]
        let twoRows = (0..<150).flatMap { r in [mac(r / 2), mac(r / 2 + 500, 3), rdMAC] } + [eoc]
        let synced = (0..<120).flatMap { r in [mac(r), rdMAC] + (r % 7 == 6 ? [AiMInstruction(.sync)] : []) } + [eoc]
        let oneChannel = (0..<100).flatMap { r in [mac(r, mask: one), mac(r), rdMAC] } + [eoc]
        let noEOC = (0..<100).flatMap { r in [mac(r), rdMAC] }
        let broken = (0..<160).flatMap { r in [mac(r, r == 90 ? 20 : 8), rdMAC] } + [eoc]
        let cfr = AiMInstruction(.writeCFR, [.address: 0, .data: 1]), gpr = AiMInstruction(.writeGPR, [.address: 3])
        let hostInPeriods = (0..<100).flatMap { r in [mac(r), rdMAC, cfr] } + [eoc]
        // A host line right after a run of periods: the next instruction the replay decodes after a skip.
        let hostAfter =
            (0..<60).flatMap { r in [mac(r), rdMAC] } + [gpr] + (60..<120).flatMap { r in [mac(r), rdMAC] }
            + [eoc]
        var skipped: Int64 = 0
        for (name, program) in [
            ("same row", sameRow), ("new rows", newRows), ("two rows", twoRows), ("SYNC", synced),
            ("one channel", oneChannel), ("no EOC", noEOC), ("broken", broken), ("host lines", hostInPeriods),
            ("host line after periods", hostAfter),
        ] {
            skipped += expectSame(program, on: replay, name)
        }
        #expect(skipped > 0)
    }

    /// CENT's traces (AF in w1's GEMV, single-burst host accesses, SYNCs): the TP and PP devices at a few T.
    @Test("CENT's device steps, AF included: the same report as cycle by cycle, and periods skipped")
    func centSteps() {
        let replay = AiMTraceReplay(module: module, refresh: false, commit: .centPinned)
        var skipped: Int64 = 0
        for (model, device, t) in [
            (CENTModel.llama2_7B, CENTDevice(channelsPerBlock: 8), 130),
            (.llama2_13B, CENTDevice(modelParallel: 10), 1_000),
            (.llama2_70B, CENTDevice(modelParallel: 32), 2_049),
        ] {
            let program = CENTProgram(model: model, device: device, seqLen: t)
            #expect(FastForward.applies(to: program.instructions))
            skipped += expectSame(program.instructions, on: replay, "\(model.name) C=\(device.channelsPerBlock) T=\(t)")
            // The FFN's piece alone (w1 with AF, w3) from idle channels, as the cent rung times it.
            skipped += expectSame(program.segment(8).instructions + [AiMInstruction(.eoc)], on: replay, "FFN piece")
        }
        #expect(skipped > 0)
    }

    /// Programs with no sync point for thousands of instructions: CENT's softmax, whose moves are single-burst
    /// `W MEM` / `R MEM` host requests, and a hand-made stream of writes and reads with queues that fill. Only the
    /// stride points (`FastForward.stride`) can find their periods, with requests still queued.
    @Test("memory-request streams: skipped between sync points, queued requests and all, with the same report")
    func memoryStreams() {
        let cent = AiMTraceReplay(module: module, refresh: false, commit: .centPinned)
        for (model, device, t) in [
            (CENTModel.llama2_7B, CENTDevice(channelsPerBlock: 8), 5_000),
            (.llama2_70B, CENTDevice(channelsPerBlock: 32), 3_100),
        ] {
            let softmax = CENTProgram(model: model, device: device, seqLen: t).segment(4).instructions
            let skipped = expectSame(softmax + [AiMInstruction(.eoc)], on: cent, "\(model.name) softmax T=\(t)")
            let cycles = cent.run(softmax + [AiMInstruction(.eoc)]).cycles
            // Most of the moves are skipped, not only what lies between SYNCs.
            #expect(Double(skipped) > 0.5 * Double(cycles), "\(model.name): \(skipped) of \(cycles)")
        }
        let replay = AiMTraceReplay(timing: .gddr6AiM, channels: 2, refresh: false)
        func access(_ op: AiMInstruction.Opcode, _ channel: Int, _ bank: Int, _ row: Int) -> AiMInstruction {
            AiMInstruction(op, [.channel: channel, .bank: bank, .row: row])
        }
        // Writes that fill a queue (one channel only), reads forwarded from queued writes, rows that change.
        let filling = (0..<3000).map { i in access(.writeMEM, 0, i % 4, 7) } + [AiMInstruction(.eoc)]
        let mixed =
            (0..<400).flatMap { i in
                [access(.writeMEM, i % 2, i % 16, i / 50), access(.readMEM, i % 2, (i + 3) % 16, i / 50)]
            } + [AiMInstruction(.eoc)]
        let rowsOn = (0..<2000).map { i in access(.readMEM, 1, i % 8, 100 + i / 64) } + [AiMInstruction(.eoc)]
        var skipped: Int64 = 0
        for (name, program) in [("queue fills", filling), ("writes and reads", mixed), ("rows move on", rowsOn)] {
            skipped += expectSame(program, on: replay, name)
        }
        #expect(skipped > 0)
    }

    /// Instructions of hundreds of cycles each with no sync point between them: the softmax's scale pass, an EWMUL of
    /// a row's bursts on every channel per score row. A period of one of them holds no stride point, so the program
    /// says each starts a period (`CENTInstructions.startsPeriod`), and the replay records its state there.
    @Test("long instructions without sync points: declared period starts find a period of one EWMUL, same report")
    func longInstructions() {
        let replay = AiMTraceReplay(module: module, refresh: false, commit: .centPinned)
        let all = AiMInstruction.mask(0..<module.channels)
        for (rows, opsize) in [(60, 64), (45, 17), (90, 3)] {
            var held = CENTInstructions(), plain = CENTInstructions()
            for row in 0..<rows {
                let ewmul = AiMInstruction(.ewmul, [.opsize: opsize, .mask: all, .row: 300 + row])
                held.append(ewmul, startsPeriod: true)
                plain.append(ewmul)
            }
            for tail in [AiMInstruction(.sync), AiMInstruction(.eoc)] {
                held.append(tail)
                plain.append(tail)
            }
            #expect(held.indices.filter { held.startsPeriod(at: $0) } == Array(0..<rows))
            let skipped = expectSame(held, on: replay, "\(rows) EWMULs of \(opsize) bursts")
            let cycles = replay.run(held).cycles
            #expect(Double(skipped) > 0.6 * Double(cycles), "\(rows) × \(opsize): \(skipped) of \(cycles)")
            // Undeclared, the same instructions find no period (a stride point every 32 of them only).
            #expect(replay.run(plain).fastForwardedCycles == 0 && replay.run(plain).cycles == cycles)
        }
    }

    /// The softmax held as loops (`CENTInstructions`), as the cent rung replays it: its moves tell the fast-forward
    /// which periods repeat (`knownRepeats`: a burst's instructions inside a block, rows unmoved, and one 1,024-token
    /// row's instructions, rows moved by 1) and where a row starts (`startsPeriod`), and the report is still the
    /// cycle-by-cycle one, random contexts of several rows included.
    @Test("score moves held as loops: the periods they know to repeat do, and the report is the same")
    func heldMoves() {
        let cent = AiMTraceReplay(module: module, refresh: false, commit: .centPinned)
        var random = SplitMix64(seed: 38)
        for (model, device, t) in [
            (CENTModel.llama2_7B, CENTDevice(channelsPerBlock: 8), 5_000),
            (.llama2_70B, CENTDevice(channelsPerBlock: 10), 3_100),
            (.llama2_70B, CENTDevice(channelsPerBlock: 32), 1_030),
            (.llama2_7B, CENTDevice(channelsPerBlock: 16), 3_072 + Int(random.next() % 2_048)),
            (.llama2_70B, CENTDevice(channelsPerBlock: 16), 3_072 + Int(random.next() % 2_048)),
        ] {
            var softmax = CENTProgram(model: model, device: device, seqLen: t).segment(4).program
            softmax.append(AiMInstruction(.eoc))
            let name = "\(model.name) C=\(device.channelsPerBlock) softmax T=\(t)"
            // One row's instructions in each of the softmax's moves (bank groups 0, 1 and 2).
            let rowLengths = (0..<3).map {
                CENTInstructions.ScoreMove(
                    write: true, device: device, heads: model.heads, row: 0, bankGroup: $0, seqLen: t
                ).fullRow
            }
            // Every period it says repeats does, instruction for instruction; it knows some.
            var known = (bursts: 0, rows: 0)
            for _ in 0..<300 {
                let reference = Int(random.next() % UInt64(softmax.count))
                // Any length, or a multiple of 32 (a burst's instructions are 32, 64, 96 or 128 here), rows unmoved;
                // or one row's instructions, rows moved by 1.
                let moved = random.next() % 3 == 0
                let length =
                    moved
                    ? rowLengths[Int(random.next() % 3)]
                    : random.next() % 2 == 0 ? 1 + Int(random.next() % 96) : 32 * (1 + Int(random.next() % 16))
                let rows = moved ? 1 : 0
                let repeats = softmax.knownRepeats(of: reference, length: length, rows: rows)
                #expect(softmax.knownRepeats(of: reference, length: length, rows: 2) == 0)
                if moved { known.rows += repeats } else { known.bursts += repeats }
                for p in 0..<repeats {
                    for i in 0..<length {
                        let at = reference + (p + 1) * length + i
                        #expect(
                            FastForward.same(softmax[at], softmax[reference + i], rowsOn: (p + 1) * rows),
                            "\(name): period \(p) of \(reference)+\(length), rows moved by \(rows)")
                    }
                }
            }
            #expect(known.bursts > 0, "\(name)")
            #expect(known.rows > 0 || t <= 2_048, "\(name)")
            // A row's start is a period's, and so is every scale EWMUL (two passes, one per head slot and row).
            let scoreRows = (t + 1_023) / 1_024, slots = (model.heads - 1) / (4 * device.channelsPerBlock) + 1
            let starts = softmax.indices.filter { softmax.startsPeriod(at: $0) }
            let scale = starts.filter { softmax[$0].opcode == .ewmul }
            #expect(scale.count == 2 * slots * scoreRows, "\(name): the scale EWMULs")
            #expect(softmax.filter { $0.opcode == .ewmul }.count == scale.count, "\(name): only they")
            #expect(starts.count - scale.count == 6 * scoreRows, "\(name): six moves, a start per row")
            let skipped = expectSame(softmax, on: cent, name)
            #expect(skipped > 0, "\(name)")
            #expect(cent.run(softmax).cycles == cent.run(Array(softmax)).cycles, "\(name): held and written out")
        }
    }

    /// A bank no command reaches in a period keeps its open row while the others' rows move (`bankPeriods`): its
    /// row is not moved with them, so what later depends on it (a hit or a miss on that bank, all banks on one row)
    /// comes out as the cycle-by-cycle replay has it; rows sweeping past it included.
    @Test("banks left alone in a period keep their rows: hits, misses and all-bank rows after it as cycle by cycle")
    func banksLeftAlone() {
        let replay = AiMTraceReplay(timing: .gddr6AiM, channels: 2, refresh: false)
        func write(bank: Int, row: Int) -> AiMInstruction {
            AiMInstruction(memory: .writeMEM, channel: 0, bank: bank, row: row)
        }
        let mask = AiMInstruction.mask(0..<1)
        var skipped: Int64 = 0
        for (fixedRow, after) in [(50, 50), (50, 51), (300, 300), (120, 119)] {
            // Bank 1 opens `fixedRow`; bank 0's rows then move by 1 per write, through 0..<200 (past `fixedRow`
            // or not); then bank 1 is written at `after` (a hit or a miss), and an all-bank MAC at row 199.
            let program =
                [write(bank: 1, row: fixedRow)] + (0..<200).map { write(bank: 0, row: $0) }
                + [
                    write(bank: 1, row: after), AiMInstruction(.macABK, [.opsize: 2, .mask: mask, .row: 199]),
                    AiMInstruction(.rdMAC, [.gpr0: 0, .mask: mask]), AiMInstruction(.eoc),
                ]
            skipped += expectSame(program, on: replay, "bank 1 at row \(fixedRow), then \(after)")
        }
        #expect(skipped > 0)
    }

    @Test("programs with AF that name rows in the LUT's range, or replays that record or refresh: cycle by cycle")
    func leftAlone() {
        let replay = AiMTraceReplay(timing: .gddr6AiM, channels: 2, refresh: false)
        let mask = AiMInstruction.mask(0..<2)
        let body = (0..<100).flatMap { r in
            [
                AiMInstruction(.macABK, [.opsize: 8, .mask: mask, .row: r]),
                AiMInstruction(.rdMAC, [.gpr0: 0, .mask: mask]),
            ]
        }
        let withAF = body + [AiMInstruction(.af, [.mask: mask]), AiMInstruction(.eoc)]
        #expect(replay.run(body + [AiMInstruction(.eoc)]).fastForwardedCycles > 0)
        #expect(replay.run(withAF).fastForwardedCycles > 0)
        let lutRange = [AiMInstruction(.macABK, [.opsize: 8, .mask: mask, .row: 1 << 29])] + withAF
        #expect(replay.run(lutRange).fastForwardedCycles == 0)
        #expect(replay.run(body + [AiMInstruction(.eoc)], record: true).fastForwardedCycles == 0)
        let refreshing = AiMTraceReplay(timing: .gddr6AiM, channels: 2, refresh: true)
        #expect(refreshing.run(body + [AiMInstruction(.eoc)]).fastForwardedCycles == 0)
    }
}
