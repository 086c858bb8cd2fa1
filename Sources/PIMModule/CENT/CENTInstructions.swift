/// A CENT trace held as runs, without writing out its largest part: the softmax's score moves
/// (`CENTTrace.moveScores`) are H·ceil(T/16) single-burst host requests per pass, 3 million instructions at 64K
/// tokens and 25 million at 1M, so a move is kept as its loop bounds and each instruction computed when the replay
/// reads it. Every other instruction is kept as written. The collection is the same sequence of instructions
/// `CENTTrace.instructions` writes out (tested).
public struct CENTInstructions: AiMProgram, Sendable {
    /// One pass of `moveScores`: for each 1,024-token row k, head slot j, burst and bank of bank group
    /// `bankGroup` that holds a head, and lock-step block, one `W MEM` (or `R MEM`) to that bank's row
    /// `row + j · rows + k`. Scalars only, so that reading an instruction copies no array.
    struct ScoreMove: Sendable {
        var write: Bool
        var device: CENTDevice
        var heads: Int
        var row: Int
        var bankGroup: Int
        /// 1,024-token rows of scores per head, `ceil(T / 1024)`, and the bursts of a full row and of the last.
        var rows: Int
        var fullBursts: Int
        var lastBursts: Int
        /// `ceil(H / (4C))`: the heads a bank holds, one per slot j.
        var headsPerBank: Int
        /// Banks in the bank group.
        var groupBanks: Int
        /// Banks summed over the head slots (`banks(slot:)`).
        var slotBanks: Int
        var count: Int

        init(write: Bool, device d: CENTDevice, heads: Int, row: Int, bankGroup: Int, seqLen: Int) {
            self.write = write
            device = d
            self.heads = heads
            self.row = row
            self.bankGroup = bankGroup
            rows = CENTDevice.ceilDiv(seqLen, d.rowValues)
            fullBursts = d.rowValues / d.burst
            lastBursts = CENTDevice.ceilDiv(seqLen - d.rowValues * (rows - 1), d.burst)
            headsPerBank = CENTDevice.ceilDiv(heads, d.channelsPerBlock * 4)
            groupBanks = (d.totalBanks - bankGroup + 3) / 4
            slotBanks = 0
            count = 0
            slotBanks = (0..<headsPerBank).reduce(0) { $0 + banks(slot: $1) }
            count = ((rows - 1) * fullBursts + lastBursts) * slotBanks * d.blocksPerDevice
        }

        /// The last row the move names (head slot hpb − 1, row k = rows − 1).
        var lastRow: Int { row + (headsPerBank - 1) * rows + rows - 1 }

        /// Banks of the group that hold head slot j: bank 4i + bankGroup holds head i·hpb + j, and the loop's
        /// `break` at the first head past the last leaves the first n of the group's banks.
        func banks(slot j: Int) -> Int {
            heads - 1 - j < 0 ? 0 : Swift.min(groupBanks, (heads - 1 - j) / headsPerBank + 1)
        }

        /// The block of the move that holds instruction `i`: the instructions of 1,024-token row `k` and head slot
        /// `j` (all `row + j · rows + k`), from `start` for `count`, `perBurst` = banks(j) · blocks of them per burst.
        /// Within a block an instruction depends only on its offset modulo `perBurst`.
        func block(containing i: Int) -> (k: Int, j: Int, start: Int, count: Int, perBurst: Int) {
            let blocks = device.blocksPerDevice
            var k = rows - 1, offset = i - (rows - 1) * fullRow, bursts = lastBursts
            if offset < 0 {
                k = i / fullRow
                offset = i - k * fullRow
                bursts = fullBursts
            }
            var j = 0, start = i - offset
            while offset >= bursts * banks(slot: j) * blocks {
                offset -= bursts * banks(slot: j) * blocks
                start += bursts * banks(slot: j) * blocks
                j += 1
            }
            return (k, j, start, bursts * banks(slot: j) * blocks, banks(slot: j) * blocks)
        }

        /// Instructions in one 1,024-token row of every head slot: the period from one full row to the next (the
        /// same instructions, every row moved by 1).
        var fullRow: Int { fullBursts * slotBanks * device.blocksPerDevice }

        /// Instruction `i` of the move.
        func instruction(_ i: Int) -> AiMInstruction {
            let d = device, blocks = d.blocksPerDevice
            let b = block(containing: i)
            let inBurst = (i - b.start) % b.perBurst
            let (channel, bank) = d.bankIndex(inBurst / blocks * 4 + bankGroup)
            return AiMInstruction(
                memory: write ? .writeMEM : .readMEM, channel: channel + d.channelsPerBlock * (inBurst % blocks),
                bank: bank, row: row + b.j * rows + b.k)
        }
    }

    /// A run of the sequence: `count` instructions from `start`, taken from `written` (from index `base`) or
    /// computed by `moves[base]`. Small and flat, so that finding an instruction copies no array.
    struct Run: Sendable {
        var start: Int
        var count: Int
        var isMove: Bool
        var base: Int
        /// Written instructions that each start a period (`startsPeriod`).
        var startsPeriods = false
    }

    private var written: [AiMInstruction] = []
    private var moves: [ScoreMove] = []
    private var runs: [Run] = []
    public private(set) var endIndex = 0
    public private(set) var rowSummary = (hasAF: false, maxRow: -1)
    public var startIndex: Int { 0 }

    public init() {}

    public subscript(position: Int) -> AiMInstruction {
        let run = runs[runIndex(containing: position)]
        return run.isMove
            ? moves[run.base].instruction(position - run.start) : written[run.base + position - run.start]
    }

    /// The index of the run that holds `position`.
    private func runIndex(containing position: Int) -> Int {
        runs.lastIndex(startingAtOrBefore: position) { $0.start }
    }

    /// Inside one block of a score move (`ScoreMove.block`) an instruction depends only on its offset modulo the
    /// block's instructions per burst, and rows do not move: so every whole period of a multiple of that many
    /// instructions, with rows unmoved, that starts after the reference and ends inside the reference's block
    /// repeats it.
    ///
    /// And a move's full 1,024-token rows repeat each other: instruction i + one row's instructions is instruction
    /// i with its row moved by 1 while both lie in full rows (`ScoreMove.block`: row k + 1, the same head slot and
    /// offset). So a period of one row's instructions with rows moved by 1 repeats as far as the full rows go.
    public func knownRepeats(of reference: Int, length: Int, rows: Int) -> Int {
        guard length > 0, let (move, offset) = move(at: reference) else { return 0 }
        if rows == 1 {
            let fullRows = (move.rows - 1) * move.fullRow
            guard length == move.fullRow, offset + length <= fullRows else { return 0 }
            return (fullRows - offset - length) / length
        }
        let block = move.block(containing: offset)
        let end = block.start + block.count
        guard rows == 0, block.perBurst > 0, length % block.perBurst == 0, offset + length <= end else { return 0 }
        return (end - offset - length) / length
    }

    /// A score move's full 1,024-token rows each start a period (`knownRepeats`), and so does each instruction
    /// written as one (the softmax's scale EWMULs: one per score row, each hundreds of cycles with no sync point
    /// between them, so the stride points come only every 32 of them).
    public func startsPeriod(at position: Int) -> Bool {
        guard let run = run(at: position) else { return false }
        return run.isMove ? (position - run.start) % moves[run.base].fullRow == 0 : run.startsPeriods
    }

    /// The score move that holds `position`, and the position's offset in it; nil for a written instruction.
    private func move(at position: Int) -> (move: ScoreMove, offset: Int)? {
        guard let run = run(at: position), run.isMove else { return nil }
        return (moves[run.base], position - run.start)
    }

    /// The run that holds `position`; nil outside the program.
    private func run(at position: Int) -> Run? {
        position >= 0 && position < endIndex ? runs[runIndex(containing: position)] : nil
    }

    /// Appends one instruction (to the last run when it is a written one of the same kind, or a new run);
    /// `startsPeriod` says that a period of the replay may begin at it (`startsPeriod(at:)`).
    mutating func append(_ instruction: AiMInstruction, startsPeriod: Bool = false) {
        if let last = runs.last, !last.isMove, last.startsPeriods == startsPeriod {
            runs[runs.count - 1].count += 1
        } else {
            runs.append(
                Run(start: endIndex, count: 1, isMove: false, base: written.count, startsPeriods: startsPeriod))
        }
        written.append(instruction)
        endIndex += 1
        if instruction.opcode == .af { rowSummary.hasAF = true }
        rowSummary.maxRow = Swift.max(rowSummary.maxRow, instruction.values[.row] ?? -1)
    }

    mutating func append(_ move: ScoreMove) {
        guard move.count > 0 else { return }
        runs.append(Run(start: endIndex, count: move.count, isMove: true, base: moves.count))
        moves.append(move)
        endIndex += move.count
        rowSummary.maxRow = Swift.max(rowSummary.maxRow, move.lastRow)
    }

    /// Host accesses at `positions`: every instruction of a move is one, written runs are counted.
    public func hostAccesses(in positions: Range<Int>) -> Int {
        var total = 0
        for run in runs where run.start < positions.upperBound && run.start + run.count > positions.lowerBound {
            let from = Swift.max(run.start, positions.lowerBound),
                to = Swift.min(run.start + run.count, positions.upperBound)
            if run.isMove {
                total += to - from
            } else {
                for i in from..<to where written[run.base + i - run.start].opcode.isHostAccess { total += 1 }
            }
        }
        return total
    }

    /// Appends every instruction of `other`, its moves kept as loops.
    mutating func append(contentsOf other: CENTInstructions) {
        for run in other.runs {
            if run.isMove {
                append(other.moves[run.base])
            } else {
                for i in run.base..<(run.base + run.count) {
                    append(other.written[i], startsPeriod: run.startsPeriods)
                }
            }
        }
    }
}
