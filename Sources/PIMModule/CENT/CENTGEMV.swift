/// CENT's FC-layer GEMVs with `--GEMV reuse-GB --reuse-size 32` (`run_sim.py:83`): the
/// `Vector_Matrix_Mul_weight_pim_only_trace` and `..._weight_af_pim_only_trace` loops
/// (`TransformerBlock.py:696-780`, reuse-GB branches 715-734 and 759-780). docs/CENT-CODE.md §2.
extension CENTTrace {
    /// The loop sizes of one weight GEMV: `vectorDim` inputs, `matrixCols` outputs, spread over `fcBanks`.
    struct GEMVShape {
        /// `matrix_col_per_bank = ceil(matrixCols / fcBanks)`: output rows per bank (m).
        var colsPerBank: Int
        /// `rows_per_vector = ceil(vectorDim / 1024)`: DRAM rows per output row, the input chunks (r).
        var rowsPerVector: Int
        /// `channel_lst` the loop builds for itself (`TransformerBlock.py:697-702`): channels
        /// 0 ..< `32 // ch * ch` with `ch = ceil(utilized_banks / 16)` (32 if ch > 32).
        var channels: Range<Int>

        init(device d: CENTDevice, vectorDim: Int, matrixCols: Int, fcBanks: Int) {
            colsPerBank = CENTDevice.ceilDiv(matrixCols, fcBanks)
            rowsPerVector = CENTDevice.ceilDiv(vectorDim, d.rowValues)
            let utilized = CENTDevice.ceilDiv(matrixCols, colsPerBank)
            let required = CENTDevice.ceilDiv(utilized, d.banks)
            channels = 0..<(required > 32 ? 32 : d.channels / required * required)
        }
    }

    /// `Vector_Matrix_Mul_weight_pim_only_trace` (`TransformerBlock.py:696-734`) with reuse-GB and, for
    /// `activation: true`, `Vector_Matrix_Mul_weight_af_pim_only_trace` (736-780): for each 1024-value input
    /// chunk, one WR_GB, then groups of at most 32 (16 with the activation) output rows per bank, each group
    /// WR_BIAS × n, MAC_ABK × n, [AF, RD_AF] × n in the last chunk (AF only), RD_MAC × n.
    mutating func weightGEMV(row: Int, vectorDim: Int, matrixCols: Int, fcBanks: Int, activation: Bool = false) {
        let d = device
        let shape = GEMVShape(device: d, vectorDim: vectorDim, matrixCols: matrixCols, fcBanks: fcBanks)
        let m = shape.colsPerBank, r = shape.rowsPerVector, channels = shape.channels
        let groups = CENTDevice.ceilDiv(m, activation ? d.reuseSize / 2 : d.reuseSize)  // 715, 759
        let groupSize = CENTDevice.ceilDiv(m, groups)  // 716, 760
        for chunk in 0..<r {
            let opsize =
                chunk == r - 1 ? CENTDevice.ceilDiv(vectorDim - d.rowValues * chunk, d.burst) : d.rowValues / d.burst
            wrGB(channels, opsize: opsize)
            for group in 0..<groups {
                let n = group < groups - 1 ? groupSize : m - groupSize * (groups - 1)
                for _ in 0..<n { wrBias(channels) }
                for latch in 0..<n {
                    let column = group * groupSize + latch
                    macABK(channels, row: row + column * r + chunk, opsize: opsize)
                }
                if activation && chunk == r - 1 {
                    for _ in 0..<n {
                        af(channels)
                        rdAF(channels)
                    }
                }
                for _ in 0..<n { rdMAC(channels) }
            }
        }
    }
}
