/// The first row of every region in each bank, as `TransformerBlockLlama.memory_mapping` allocates them
/// (`Llama.py:969-1155`): the regions are stacked from row 0 in a fixed order, each as many rows as
/// `dic_row` gives it. Row indices matter to the timing only through which instructions hit an open row.
public struct CENTRowMap: Sendable, Hashable {
    public var x = 0, xCopy = 0, saNorm = 0, wq = 0, wk = 0, wv = 0, xq = 0, xk = 0
    public var cacheK = 0, scores = 0, cacheV = 0, output = 0, wo = 0, sa = 0, saCopy = 0, ffnNorm = 0
    public var w1 = 0, w3 = 0, x1 = 0, x3 = 0, x1Sigmoid = 0, ffnVector = 0, w2 = 0, ffn = 0

    public init(model m: CENTModel, device d: CENTDevice) {
        let rows = CENTRowMap.regionRows(model: m, device: d)
        x = 0  // Llama.py:1108
        xCopy = x + rows.x  // 1110
        saNorm = xCopy + rows.x  // 1112
        wq = saNorm + rows.x  // 1114
        wk = wq + rows.wq  // 1116
        wv = wk + rows.wk  // 1118
        xq = wv + rows.wv  // 1120
        xk = xq + 1  // 1122: dic_row["xk"] = 1 (1025)
        cacheK = xk + 1  // 1124: dic_row["xq"] = 1 (1024)
        scores = cacheK + rows.cacheK  // 1126
        cacheV = scores + rows.scores  // 1128
        output = cacheV + rows.cacheV  // 1130
        wo = output + rows.output  // 1132
        sa = wo + rows.wo  // 1134
        saCopy = sa + rows.sa  // 1136
        ffnNorm = saCopy + rows.sa  // 1138
        w1 = ffnNorm + rows.sa  // 1140
        w3 = w1 + rows.w1  // 1142
        x1 = w3 + rows.w1  // 1144: dic_row["w3"] = dic_row["w1"] (1068, 1072)
        x3 = x1 + rows.x1  // 1146
        x1Sigmoid = x3 + rows.x1  // 1148: dic_row["x3"] = dic_row["x1"] (1075, 1078)
        ffnVector = x1Sigmoid + rows.x1  // 1151
        w2 = ffnVector + rows.ffnVector  // 1153
        ffn = w2 + rows.w2  // 1155
    }

    /// `dic_row`: rows per region (`Llama.py:996-1150`); weights and K over `FC_total_banks`, vectors over the
    /// block's own banks.
    struct RegionRows {
        var x = 0, wq = 0, wk = 0, wv = 0, cacheK = 0, scores = 0, cacheV = 0, output = 0, wo = 0, sa = 0
        var w1 = 0, x1 = 0, ffnVector = 0, w2 = 0
    }

    static func regionRows(model m: CENTModel, device d: CENTDevice) -> RegionRows {
        func ceil(_ a: Int, _ b: Int) -> Int { CENTDevice.ceilDiv(a, b) }
        /// `(size // banks - 1) // DRAM_column + 1`, the rows of a vector spread over `banks`.
        func vectorRows(_ size: Int, _ banks: Int) -> Int { ceil(size / banks, d.rowValues) }
        let fc = d.fcBanks, inRows = ceil(m.dim, d.rowValues)
        var r = RegionRows()
        r.x = vectorRows(m.dim, d.banks)  // Llama.py:996: over num_banks, not total_banks
        r.wq = ceil(m.dim, fc) * inRows  // 1012: wq is dim x dim
        r.wk = ceil(m.headDim * m.kvHeads, fc) * inRows  // 1017
        r.wv = r.wk  // 1021
        r.cacheK = ceil(d.maxSeqLen, fc) * ceil(m.kvHeads * m.headDim, d.rowValues)  // 1030
        r.scores = ceil(d.maxSeqLen, d.rowValues) * ceil(m.heads, d.channelsPerBlock * 4)  // 1036
        let vSlots = ceil(m.kvHeads, d.channelsPerBlock) * ceil(m.headDim, d.banks)
        r.cacheV = ceil(d.maxSeqLen, d.rowValues) * vSlots  // 1042
        r.output = vectorRows(m.heads * m.headDim, d.totalBanks)  // 1050
        r.wo = ceil(m.dim, fc) * inRows  // 1055
        r.sa = vectorRows(m.dim, d.totalBanks)  // 1059
        r.w1 = ceil(m.ffn, fc) * inRows  // 1068 (w3 alike, 1072)
        r.x1 = vectorRows(m.ffn, d.totalBanks)  // 1075 (x3 and x1_sigmoid alike, 1078, 1081)
        r.ffnVector = ceil(m.ffn, d.rowValues * d.banks)  // 1150
        r.w2 = ceil(m.dim, fc) * ceil(m.ffn, d.rowValues)  // 1085
        return r
    }
}
