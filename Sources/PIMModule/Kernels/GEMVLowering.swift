/// How a GEMV (y = W x for `batch` input vectors) is laid out on one channel and lowered to its command
/// stream. This mapping is the one documented in docs/MAPPING.md.
///
/// - Output rows are spread over the channels and, inside a channel, over its 16 banks: bank k of a channel
///   holds every 16th output row of that channel. An output row's weights lie in consecutive 2 KB DRAM rows
///   of its bank (1024 BF16 weights per DRAM row = 64 columns of 32 B). When an output row is shorter than
///   a DRAM row (e.g. a K-cache token of 128 elements), several output rows share one DRAM row as
///   `segments`. The 16 banks keep their rows at the same addresses, so one ACT16 opens 16 output rows.
/// - The input vector is cut into chunks of one DRAM row's width (up to 64 columns); a chunk is written into
///   the global buffer (GB) with WRGB, one 32 B entry per column. When chunks are short, the GB holds the
///   chunks of several inputs at once (`inputsPerFill`), and every open row serves all of them (row reuse:
///   GQA query heads, batched requests).
/// - Each segment accumulates into one output-buffer entry with MAC16 (one per column) and is drained with
///   RDMAC16; partial sums of different chunks are added by the HUB.
/// - Loop order: `inputStationary` fills the GB once per chunk and input group and sweeps every DRAM row
///   under it; `rowStationary` opens each DRAM row once and refills the GB for every input group under it.
///   The kernel timer simulates both when the batch does not fit the GB (one input group: input-stationary
///   is never slower, since it fills the GB once per chunk) and picks the faster.
public struct GEMVShape: Sendable, Hashable, Codable {
    /// Output rows this channel computes.
    public var rows: Int
    /// Input length (elements).
    public var columns: Int
    /// Input vectors multiplied with the same weights.
    public var batch: Int

    public init(rows: Int, columns: Int, batch: Int) {
        self.rows = rows
        self.columns = columns
        self.batch = batch
    }
}

public enum LoopOrder: String, Sendable, Hashable, Codable, CaseIterable {
    case inputStationary, rowStationary
}

/// A channel's command stream before scheduling, with the segment each command belongs to. A segment is one
/// input's MAC16 run over one chunk of a DRAM row into one output-buffer entry, ended by the RDMAC16 that
/// drains it: the unit that ping-pong buffering swaps.
public struct KernelProgram: Sendable {
    public var commands: [AiMCommand] = []
    /// Segment index of each command: WRGB → the first segment that reads it, ACT16 → the next segment,
    /// MAC16 / RDMAC16 → their segment, PREA → the previous segment.
    public var segment: [Int32] = []
    public var segments: Int = 0

    mutating func append(_ command: AiMCommand, segment: Int) {
        commands.append(command)
        self.segment.append(Int32(segment))
    }
}

public struct GEMVLowering: Sendable {
    public let module: ModuleConfig
    /// Global-buffer entries of 32 B (64 in AiM: 2 KB).
    public let gbEntries: Int
    /// Output-buffer entries segments accumulate into (1 = one MAC register per bank, as in AiM).
    public let obufEntries: Int

    public init(module: ModuleConfig, gbEntries: Int = 64, obufEntries: Int) {
        self.module = module
        self.gbEntries = gbEntries
        self.obufEntries = max(1, obufEntries)
    }

    /// The representative of `shape`'s timing class. All banks move together and a MAC16 covers a whole
    /// 32 B column, so rows only matter per 16 (one per bank) and columns per 16 elements: shapes that agree
    /// on ceil(rows / 16) and ceil(columns / 16) issue the same commands. Attention slices grow by one token
    /// per step, so this exact equivalence lets consecutive steps share one simulation.
    public func canonical(_ shape: GEMVShape) -> GEMVShape {
        let banks = module.banksPerChannel, elements = module.columnBytes / 2
        return GEMVShape(
            rows: (shape.rows + banks - 1) / banks * banks,
            columns: (shape.columns + elements - 1) / elements * elements, batch: shape.batch)
    }

    /// Columns (GB entries) of one input chunk, chunks per input, segments per DRAM row, inputs per fill.
    public func geometry(
        _ shape: GEMVShape
    ) -> (
        chunkColumns: Int, chunks: Int, segmentsPerRow: Int,
        inputsPerFill: Int, rowsPerBank: Int
    ) {
        let elementsPerColumn = module.columnBytes / 2
        let columnsPerInput = (shape.columns + elementsPerColumn - 1) / elementsPerColumn
        let chunkColumns = min(columnsPerInput, module.columnsPerRow)
        let chunks = (columnsPerInput + chunkColumns - 1) / chunkColumns
        let segmentsPerRow = max(1, module.columnsPerRow / chunkColumns)
        let inputsPerFill = max(1, min(shape.batch, gbEntries / chunkColumns))
        let rowsPerBank = (shape.rows + module.banksPerChannel - 1) / module.banksPerChannel
        return (chunkColumns, chunks, segmentsPerRow, inputsPerFill, rowsPerBank)
    }

    public func program(_ shape: GEMVShape, order: LoopOrder) -> KernelProgram {
        let g = geometry(shape)
        let elementsPerColumn = module.columnBytes / 2
        let columnsPerInput = (shape.columns + elementsPerColumn - 1) / elementsPerColumn
        let dramRowsPerChunk = (g.rowsPerBank + g.segmentsPerRow - 1) / g.segmentsPerRow
        var p = KernelProgram()
        var segment = 0
        func columns(inChunk k: Int) -> Int { min(g.chunkColumns, columnsPerInput - k * g.chunkColumns) }
        func segments(inRow d: Int) -> Int { min(g.segmentsPerRow, g.rowsPerBank - d * g.segmentsPerRow) }
        func fill(chunk k: Int, inputs: Range<Int>) {
            for (slot, _) in inputs.enumerated() {
                for c in 0..<columns(inChunk: k) {
                    p.append(AiMCommand(.wrgb, gbEntry: slot * g.chunkColumns + c), segment: segment)
                }
            }
        }
        func sweepRow(chunk k: Int, row d: Int, inputs: Range<Int>) {
            for s in 0..<segments(inRow: d) {
                for (slot, _) in inputs.enumerated() {
                    let o = segment % obufEntries
                    for c in 0..<columns(inChunk: k) {
                        p.append(
                            AiMCommand(
                                .mac16, row: k * dramRowsPerChunk + d, column: s * g.chunkColumns + c,
                                gbEntry: slot * g.chunkColumns + c, obufEntry: o), segment: segment)
                    }
                    p.append(AiMCommand(.rdmac16, obufEntry: o), segment: segment)
                    segment += 1
                }
            }
        }
        let groups = stride(from: 0, to: shape.batch, by: g.inputsPerFill).map {
            $0..<min($0 + g.inputsPerFill, shape.batch)
        }
        for k in 0..<g.chunks {
            switch order {
            case .inputStationary:
                for inputs in groups {
                    fill(chunk: k, inputs: inputs)
                    for d in 0..<dramRowsPerChunk {
                        p.append(AiMCommand(.act16, row: k * dramRowsPerChunk + d), segment: segment)
                        sweepRow(chunk: k, row: d, inputs: inputs)
                        p.append(AiMCommand(.prea), segment: segment - 1)
                    }
                }
            case .rowStationary:
                for d in 0..<dramRowsPerChunk {
                    p.append(AiMCommand(.act16, row: k * dramRowsPerChunk + d), segment: segment)
                    for inputs in groups {
                        fill(chunk: k, inputs: inputs)
                        sweepRow(chunk: k, row: d, inputs: inputs)
                    }
                    p.append(AiMCommand(.prea), segment: segment - 1)
                }
            }
        }
        p.segments = segment
        return p
    }
}

extension GEMVLowering {
    /// The kernel as AiM instructions in the public toolchain's form (the `static` schedule; docs/MAPPING.md):
    /// per GB fill one `WR_GB` of the input group's chunk columns; per segment and input `WR_BIAS` (clear the
    /// 16 MAC registers), `MAC_ABK` over the chunk's columns in the segment's DRAM row, `RD_MAC`. Rows are
    /// opened and closed by the controller (PREA / ACT16 when a MAC_ABK names another row). The instruction
    /// format has no column or GB-entry operand, so segments that share a DRAM row and inputs that share
    /// the GB are not told apart; timing does not depend on either.
    ///
    /// `mask` names the channels that run it (every channel its own share of rows, with this shape).
    public func aimInstructions(_ shape: GEMVShape, order: LoopOrder, mask: Int) -> [AiMInstruction] {
        Array(aimRuns(shape, order: order, mask: mask))
    }

    /// The kernel's AiM instructions (`aimInstructions`) held as runs of their periods: a DRAM row's sweep repeats
    /// with the row moved on by one while the rows keep their segment count (every row of an input chunk but
    /// perhaps its last), and a whole input chunk repeats with the rows moved on by the chunk's DRAM rows while the
    /// chunks keep their width (every chunk but perhaps the last), when a chunk is at most `foldedChunk`
    /// instructions long.
    public func aimRuns(_ shape: GEMVShape, order: LoopOrder, mask: Int) -> PeriodicProgram {
        let g = geometry(shape)
        let elementsPerColumn = module.columnBytes / 2
        let columnsPerInput = (shape.columns + elementsPerColumn - 1) / elementsPerColumn
        let dramRowsPerChunk = (g.rowsPerBank + g.segmentsPerRow - 1) / g.segmentsPerRow
        // DRAM rows of a chunk with every segment (all of them, or all but the last).
        let fullRows = g.rowsPerBank % g.segmentsPerRow == 0 ? dramRowsPerChunk : dramRowsPerChunk - 1
        func columns(inChunk k: Int) -> Int { min(g.chunkColumns, columnsPerInput - k * g.chunkColumns) }
        func segments(inRow d: Int) -> Int { min(g.segmentsPerRow, g.rowsPerBank - d * g.segmentsPerRow) }
        func fill(chunk k: Int, inputs: Range<Int>) -> AiMInstruction {
            AiMInstruction(.wrGB, [.opsize: columns(inChunk: k) * inputs.count, .gpr0: 0, .mask: mask])
        }
        func sweepRow(chunk k: Int, row d: Int, inputs: Range<Int>) -> [AiMInstruction] {
            var out: [AiMInstruction] = []
            let mac = AiMInstruction(
                .macABK, [.opsize: columns(inChunk: k), .mask: mask, .row: k * dramRowsPerChunk + d])
            for _ in 0..<(segments(inRow: d) * inputs.count) {
                out.append(AiMInstruction(.wrBias, [.gpr0: 0, .mask: mask]))
                out.append(mac)
                out.append(AiMInstruction(.rdMAC, [.gpr0: 0, .mask: mask]))
            }
            return out
        }
        let groups = stride(from: 0, to: shape.batch, by: g.inputsPerFill)
            .map { $0..<min($0 + g.inputsPerFill, shape.batch) }
        /// One input chunk: its full rows as one run, the last row (if it has fewer segments) written out.
        func chunk(_ k: Int) -> PeriodicProgram {
            var out = PeriodicProgram()
            switch order {
            case .inputStationary:
                for inputs in groups {
                    out.append([fill(chunk: k, inputs: inputs)])
                    out.append(period: sweepRow(chunk: k, row: 0, inputs: inputs), repeats: fullRows, rowStep: 1)
                    if fullRows < dramRowsPerChunk { out.append(sweepRow(chunk: k, row: fullRows, inputs: inputs)) }
                }
            case .rowStationary:
                func row(_ d: Int) -> [AiMInstruction] {
                    groups.flatMap { [fill(chunk: k, inputs: $0)] + sweepRow(chunk: k, row: d, inputs: $0) }
                }
                out.append(period: row(0), repeats: fullRows, rowStep: 1)
                if fullRows < dramRowsPerChunk { out.append(row(fullRows)) }
            }
            return out
        }
        var out = PeriodicProgram()
        let fullChunks = columns(inChunk: g.chunks - 1) == g.chunkColumns ? g.chunks : g.chunks - 1
        var k = 0
        if fullChunks >= 2 {
            let first = chunk(0)
            if first.count <= Self.foldedChunk {
                out.append(period: Array(first), repeats: fullChunks, rowStep: dramRowsPerChunk)
                k = fullChunks
            }
        }
        while k < g.chunks {
            out.append(contentsOf: chunk(k))
            k += 1
        }
        return out
    }

    /// The longest input chunk (in instructions) that `aimRuns` holds as one period repeated over the chunks.
    static let foldedChunk = 8_192
}
