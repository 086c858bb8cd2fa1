/// A whole program the replay reads by position (`AiMTraceReplay.run(_:)`): an array of instructions, or a form
/// that computes some of them when read (`CENTInstructions`, CENT's score moves). Two summaries let the replay
/// avoid reading every instruction for what it only counts.
public protocol AiMProgram: RandomAccessCollection<AiMInstruction> where Index == Int {
    /// Whether any instruction is AF, and a row at least as large as any instruction names (-1 when none does):
    /// `FastForward.applies` decides from them.
    var rowSummary: (hasAF: Bool, maxRow: Int) { get }
    /// Host accesses among the instructions at `positions`.
    func hostAccesses(in positions: Range<Int>) -> Int
    /// How many whole periods of `length` instructions from `reference + length` on are known, from how the
    /// program is held, to repeat the `length` instructions from `reference` with every row moved by `rows` per
    /// period: a lower bound, 0 when nothing is known. `ReplayFastForward` checks the periods after them
    /// instruction by instruction.
    func knownRepeats(of reference: Int, length: Int, rows: Int) -> Int
    /// Whether the program knows a period to begin at `position` that the replay's stride points would miss: one
    /// longer than their window (a score move's 1,024-token rows), or one of few instructions of many cycles each
    /// (the softmax's scale EWMULs). The replay then records its state there too, so that such periods are found.
    func startsPeriod(at position: Int) -> Bool
    /// Whether the replay records the sync point before `position`: true unless the program knows `position` to lie
    /// inside a period of a long run it holds as repeats (`PeriodicProgram.recordsSyncPoint`), whose periods the
    /// replay finds at their starts. A sync point inside one finds only shorter periods (a GEMV's triples of one DRAM
    /// row), which end where the rows move on, and costs a state record and a look at every earlier equal state.
    func recordsSyncPoint(at position: Int) -> Bool
}

extension AiMProgram {
    public var rowSummary: (hasAF: Bool, maxRow: Int) {
        var hasAF = false, maxRow = -1
        for i in indices {
            let instruction = self[i]
            if instruction.opcode == .af { hasAF = true }
            if let row = instruction.values[.row] { maxRow = Swift.max(maxRow, row) }
        }
        return (hasAF, maxRow)
    }

    public func hostAccesses(in positions: Range<Int>) -> Int {
        positions.reduce(0) { $0 + (self[$1].opcode.isHostAccess ? 1 : 0) }
    }

    public func knownRepeats(of reference: Int, length: Int, rows: Int) -> Int { 0 }

    public func startsPeriod(at position: Int) -> Bool { false }

    public func recordsSyncPoint(at position: Int) -> Bool { true }
}

extension Array: AiMProgram where Element == AiMInstruction {}

extension Array {
    /// For elements in ascending order of `start` (the runs of a program held as runs, `CENTInstructions` and
    /// `PeriodicProgram`), the index of the last one that starts at or before `position`: the run that holds it. The
    /// first index when none does.
    func lastIndex(startingAtOrBefore position: Int, start: (Element) -> Int) -> Int {
        var low = 0, high = count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if start(self[mid]) <= position { low = mid } else { high = mid - 1 }
        }
        return low
    }
}
