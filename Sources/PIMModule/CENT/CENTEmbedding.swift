/// CENT's embedding trace (`TransformerBlockLlama.trace_only_embedding`, `Llama.py:891-936`), written once per
/// PP configuration at `--seqlen` 4096 (`run_sim.py:64-70`) and added once per token as "Embedding latency"
/// (`run_sim.py:263-282`): a GEMV of the 32,000-value vocabulary vector onto dim, an RMSNorm, and a GEMV of
/// dim onto the vocabulary, ended by EOC. No instruction depends on T.
extension CENTProgram {
    public var embeddingInstructions: [AiMInstruction] { Array(embeddingProgram) }

    /// The same, as the replay reads it.
    public var embeddingProgram: CENTInstructions {
        var t = CENTTrace(device: device)
        let fc = device.fcBanks, channels = device.blockChannels
        t.weightGEMV(row: rows.wq, vectorDim: model.vocabulary, matrixCols: model.dim, fcBanks: fc)  // 904
        let nb = neighborBank, ew = ewmulInput
        t.wrBias(channels)  // 909-911
        t.macABK(channels, row: rows.x, opsize: CENTDevice.ceilDiv(nb.length, device.burst))
        t.rdMAC(channels)
        t.storeEWMULInput(banks: ew.banks, bankGroup: 1, row: rows.xCopy, size: ew.length)  // 919
        let opsize = CENTDevice.ceilDiv(ew.length, device.burst)
        t.ewmul(channels, row: rows.xCopy, opsize: opsize)  // 922
        for bank in 0..<device.banks where bank % 4 == 2 {  // 924-928
            t.copyBKGB(channels, bank: bank, row: rows.xCopy, opsize: opsize)
            t.copyGBBK(channels, bank: bank - 1, row: rows.saNorm, opsize: opsize)
        }
        t.ewmul(channels, row: rows.saNorm, opsize: opsize)  // 929
        t.loadEWMULInput(banks: ew.banks, bankGroup: 2, row: rows.saNorm, size: ew.length)  // 933
        t.sync()  // 934
        t.weightGEMV(row: rows.wo, vectorDim: model.dim, matrixCols: model.vocabulary, fcBanks: fc)  // 936
        t.eoc()  // function_sim.py:59
        return t.program
    }
}
