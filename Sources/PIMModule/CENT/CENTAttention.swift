/// CENT's attention in its trace: the K and V appends of the new token (`Llama.py:670-696`), QKᵀ and SV
/// (`TransformerBlock.py:782-827`, intra-device branch) and the softmax's data movement and scaling EWMULs
/// (`Llama.py:736-781`). docs/CENT-CODE.md §1, §3.
extension CENTTrace {
    /// K append (`Llama.py:670-678`): token `T - 1` goes to global bank `(T - 1) mod 16C`; its K vector, all KV
    /// heads, fills `Hkv * d // 1024` rows there, each written as 64 single bursts, for every lock-step block.
    mutating func appendK(model m: CENTModel, rows map: CENTRowMap, seqLen: Int) {
        let d = device, seq = seqLen - 1
        let (channel, bank) = d.bankIndex(seq % d.fcBanks)
        let rows = m.headDim * m.kvHeads / d.rowValues
        for row in 0..<rows {
            for tb in 0..<d.blocksPerDevice {
                writeMEM(
                    channel: channel + tb * d.channelsPerBlock, bank: bank,
                    row: map.cacheK + CENTDevice.floorDiv(seq, d.fcBanks) * rows + row, size: d.rowValues)
            }
        }
    }

    /// V append, intra-device layout (`Llama.py:680-696`): one single-channel WR_ABK per (head slot, 16-dim
    /// slice, channel holding a KV head), first block only; the row offset is `(seq - 1) // 1024` with
    /// `seq = T - 1` (CENT's own off-by-one, docs/CENT-CODE.md §7.6).
    mutating func appendV(model m: CENTModel, rows map: CENTRowMap, seqLen: Int) {
        let d = device, seq = seqLen - 1
        let rowOffset = CENTDevice.floorDiv(seq - 1, d.rowValues) + 1 - 1
        let rowsPerDim = d.maxSeqLen / d.rowValues
        let headsPerBank = CENTDevice.ceilDiv(m.kvHeads, d.channelsPerBlock)
        let dimIterations = m.headDim / d.banks
        for slot in 0..<headsPerBank {
            let headRow = map.cacheV + rowsPerDim * dimIterations * slot
            for dimIter in 0..<dimIterations {
                for channel in 0..<d.channelsPerBlock {
                    if channel * headsPerBank + slot > m.kvHeads - 1 { break }
                    wrABK(channel: channel, row: headRow + dimIter * rowsPerDim + rowOffset)
                }
            }
        }
    }

    /// QKᵀ, `Vector_Matrix_Mul_score_pim_only_trace` (`TransformerBlock.py:782-803`): per K row of a token
    /// and group of 16C tokens (one per bank), per GQA turn, WR_GB of 64 bursts, then for each of the 8 KV-head
    /// segments of the row WR_BIAS, MAC_ABK of `d / 16` bursts, RD_MAC. The last group's mask is
    /// `32 // left * left` channels, `left` the channels its tokens reach (line 796).
    mutating func score(model m: CENTModel, rows map: CENTRowMap, seqLen: Int) {
        let d = device
        let rowsPerVector = CENTDevice.ceilDiv(m.headDim * m.kvHeads, d.rowValues)
        let headsPerRow = d.rowValues / m.headDim
        let groups = d.scoreGroups(seqLen: seqLen)
        for kRow in 0..<rowsPerVector {
            for seqIter in 0..<groups.count {
                let channels = seqIter == groups.count - 1 ? groups.lastChannels : groups.channels
                for _ in 0..<m.repeats {
                    wrGB(channels, opsize: d.rowValues / d.burst)
                    for _ in 0..<headsPerRow {
                        wrBias(channels)
                        macABK(channels, row: map.cacheK + seqIter * rowsPerVector + kRow, opsize: m.headDim / d.burst)
                        rdMAC(channels)
                    }
                }
            }
        }
    }

    /// SV, `Vector_Matrix_Mul_output_pim_only_trace`, intra-device branch (`TransformerBlock.py:805-827`): per
    /// KV-head slot of a channel, query head of the group and 1024-token slice, WR_GB of the slice's
    /// probabilities, then per 16-dim slice WR_BIAS, MAC_ABK (same opsize), RD_MAC.
    mutating func output(model m: CENTModel, rows map: CENTRowMap, seqLen: Int) {
        let d = device
        let rowsPerSeq = CENTDevice.ceilDiv(seqLen, d.rowValues)
        let rowsPerDim = CENTDevice.ceilDiv(d.maxSeqLen, d.rowValues)
        let headsPerBank = CENTDevice.ceilDiv(m.kvHeads, d.channelsPerBlock)
        let dimIterations = m.headDim / d.banks
        let channels = d.blockChannels
        for slot in 0..<headsPerBank {
            let headRow = map.cacheV + rowsPerDim * dimIterations * slot
            for _ in 0..<m.repeats {
                for rowOffset in 0..<rowsPerSeq {
                    let opsize =
                        rowOffset == rowsPerSeq - 1
                        ? CENTDevice.ceilDiv(seqLen - rowOffset * d.rowValues, d.burst) : d.rowValues / d.burst
                    wrGB(channels, opsize: opsize)
                    for dimIter in 0..<dimIterations {
                        wrBias(channels)
                        macABK(channels, row: headRow + dimIter * rowsPerDim + rowOffset, opsize: opsize)
                        rdMAC(channels)
                    }
                }
            }
        }
    }

    /// Softmax as traced (`Llama.py:736-781`): store scores (bank group 0) and the scale (bank group 1), EWMUL
    /// over the score rows, read the result (bank group 2), SYNC; then the same again for exp and 1/Σexp.
    /// Exp and the sums themselves are near-memory work outside the trace (`run_sim.py:166-180`).
    mutating func softmax(model m: CENTModel, rows map: CENTRowMap, seqLen: Int) {
        for _ in 0..<2 {
            moveScores(write: true, model: m, row: map.scores, bankGroup: 0, seqLen: seqLen)
            moveScores(write: true, model: m, row: map.scores, bankGroup: 1, seqLen: seqLen)
            scaleScores(model: m, rows: map, seqLen: seqLen)
            moveScores(write: false, model: m, row: map.scores, bankGroup: 2, seqLen: seqLen)
            sync()
        }
    }

    /// The EWMUL pass over the score rows (`Llama.py:752-759`, again 771-777): `ceil(H / (4C))` head slots ×
    /// `ceil(T / 1024)` rows, opsize the row's bursts. Each may start a period of the replay (rows moved by 1).
    private mutating func scaleScores(model m: CENTModel, rows map: CENTRowMap, seqLen: Int) {
        let d = device
        let rowsPerScore = CENTDevice.ceilDiv(seqLen, d.rowValues)
        for slot in 0..<CENTDevice.ceilDiv(m.heads, d.channelsPerBlock * 4) {
            for row in 0..<rowsPerScore {
                let values = row == rowsPerScore - 1 ? seqLen - row * d.rowValues : d.rowValues
                ewmul(
                    d.blockChannels, row: map.scores + slot * rowsPerScore + row,
                    opsize: CENTDevice.ceilDiv(values, d.burst), startsPeriod: true)
            }
        }
    }
}

extension CENTDevice {
    /// QKᵀ's groups of 16C tokens (`seq_iterations = ceil(T / FC_total_banks)`), the channels every group but the
    /// last runs its MACs on, and the last group's: `32 // left * left` channels, `left` the channels its tokens
    /// reach (`TransformerBlock.py:786-796`). All that QKᵀ's instructions take from T.
    func scoreGroups(seqLen: Int) -> (count: Int, channels: Range<Int>, lastChannels: Range<Int>) {
        let allChannels = fcBanks / banks
        let count = CENTDevice.ceilDiv(seqLen, fcBanks)
        func channels(left: Int) -> Range<Int> { 0..<(allChannels > 32 ? 32 : self.channels / left * left) }
        let lastLeft = CENTDevice.ceilDiv(seqLen - fcBanks * (count - 1), banks)
        return (count, channels(left: allChannels), channels(left: lastLeft))
    }
}
