/// SiLU(x1) · x3 as CENT traces it after the w1 (with AF) and w3 GEMVs (`Llama.py:832-884`): the vectors go
/// to bank groups 0 and 1, EWMULs and bank-to-bank copies through the GB combine them, the product comes
/// back from bank group 2, then SYNC. When ffn does not fit one row of each block's bank-group banks
/// (`ffn > 4096 C`, line 833) the work is done in two iterations (834-868), else in one (870-883).
extension CENTProgram {
    func activation(_ t: inout CENTTrace) {
        let total = device.totalBanks
        if model.ffn > device.channelsPerBlock * (device.banks / 4) * device.rowValues {
            let first = total / 4 * device.rowValues
            twoIterationActivation(&t, first: bankGroupSpread(first), second: bankGroupSpread(model.ffn - first))
        } else {
            oneIterationActivation(&t, bankGroupSpread(model.ffn))
        }
        t.sync()  // 884
    }

    /// `(length, utilized_banks)` of `n` values dealt over the block's `16C / 4` bank-group banks
    /// (`Llama.py:826-827`, 835-841).
    private func bankGroupSpread(_ n: Int) -> (length: Int, banks: Int) {
        let length = CENTDevice.ceilDiv(n, device.totalBanks / 4)
        return (length, CENTDevice.ceilDiv(n, length))
    }

    /// `Llama.py:870-883`.
    private func oneIterationActivation(_ t: inout CENTTrace, _ v: (length: Int, banks: Int)) {
        let row = rows.x1Sigmoid, channels = device.blockChannels
        let opsize = CENTDevice.ceilDiv(v.length, device.burst)
        t.storeEWMULInput(banks: v.banks, bankGroup: 0, row: row, size: v.length)
        t.storeEWMULInput(banks: v.banks, bankGroup: 1, row: row, size: v.length)
        t.ewmul(channels, row: row, opsize: opsize)
        for bank in 0..<device.banks where bank % 4 == 2 {
            t.copyBKGB(channels, bank: bank, row: row, opsize: opsize)
            t.copyGBBK(channels, bank: bank - 1, row: row, opsize: opsize)
        }
        t.storeEWMULInput(banks: v.banks, bankGroup: 0, row: row, size: v.length)
        t.ewmul(channels, row: row, opsize: opsize)
        t.loadEWMULInput(banks: v.banks, bankGroup: 2, row: row, size: v.length)
    }

    /// `Llama.py:834-868`: the first `16C / 4 · 1024` values in the x1 rows, the rest in the x1_sigmoid rows.
    private func twoIterationActivation(
        _ t: inout CENTTrace, first a: (length: Int, banks: Int), second b: (length: Int, banks: Int)
    ) {
        let channels = device.blockChannels, burst = device.burst
        let rowA = rows.x1, rowB = rows.x1Sigmoid
        let opA = CENTDevice.ceilDiv(a.length, burst), opB = CENTDevice.ceilDiv(b.length, burst)
        for group in [1, 0] {
            t.storeEWMULInput(banks: a.banks, bankGroup: group, row: rowA, size: a.length)
            t.storeEWMULInput(banks: b.banks, bankGroup: group, row: rowB, size: b.length)
        }
        t.ewmul(channels, row: rowA, opsize: opA)
        t.ewmul(channels, row: rowB, opsize: opB)
        for bank in 0..<device.banks where bank % 4 == 2 {
            t.copyBKGB(channels, bank: bank, row: rowA, opsize: opA)
            t.copyBKGB(channels, bank: bank, row: rowB, opsize: opB)
            t.copyGBBK(channels, bank: bank - 1, row: rowA, opsize: opA)
            t.copyGBBK(channels, bank: bank - 1, row: rowB, opsize: opB)
        }
        t.storeEWMULInput(banks: a.banks, bankGroup: 1, row: rowA, size: a.length)
        t.storeEWMULInput(banks: b.banks, bankGroup: 1, row: rowB, size: b.length)
        t.ewmul(channels, row: rowA, opsize: opA)
        t.ewmul(channels, row: rowB, opsize: opB)
        t.loadEWMULInput(banks: a.banks, bankGroup: 2, row: rowA, size: a.length)
        t.loadEWMULInput(banks: b.banks, bankGroup: 2, row: rowB, size: b.length)
    }
}
