/// The host's vector moves between its "CXL ports" and the banks: single-burst `W MEM` / `R MEM` requests,
/// replicated for each lock-step block of the device (the `tb` loops, channel offset `tb * C`), as
/// `TransformerBlock.py:1141-1227` writes them.
extension CENTTrace {
    /// `store_for_neighbor_bank_input_only_trace` (`TransformerBlock.py:1141-1147`): element i of the vector
    /// goes to global bank `2 * bank + bankGroup` of the block, `ceil(size / 16)` bursts per bank.
    mutating func storeNeighborBankInput(banks: Int, bankGroup: Int, row: Int, size: Int) {
        move(write: true, banks: banks, stride: 2, bankGroup: bankGroup, row: row, size: size)
    }

    /// `store_for_EWMUL_input_only_trace` (`TransformerBlock.py:1158-1164`): to bank `4 * bank + bankGroup`.
    mutating func storeEWMULInput(banks: Int, bankGroup: Int, row: Int, size: Int) {
        move(write: true, banks: banks, stride: 4, bankGroup: bankGroup, row: row, size: size)
    }

    /// `load_from_EWMUL_input_only_trace` (`TransformerBlock.py:1174-1180`): `R MEM`, laid out as the store.
    mutating func loadEWMULInput(banks: Int, bankGroup: Int, row: Int, size: Int) {
        move(write: false, banks: banks, stride: 4, bankGroup: bankGroup, row: row, size: size)
    }

    /// The shared loop: bursts outer, banks, then lock-step blocks inner.
    private mutating func move(write: Bool, banks: Int, stride: Int, bankGroup: Int, row: Int, size: Int) {
        let d = device
        for _ in 0..<CENTDevice.ceilDiv(size, d.burst) {
            for bank in 0..<banks {
                let (channel, b) = d.bankIndex(bank * stride + bankGroup)
                for tb in 0..<d.blocksPerDevice {
                    let c = channel + d.channelsPerBlock * tb
                    if write {
                        writeMEM(channel: c, bank: b, row: row, size: d.burst)
                    } else {
                        readMEM(channel: c, bank: b, row: row, size: d.burst)
                    }
                }
            }
        }
    }

    /// `store_for_EWMUL_score_only_trace` (`TransformerBlock.py:1183-1204`, `write: true`) and
    /// `load_from_EWMUL_score_only_trace` (1206-1227, `write: false`): the T scores of each head, row by row
    /// of 1024, to the banks of bank group `bankGroup`; bank `bank` of the block holds heads
    /// `(bank / 4) * nhpb + j`, `nhpb = ceil(H / (4C))`, in row `row + j * ceil(T / 1024) + k`. Loops k (rows),
    /// j (head slots), bursts, the group's banks up to the first past the last head (`break`, 1197-1198,
    /// 1220-1221), then the lock-step blocks; kept as that loop (`CENTInstructions.ScoreMove`), not written out.
    mutating func moveScores(write: Bool, model: CENTModel, row: Int, bankGroup: Int, seqLen: Int) {
        append(
            CENTInstructions.ScoreMove(
                write: write, device: device, heads: model.heads, row: row, bankGroup: bankGroup, seqLen: seqLen))
    }
}
