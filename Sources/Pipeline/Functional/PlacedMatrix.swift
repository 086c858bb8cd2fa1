import PIMModule
import Workload

/// A weight matrix (`rows` outputs × `columns` inputs) placed in a module's banks as the GEMV mapping lays it out
/// (docs/MAPPING.md §2.2–2.3, `GEMVLowering.geometry`): channel c holds a consecutive share of the output rows
/// (`EvenSplit`); bank k of a channel holds its output rows k, k + 16, …; the j-th row of a bank is cut into chunks
/// of one DRAM row's width, chunk k in DRAM row `base + k · dramRowsPerChunk + ⌊j / segmentsPerRow⌋` from element
/// `(j mod segmentsPerRow) · chunkColumns · 16`. `multiply` reads the weights back from there, chunk by chunk, in
/// the MAC16 arithmetic, and adds the chunks' partial sums on the HUB.
public struct PlacedMatrix: Sendable {
    public let rows: Int
    public let columns: Int
    /// The first DRAM row of every bank the matrix occupies.
    public let baseRow: Int
    /// DRAM rows it occupies in each bank (the most any channel needs).
    public let dramRows: Int
    let banks: Int
    let elementsPerColumn: Int
    /// By channel: its first output row and how many it holds, and its kernel's geometry.
    let shares: [Share]

    struct Share: Sendable {
        var firstRow: Int
        var rows: Int
        var chunkElements: Int
        var chunks: Int
        var segmentsPerRow: Int
        var dramRowsPerChunk: Int
    }

    public init(rows: Int, columns: Int, module: ModuleConfig, baseRow: Int) {
        self.rows = rows
        self.columns = columns
        self.baseRow = baseRow
        banks = module.banksPerChannel
        elementsPerColumn = module.columnBytes / 2
        let lowering = GEMVLowering(module: module, obufEntries: 1)
        var first = 0, shares: [Share] = []
        for size in EvenSplit.sizes(rows, parts: module.channels) {
            let g = lowering.geometry(GEMVShape(rows: max(size, 1), columns: columns, batch: 1))
            shares.append(
                Share(
                    firstRow: first, rows: size, chunkElements: g.chunkColumns * elementsPerColumn, chunks: g.chunks,
                    segmentsPerRow: g.segmentsPerRow,
                    dramRowsPerChunk: (g.rowsPerBank + g.segmentsPerRow - 1) / g.segmentsPerRow))
            first += size
        }
        self.shares = shares
        dramRows = shares.filter { $0.rows > 0 }.map { $0.chunks * $0.dramRowsPerChunk }.max() ?? 0
    }

    /// Where chunk `chunk` of the `j`-th output row of channel `channel` lies: its DRAM row and first element.
    func location(channel: Int, row j: Int, chunk: Int) -> (row: BankStore.Row, first: Int) {
        let s = shares[channel], inBank = j / banks
        let dramRow = baseRow + chunk * s.dramRowsPerChunk + inBank / s.segmentsPerRow
        return (
            BankStore.Row(channel: channel, bank: j % banks, row: dramRow),
            (inBank % s.segmentsPerRow) * s.chunkElements
        )
    }

    /// Writes `weights` (row-major, `rows × columns`) into `store` where the mapping places them, as stored values.
    public func place(_ weights: [Float], in store: inout BankStore, arithmetic: FunctionalArithmetic) {
        precondition(weights.count == rows * columns, "a matrix of \(weights.count) values for \(rows)×\(columns)")
        for (channel, s) in shares.enumerated() {
            for j in 0..<s.rows {
                let r = s.firstRow + j
                for k in 0..<s.chunks {
                    let from = k * s.chunkElements, to = min(from + s.chunkElements, columns)
                    let (row, first) = location(channel: channel, row: j, chunk: k)
                    let values = weights[(r * columns + from)..<(r * columns + to)].map(arithmetic.stored)
                    store.write(values[...], at: row, first: first)
                }
            }
        }
    }

    /// y = W x, every output row computed by its channel from the banks: each chunk's MAC16 run (`chunkDot`), the
    /// chunks' partial sums added in order on the HUB (fp32). `x` is written to the global buffer first (stored).
    public func multiply(_ x: [Float], store: BankStore, arithmetic: FunctionalArithmetic) -> [Float] {
        precondition(x.count == columns, "an input of \(x.count) values for \(columns) columns")
        let input = x.map(arithmetic.stored)
        var y = [Float](repeating: 0, count: rows)
        input.withUnsafeBufferPointer { gb in
            for (channel, s) in shares.enumerated() {
                for j in 0..<s.rows {
                    var sum: Float = 0
                    for k in 0..<s.chunks {
                        let from = k * s.chunkElements, count = min(s.chunkElements, columns - from)
                        let (row, first) = location(channel: channel, row: j, chunk: k)
                        let partial = store.withElements(row, first: first, count: count) {
                            arithmetic.chunkDot($0, gb.baseAddress! + from, count: count)
                        }
                        sum = k == 0 ? partial : sum + partial
                    }
                    y[s.firstRow + j] = sum
                }
            }
        }
        return y
    }
}
