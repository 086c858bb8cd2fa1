import Testing

@testable import PIMModule

/// CENT's per-device trace (`CENTProgram`) against the closed-form counts docs/CENT-CODE.md derives from
/// CENT's loops (§1.4, §1.5, §1.7, §2.2, §3.2), for its three PP configurations at several T.
@Suite("CENT's per-device trace against docs/CENT-CODE.md's closed forms")
struct CENTProgramTests {
    /// CENT's PP rows: 7B on 8 devices (C = 8), 13B on 20 (C = 16), 70B on 32 (C = 10).
    static let configs: [(CENTModel, Int, Int)] = [
        (.llama2_7B, 8, 8), (.llama2_13B, 20, 16), (.llama2_70B, 32, 10),
    ]
    static let lengths = [128, 1000, 1025, 4096, 6400]

    func ceil(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

    func counts(_ program: [AiMInstruction]) -> [AiMInstruction.Opcode: Int] {
        program.reduce(into: [:]) { $0[$1.opcode, default: 0] += 1 }
    }

    func count(_ op: AiMInstruction.Opcode, _ section: (inout CENTTrace) -> Void, _ d: CENTDevice) -> Int {
        var t = CENTTrace(device: d)
        section(&t)
        return t.instructions.filter { $0.opcode == op }.count
    }

    @Test("the PP split: blocks per device ceil(L/D), C = 32 // blocks, run_sim.py's minimum refused")
    func geometry() {
        for (model, devices, c) in Self.configs {
            let d = CENTDevice(pipelineParallel: model, devices: devices)
            #expect(d?.channelsPerBlock == c)
            #expect(d?.blocksPerDevice == 32 / c)
        }
        #expect(CENTDevice(pipelineParallel: .llama2_70B, devices: 8) == nil)  // C = 3 < 6
        #expect(CENTDevice.floorDiv(-1, 1024) == -1 && CENTDevice.ceilDiv(0, 16) == 0)
    }

    @Test("QKᵀ MAC_ABK = H·ceil(T/Nb), WR_GB = r_k·ceil(T/Nb)·G, Nb = 16C (§1.4)")
    func score() {
        for (model, _, c) in Self.configs {
            let d = CENTDevice(channelsPerBlock: c), rows = CENTRowMap(model: model, device: d)
            for t in Self.lengths {
                let s = { (x: inout CENTTrace) in x.score(model: model, rows: rows, seqLen: t) }
                let rk = ceil(model.kvHeads * 128, 1024)
                #expect(count(.macABK, s, d) == model.heads * ceil(t, 16 * c))
                #expect(count(.wrBias, s, d) == model.heads * ceil(t, 16 * c))
                #expect(count(.rdMAC, s, d) == model.heads * ceil(t, 16 * c))
                #expect(count(.wrGB, s, d) == rk * ceil(t, 16 * c) * model.repeats)
            }
        }
    }

    /// Model-parallel ("TP") rows: C = 32, and K tokens and weight rows over `Nb = 512 f` banks of f devices.
    @Test("TP: QKᵀ MAC_ABK = H·ceil(T/512f) on 32 channels; SV whole: 8·ceil(Hkv/32)·G·ceil(T/1024); FC Nb = 512f")
    func modelParallel() {
        for model in CENTModel.all {
            for f in [1, 2, 4, 8, 16, 32] {
                let d = CENTDevice(modelParallel: f), rows = CENTRowMap(model: model, device: d)
                #expect(d.fcBanks == 512 * f && d.blocksPerDevice == 1 && d.blockChannels == 0..<32)
                for t in Self.lengths {
                    var x = CENTTrace(device: d)
                    x.score(model: model, rows: rows, seqLen: t)
                    let macs = x.instructions.filter { $0.opcode == .macABK }
                    #expect(macs.count == model.heads * ceil(t, 512 * f))
                    // `32 if channels_required_all_devices > 32` (TransformerBlock.py:795): every group on 32.
                    if f > 1 { #expect(macs.allSatisfy { $0.channels(limit: 32).count == 32 }) }
                    var v = CENTTrace(device: d)
                    v.output(model: model, rows: rows, seqLen: t)
                    let svMACs = v.instructions.filter { $0.opcode == .macABK }.count
                    #expect(svMACs == 8 * ceil(model.kvHeads, 32) * model.repeats * ceil(t, 1024))
                }
                let gemv = { (x: inout CENTTrace) in
                    x.weightGEMV(row: 0, vectorDim: model.dim, matrixCols: model.ffn, fcBanks: d.fcBanks)
                }
                #expect(count(.macABK, gemv, d) == ceil(model.dim, 1024) * ceil(model.ffn, 512 * f))
                // The K append goes to token T − 1's bank within its device: channel ((T−1) mod 512f mod 512) / 16.
                let t = 4096
                var k = CENTTrace(device: d)
                k.appendK(model: model, rows: rows, seqLen: t)
                let channel = (t - 1) % (512 * f) % 512 / 16
                #expect(k.instructions.allSatisfy { $0.values[.channel] == channel })
            }
        }
    }

    @Test("SV MAC_ABK = 8·ceil(Hkv/C)·G·ceil(T/1024), opsizes sum to 8·ceil(Hkv/C)·G·ceil(T/16) (§1.5)")
    func output() {
        for (model, _, c) in Self.configs {
            let d = CENTDevice(channelsPerBlock: c), rows = CENTRowMap(model: model, device: d)
            for t in Self.lengths {
                var x = CENTTrace(device: d)
                x.output(model: model, rows: rows, seqLen: t)
                let macs = x.instructions.filter { $0.opcode == .macABK }
                let slots = ceil(model.kvHeads, c) * model.repeats
                #expect(macs.count == 8 * slots * ceil(t, 1024))
                #expect(macs.map(\.opsize).reduce(0, +) == 8 * slots * ceil(t, 16))
                #expect(x.instructions.filter { $0.opcode == .wrGB }.count == slots * ceil(t, 1024))
                // Every MAC_ABK opens a row other than its predecessor's (§1.5: ACT16 = MAC_ABK).
                #expect(zip(macs, macs.dropFirst()).allSatisfy { $0.row != $1.row })
            }
        }
    }

    @Test("FC layers: MAC_ABK ceil(N_in/1024)·ceil(N_out/Nb) per layer, WR_GB ceil(N_in/1024), AF = RD_AF (§2.2)")
    func fullyConnected() {
        for (model, _, c) in Self.configs {
            let d = CENTDevice(channelsPerBlock: c), nb = 16 * c
            let layers = [
                (model.dim, model.dim), (model.dim, 128 * model.kvHeads), (model.dim, 128 * model.kvHeads),
                (model.dim, model.dim), (model.dim, model.ffn), (model.dim, model.ffn), (model.ffn, model.dim),
            ]
            for (i, (nIn, nOut)) in layers.enumerated() {
                let gemv = { (x: inout CENTTrace) in
                    x.weightGEMV(row: 0, vectorDim: nIn, matrixCols: nOut, fcBanks: nb, activation: i == 4)
                }
                #expect(count(.macABK, gemv, d) == ceil(nIn, 1024) * ceil(nOut, nb))
                #expect(count(.wrBias, gemv, d) == ceil(nIn, 1024) * ceil(nOut, nb))
                #expect(count(.wrGB, gemv, d) == ceil(nIn, 1024))
                #expect(count(.af, gemv, d) == (i == 4 ? ceil(nOut, nb) : 0))
                #expect(count(.rdAF, gemv, d) == (i == 4 ? ceil(nOut, nb) : 0))
            }
        }
        // docs/CENT-CODE.md §2.2's worked numbers, 70B PP: 5,280 FC MAC_ABKs per step.
        let d = CENTDevice(channelsPerBlock: 10), m = CENTModel.llama2_70B
        let all = { (x: inout CENTTrace) in
            for (nIn, nOut) in [(8192, 8192), (8192, 1024), (8192, 1024), (8192, 8192), (8192, 28672)] {
                x.weightGEMV(row: 0, vectorDim: nIn, matrixCols: nOut, fcBanks: 160)
            }
            x.weightGEMV(row: 0, vectorDim: m.dim, matrixCols: m.ffn, fcBanks: 160)
            x.weightGEMV(row: 0, vectorDim: m.ffn, matrixCols: m.dim, fcBanks: 160)
        }
        #expect(count(.macABK, all, d) == 5280)
    }

    @Test("softmax: 4·H·ceil(T/16)·bpd W MEM, 2·H·ceil(T/16)·bpd R MEM, 2·ceil(H/4C)·ceil(T/1024) EWMULs (§3.2)")
    func softmax() {
        for (model, _, c) in Self.configs {
            let d = CENTDevice(channelsPerBlock: c), rows = CENTRowMap(model: model, device: d)
            for t in Self.lengths {
                let s = { (x: inout CENTTrace) in x.softmax(model: model, rows: rows, seqLen: t) }
                let bursts = model.heads * ceil(t, 16) * d.blocksPerDevice
                #expect(count(.writeMEM, s, d) == 4 * bursts)
                #expect(count(.readMEM, s, d) == 2 * bursts)
                #expect(count(.ewmul, s, d) == 2 * ceil(model.heads, 4 * c) * ceil(t, 1024))
                #expect(count(.sync, s, d) == 2)
            }
        }
    }

    @Test("appends: K 64·(Hkv·d/1024)·bpd W MEM to bank (T−1) mod 16C; V 8·Hkv single-channel WR_ABKs (§1.7)")
    func appends() {
        for (model, _, c) in Self.configs {
            let d = CENTDevice(channelsPerBlock: c), rows = CENTRowMap(model: model, device: d)
            for t in Self.lengths {
                var x = CENTTrace(device: d)
                x.appendK(model: model, rows: rows, seqLen: t)
                #expect(x.instructions.count == 64 * (model.kvHeads * 128 / 1024) * d.blocksPerDevice)
                let g = (t - 1) % (16 * c)
                #expect(x.instructions.allSatisfy { $0.values[.bank] == g % 16 && $0.values[.channel]! % c == g / 16 })
                #expect(Set(x.instructions.map { $0.values[.channel]! / c }).count == d.blocksPerDevice)
                #expect(count(.wrABK, { $0.appendV(model: model, rows: rows, seqLen: t) }, d) == 8 * model.kvHeads)
            }
        }
    }

    /// `store_for_EWMUL_score_only_trace` / `load_from_EWMUL_score_only_trace` (`TransformerBlock.py:1183-1227`)
    /// written out loop by loop, as CENT writes its trace: what `CENTInstructions.ScoreMove` must read back.
    func writtenOut(write: Bool, heads: Int, row: Int, bankGroup: Int, seqLen: Int, _ d: CENTDevice) -> [AiMInstruction]
    {
        var out: [AiMInstruction] = []
        let rowsPerScore = ceil(seqLen, d.rowValues), headsPerBank = ceil(heads, d.channelsPerBlock * 4)
        for k in 0..<rowsPerScore {
            let size = k == rowsPerScore - 1 ? seqLen - d.rowValues * (rowsPerScore - 1) : d.rowValues
            for j in 0..<headsPerBank {
                for _ in 0..<ceil(size, d.burst) {
                    for bank in 0..<d.totalBanks where bank % 4 == bankGroup {
                        if (bank / 4) * headsPerBank + j > heads - 1 { break }
                        let (channel, b) = d.bankIndex(bank)
                        for tb in 0..<d.blocksPerDevice {
                            out.append(
                                AiMInstruction(
                                    write ? .writeMEM : .readMEM,
                                    [
                                        .channel: channel + d.channelsPerBlock * tb, .bank: b,
                                        .row: row + j * rowsPerScore + k,
                                    ]))
                        }
                    }
                }
            }
        }
        return out
    }

    @Test("score moves kept as loops read back as CENT writes them out, between written runs; their summaries")
    func scoreMovesAsLoops() {
        let cases: [(heads: Int, device: CENTDevice, seqLen: Int)] = [
            (32, CENTDevice(channelsPerBlock: 8), 2_500), (64, CENTDevice(channelsPerBlock: 10), 1_024),
            (64, CENTDevice(modelParallel: 4), 3_000), (40, CENTDevice(channelsPerBlock: 16), 17),
            (3, CENTDevice(channelsPerBlock: 32), 1_100),
        ]
        for (heads, d, t) in cases {
            var program = CENTInstructions()
            var expected: [AiMInstruction] = []
            let eoc = AiMInstruction(.eoc), sync = AiMInstruction(.sync)
            for (index, (write, group)) in [(true, 0), (true, 1), (false, 2)].enumerated() {
                program.append(sync)
                expected.append(sync)
                program.append(
                    CENTInstructions.ScoreMove(
                        write: write, device: d, heads: heads, row: 100 * index, bankGroup: group, seqLen: t))
                expected += writtenOut(write: write, heads: heads, row: 100 * index, bankGroup: group, seqLen: t, d)
            }
            program.append(eoc)
            expected.append(eoc)
            #expect(program.count == expected.count, "H=\(heads) C=\(d.channelsPerBlock) T=\(t)")
            #expect(Array(program) == expected, "H=\(heads) C=\(d.channelsPerBlock) T=\(t)")
            let middle = 5..<(expected.count - 7)
            #expect(program.hostAccesses(in: middle) == middle.filter { expected[$0].opcode.isHostAccess }.count)
            #expect(program.rowSummary.maxRow >= expected.compactMap { $0.values[.row] }.max()!)
            #expect(!program.rowSummary.hasAF)
        }
    }

    @Test("the whole step: every opcode's count is the sum of its sections' closed forms")
    func wholeStep() {
        for (model, _, c) in Self.configs {
            let d = CENTDevice(channelsPerBlock: c), nb = 16 * c, bpd = d.blocksPerDevice
            let fc = [
                (model.dim, model.dim), (model.dim, 128 * model.kvHeads), (model.dim, 128 * model.kvHeads),
                (model.dim, model.dim), (model.dim, model.ffn), (model.dim, model.ffn), (model.ffn, model.dim),
            ]
            let fcMACs = fc.map { ceil($0.0, 1024) * ceil($0.1, nb) }.reduce(0, +)
            let fcGB = fc.map { ceil($0.0, 1024) }.reduce(0, +)
            // Vector moves of the norms, rotary and activation (Llama.py:611-668, 793-822, 870-883).
            let nbLen = ceil(model.dim, 8 * c), nbBanks = ceil(model.dim, nbLen)
            let ewLen = ceil(model.dim, 4 * c), ewBanks = ceil(model.dim, ewLen)
            let fLen = ceil(model.ffn, 4 * c), fBanks = ceil(model.ffn, fLen)
            let xk = ewLen / model.repeats * 2
            let fixedWrites =
                2 * (2 * ceil(nbLen, 16) * nbBanks + 2 * ceil(ewLen, 16) * ewBanks)
                + 2 * (ceil(2 * ewLen, 16) + ceil(xk, 16)) * ewBanks + 3 * ceil(fLen, 16) * fBanks
            let fixedReads = 2 * ceil(ewLen, 16) * ewBanks + ceil(fLen, 16) * fBanks
            for t in Self.lengths {
                let program = CENTProgram(model: model, device: d, seqLen: t).instructions
                let n = counts(program)
                let qk = model.heads * ceil(t, nb)
                let sv = 8 * ceil(model.kvHeads, c) * model.repeats * ceil(t, 1024)
                let macs = 2 + fcMACs + qk + sv
                #expect(n[.macABK] == macs && n[.wrBias] == macs && n[.rdMAC] == macs)
                let gb =
                    fcGB + ceil(model.kvHeads * 128, 1024) * ceil(t, nb) * model.repeats
                    + ceil(model.kvHeads, c) * model.repeats * ceil(t, 1024)
                #expect(n[.wrGB] == gb)
                #expect(n[.af] == ceil(model.ffn, nb) && n[.rdAF] == ceil(model.ffn, nb))
                #expect(n[.ewmul] == 4 + 2 + 2 * ceil(model.heads, 4 * c) * ceil(t, 1024) + 2)
                #expect(n[.copyBKGB] == 12 && n[.copyGBBK] == 12)
                #expect(n[.sync] == 5 && n[.ewadd] == 2 && n[.eoc] == 1 && program.last?.opcode == .eoc)
                #expect(n[.wrABK] == 8 * model.kvHeads)
                let kAppend = 64 * (model.kvHeads * 128 / 1024)
                #expect(n[.writeMEM] == (fixedWrites + kAppend + 4 * model.heads * ceil(t, 16)) * bpd)
                #expect(n[.readMEM] == (fixedReads + 2 * model.heads * ceil(t, 16)) * bpd)
                #expect(n.count == 15)
            }
        }
    }

    @Test("the trace parses back as the AiM toolchain reads it, line for line")
    func roundTrip() throws {
        let program = CENTProgram(model: .llama2_70B, device: CENTDevice(channelsPerBlock: 10), seqLen: 300)
        let instructions = program.instructions
        let text = instructions.map(\.text).joined(separator: "\n")
        let parsed = try AiMTraceParser.parse(text, file: "cent", rows: 16384).instructions
        #expect(parsed.count == instructions.count)
        #expect(zip(parsed, instructions).allSatisfy { $0.opcode == $1.opcode && $0.values == $1.values })
        #expect(text.hasPrefix("W MEM 0 0 0\n"))
        #expect(instructions.contains { $0.text == "AiM MAC_ABK 8 0xfffffffc \(program.rows.cacheK)" })
    }
}
