import Workload

/// The AiM instruction trace CENT writes for one device and one decode step of its pipeline-parallel rows:
/// `TransformerBlockLlama.trace_only` (`Llama.py:597-889`) as `function_sim.py --only-trace --op-trace
/// --channels-per-block C --GEMV reuse-GB --reuse-size 32 --seqlen T` runs it (`run_sim.py:83`), ended by
/// `AiM EOC` (`function_sim.py:59`), instruction for instruction. Replayed on the AiM simulator, its cycles at
/// 2 GHz are the "PIM latency" column of CENT's `simulation_results.csv` (docs/CENT-CODE.md, overview).
public struct CENTProgram: Sendable {
    public let model: CENTModel
    public let device: CENTDevice
    /// `--seqlen`: tokens in the context, the new one included.
    public let seqLen: Int
    public let rows: CENTRowMap

    public init(model: CENTModel, device: CENTDevice, seqLen: Int) {
        precondition(seqLen >= 2, "CENT's trace needs a context of at least 2 tokens")
        self.model = model
        self.device = device
        self.seqLen = seqLen
        rows = CENTRowMap(model: model, device: device)
    }

    /// The whole trace, in `trace_only`'s order: the segments one after the other, then EOC.
    public var instructions: [AiMInstruction] { Array(program) }

    /// The same, the score moves kept as loops (`CENTInstructions`): what the replay reads.
    public var program: CENTInstructions {
        var t = CENTTrace(device: device)
        for index in Self.pieces.indices { t.append(segment(index).program) }
        t.eoc()
        return t.program
    }

    /// A run of the trace that belongs to one operator of lolpim's decode step (`OpKind`), for the `cent` rung,
    /// which times each on its own (docs/MAPPING.md §13).
    public struct Segment: Sendable {
        public var kind: OpKind
        /// Its instructions, the score moves kept as loops.
        public var program: CENTInstructions
        /// The same, written out.
        public var instructions: [AiMInstruction] { Array(program) }
    }

    /// The trace cut at its operators, in `trace_only`'s order (`Llama.py` lines as below): the attention
    /// RMSNorm; Q, K, V and the rotary EWMULs; the K and V appends; QKᵀ; the softmax's moves and EWMULs; SV;
    /// Wo and the residual EWADD; the FFN RMSNorm; w1 (with AF) and w3; SiLU·x3; w2 and the residual EWADD.
    public var segments: [Segment] { Self.pieces.indices.map(segment) }

    /// Each segment's operator kind and what of the context its instructions depend on.
    public static let pieces: [(kind: OpKind, context: ContextUse)] = [
        (.norm, .none), (.qkvProjection, .none), (.kvAppend, .appendBank), (.attentionScore, .scoreGroups),
        (.softmax, .bursts), (.attentionValue, .bursts), (.outputProjection, .none), (.norm, .none), (.ffn, .none),
        (.ffnActivation, .none), (.ffn, .none),
    ]

    /// What of T a segment's instructions depend on.
    public enum ContextUse: Sendable {
        /// Nothing: the FC layers, norms and activation.
        case none
        /// Only `ceil(T / 16)`, the 32 B bursts T tokens fill: the softmax's moves and EWMULs and SV (1,024-token
        /// rows and the last row's bursts) count in multiples of 16 tokens.
        case bursts
        /// Only QKᵀ's groups of 16C tokens and the channels the last one reaches (`CENTDevice.scoreGroups`): T
        /// can move by up to 16C tokens without changing a QKᵀ instruction.
        case scoreGroups
        /// Only the bank the new token's K goes to, `(T − 1) mod 16C·f` (`CENTTrace.appendK`), and which of the
        /// rows the appends write are equal (`appendKey`): the rest of their instructions is fixed, their rows move
        /// with T, and the replay depends on rows only through which of them are equal (`ReplayFastForward`).
        case appendBank
    }

    /// What the appends' instructions (segment 2) depend on: the new token's bank, and each instruction whose row
    /// an earlier one already named, with that earlier one (the lock-step blocks write the same K rows on their own
    /// channels; beyond that usually none: one token's K rows differ, its V rows differ, and K's and V's regions are
    /// apart up to CENT's 4,096-token allocation, beyond which K's rows run into V's). Two contexts with the same key
    /// have the same instructions up to renaming rows one to one.
    public var appendKey: String {
        var first: [Int: Int] = [:], repeats: [String] = []
        for (i, instruction) in segment(2).instructions.enumerated() {
            guard let row = instruction.values[.row] else { continue }
            if let f = first[row] { repeats.append("\(i)=\(f)") } else { first[row] = i }
        }
        return "append-bank \((seqLen - 1) % device.fcBanks) equal-rows [\(repeats.joined(separator: " "))]"
    }

    /// Segment `index` of `segments`.
    public func segment(_ index: Int) -> Segment {
        let m = model, fc = device.fcBanks
        var t = CENTTrace(device: device)
        switch index {
        case 0: attentionNorm(&t)
        case 1: qkv(&t)
        case 2:
            t.appendK(model: m, rows: rows, seqLen: seqLen)
            t.appendV(model: m, rows: rows, seqLen: seqLen)
        case 3: t.score(model: m, rows: rows, seqLen: seqLen)
        case 4: t.softmax(model: m, rows: rows, seqLen: seqLen)
        case 5: t.output(model: m, rows: rows, seqLen: seqLen)
        case 6:
            t.weightGEMV(row: rows.wo, vectorDim: m.dim, matrixCols: m.dim, fcBanks: fc)  // 789
            t.ewadd(opsize: m.dim / device.burst)  // 791
        case 7: ffnNorm(&t)
        case 8:
            t.weightGEMV(row: rows.w1, vectorDim: m.dim, matrixCols: m.ffn, fcBanks: fc, activation: true)  // 829
            t.weightGEMV(row: rows.w3, vectorDim: m.dim, matrixCols: m.ffn, fcBanks: fc)  // 830
        case 9: activation(&t)
        default:
            t.weightGEMV(row: rows.w2, vectorDim: m.ffn, matrixCols: m.dim, fcBanks: fc)  // 887
            t.ewadd(opsize: m.dim / device.burst)  // 889
        }
        return Segment(kind: Self.pieces[index].kind, program: t.program)
    }

    /// `input_vector_neighbor_bank_length = ceil(dim / (16C / 2))` and the banks it fills (`Llama.py:611-612`;
    /// `input_vector_MAB_BK_BK_length`, 620, is the same value).
    var neighborBank: (length: Int, banks: Int) {
        let length = CENTDevice.ceilDiv(model.dim, device.totalBanks / 2)
        return (length, CENTDevice.ceilDiv(model.dim, length))
    }

    /// `input_vector_EWMUL_length = ceil(dim / (16C / 4))` and its utilized banks (`Llama.py:630-631`).
    var ewmulInput: (length: Int, banks: Int) {
        let length = CENTDevice.ceilDiv(model.dim, device.totalBanks / 4)
        return (length, CENTDevice.ceilDiv(model.dim, length))
    }

    /// The attention RMSNorm (`Llama.py:613-647`): x to both neighbour banks, x² by MAC_ABK, the scale to
    /// bank groups 0 and 1, EWMUL, four COPY_BKGB/COPY_GBBK pairs, EWMUL, the result back, SYNC.
    func attentionNorm(_ t: inout CENTTrace) {
        let nb = neighborBank, ew = ewmulInput, channels = device.blockChannels
        t.storeNeighborBankInput(banks: nb.banks, bankGroup: 0, row: rows.x, size: nb.length)  // 614
        t.storeNeighborBankInput(banks: nb.banks, bankGroup: 1, row: rows.x, size: nb.length)  // 615
        t.wrBias(channels)  // 620-623
        t.macABK(channels, row: rows.x, opsize: CENTDevice.ceilDiv(nb.length, device.burst))
        t.rdMAC(channels)
        t.storeEWMULInput(banks: ew.banks, bankGroup: 0, row: rows.xCopy, size: ew.length)  // 634
        t.storeEWMULInput(banks: ew.banks, bankGroup: 1, row: rows.xCopy, size: ew.length)  // 635
        normTail(&t, from: rows.xCopy, to: rows.saNorm)
    }

    /// The FFN RMSNorm (`Llama.py:793-822`): as the attention one, on `sa`, with the scale stored to bank
    /// group 1 before bank group 0.
    func ffnNorm(_ t: inout CENTTrace) {
        let nb = neighborBank, ew = ewmulInput, channels = device.blockChannels
        t.storeNeighborBankInput(banks: nb.banks, bankGroup: 0, row: rows.saCopy, size: nb.length)  // 795
        t.storeNeighborBankInput(banks: nb.banks, bankGroup: 1, row: rows.saCopy, size: nb.length)  // 797
        t.wrBias(channels)  // 798-800
        t.macABK(channels, row: rows.saCopy, opsize: CENTDevice.ceilDiv(nb.length, device.burst))
        t.rdMAC(channels)
        t.storeEWMULInput(banks: ew.banks, bankGroup: 1, row: rows.saCopy, size: ew.length)  // 806
        t.storeEWMULInput(banks: ew.banks, bankGroup: 0, row: rows.saCopy, size: ew.length)  // 807
        normTail(&t, from: rows.saCopy, to: rows.ffnNorm)
    }

    /// The end both norms share (`Llama.py:638-647`, 810-822): EWMUL on `from`, COPY_BKGB from bank 2, 6, 10,
    /// 14 of `from` and COPY_GBBK to the bank before it in `to`, EWMUL on `to`, `R MEM` of bank group 2, SYNC.
    private func normTail(_ t: inout CENTTrace, from: Int, to: Int) {
        let ew = ewmulInput, channels = device.blockChannels
        let opsize = CENTDevice.ceilDiv(ew.length, device.burst)
        t.ewmul(channels, row: from, opsize: opsize)
        for bank in 0..<device.banks where bank % 4 == 2 {
            t.copyBKGB(channels, bank: bank, row: from, opsize: opsize)
            t.copyGBBK(channels, bank: bank - 1, row: to, opsize: opsize)
        }
        t.ewmul(channels, row: to, opsize: opsize)
        t.loadEWMULInput(banks: ew.banks, bankGroup: 2, row: to, size: ew.length)
        t.sync()
    }

    /// Q, K, V GEMVs and the rotary embedding (`Llama.py:650-668`): xq and xk stored to bank group 1, one
    /// EWMUL each with opsize `dim / 16` and `dim / G / 16` (docs/CENT-CODE.md §7.7), and the results moved
    /// as `W MEM` to bank group 2 (CENT's trace "loads" them with the store helper, 666-668).
    func qkv(_ t: inout CENTTrace) {
        let m = model, fc = device.fcBanks, ew = ewmulInput, channels = device.blockChannels
        t.weightGEMV(row: rows.wq, vectorDim: m.dim, matrixCols: m.headDim * m.heads, fcBanks: fc)
        t.weightGEMV(row: rows.wk, vectorDim: m.dim, matrixCols: m.headDim * m.kvHeads, fcBanks: fc)
        t.weightGEMV(row: rows.wv, vectorDim: m.dim, matrixCols: m.headDim * m.kvHeads, fcBanks: fc)
        let xkLength = ew.length / m.repeats * 2
        t.storeEWMULInput(banks: ew.banks, bankGroup: 1, row: rows.xq, size: ew.length * 2)
        t.storeEWMULInput(banks: ew.banks, bankGroup: 1, row: rows.xk, size: xkLength)
        t.ewmul(channels, row: rows.xq, opsize: m.dim / device.burst)
        t.ewmul(channels, row: rows.xk, opsize: m.dim / m.repeats / device.burst)
        t.storeEWMULInput(banks: ew.banks, bankGroup: 2, row: rows.xq, size: ew.length * 2)
        t.storeEWMULInput(banks: ew.banks, bankGroup: 2, row: rows.xk, size: xkLength)
    }
}
