/// An AiM program held as runs, each one period of instructions repeated with every row moved on by the same step
/// per period: a GEMV's DRAM rows and input chunks (`GEMVLowering.aimRuns`), a static attention unit's channels
/// merged (`AttentionProgram.periodicProgram`). The replay reads an instruction by its position without the program
/// being written out, takes a run's periods as repeats without reading them (`knownRepeats`), and counts host
/// accesses per run. The collection is the sequence the runs expand to: period after period, run after run.
public struct PeriodicProgram: AiMProgram, Sendable {
    /// `repeats` copies of `period` from position `start`, copy q with every row moved on by q · `rowStep`.
    public struct Run: Sendable, Equatable {
        public var period: [AiMInstruction]
        public var repeats: Int
        public var rowStep: Int
        public var start: Int
        /// Host accesses in one period.
        var hostAccesses: Int

        /// Instructions in the run.
        public var count: Int { period.count * repeats }

        /// Instruction `i` of the run (0 ≤ i < count).
        public func instruction(_ i: Int) -> AiMInstruction {
            let q = i / period.count
            var instruction = period[i - q * period.count]
            if q > 0, rowStep != 0, let row = instruction.values[.row] { instruction.values[.row] = row + q * rowStep }
            return instruction
        }
    }

    public private(set) var runs: [Run] = []
    public private(set) var endIndex = 0
    public private(set) var rowSummary = (hasAF: false, maxRow: -1)
    public var startIndex: Int { 0 }

    public init() {}

    public subscript(position: Int) -> AiMInstruction {
        let run = runs[runIndex(containing: position)]
        return run.instruction(position - run.start)
    }

    /// The index of the run that holds `position`.
    public func runIndex(containing position: Int) -> Int {
        runs.lastIndex(startingAtOrBefore: position) { $0.start }
    }

    /// The run that holds `position`, and the position's offset in it; nil outside the program.
    func run(at position: Int) -> (run: Run, offset: Int)? {
        guard position >= 0, position < endIndex else { return nil }
        let run = runs[runIndex(containing: position)]
        return (run, position - run.start)
    }

    /// Appends `repeats` copies of `period`, copy q with its rows moved on by q · `rowStep`. A single copy joins the
    /// last run when that is a single copy too (instructions written one after another).
    public mutating func append(period: [AiMInstruction], repeats: Int = 1, rowStep: Int = 0) {
        guard !period.isEmpty, repeats > 0 else { return }
        let hosts = period.reduce(0) { $0 + ($1.opcode.isHostAccess ? 1 : 0) }
        if repeats == 1, let last = runs.last, last.repeats == 1 {
            runs[runs.count - 1].period += period
            runs[runs.count - 1].hostAccesses += hosts
        } else {
            runs.append(
                Run(period: period, repeats: repeats, rowStep: rowStep, start: endIndex, hostAccesses: hosts))
        }
        endIndex += period.count * repeats
        for instruction in period {
            if instruction.opcode == .af { rowSummary.hasAF = true }
            if let row = instruction.values[.row] {
                rowSummary.maxRow = Swift.max(rowSummary.maxRow, row, row + (repeats - 1) * rowStep)
            }
        }
    }

    /// Appends instructions as written.
    public mutating func append(_ instructions: [AiMInstruction]) { append(period: instructions) }

    /// Appends every run of `other`.
    public mutating func append(contentsOf other: PeriodicProgram) {
        for run in other.runs { append(period: run.period, repeats: run.repeats, rowStep: run.rowStep) }
    }

    /// Inside one run, instruction i + L (L a whole number of periods, the rows moved by L's row steps) is
    /// instruction i moved on: so periods of L instructions from the reference on repeat it as far as the run goes.
    public func knownRepeats(of reference: Int, length: Int, rows: Int) -> Int {
        guard length > 0, let (run, offset) = run(at: reference),
            length % run.period.count == 0, rows == length / run.period.count * run.rowStep,
            offset + length <= run.count
        else { return 0 }
        return (run.count - offset - length) / length
    }

    /// Each period of a run held as repeats starts a period of the replay (`AiMProgram.startsPeriod`).
    public func startsPeriod(at position: Int) -> Bool {
        guard let (run, offset) = run(at: position) else { return false }
        return run.repeats > 1 && offset % run.period.count == 0
    }

    /// Inside a period of a long run (`longRun` periods or more) the replay records no sync point: it finds the run's
    /// periods at their starts within a few of them and skips the rest (`AiMProgram.recordsSyncPoint`). Sync points
    /// inside its periods would find only shorter periods (a DRAM row's segments), each ending where the rows move
    /// on, and cost a state record and a look at every earlier equal state each: with the 14 to 32 channels of a
    /// head-first wave, more than the skips save. In a shorter run those shorter periods are most of what there is
    /// to skip (a token-parallel slice's few DRAM rows), so its sync points are recorded.
    public func recordsSyncPoint(at position: Int) -> Bool {
        guard let (run, offset) = run(at: position) else { return true }
        return run.repeats < Self.longRun || offset % run.period.count == 0
    }

    /// Periods from which a run counts as long (`recordsSyncPoint`).
    public static let longRun = 16

    public func hostAccesses(in positions: Range<Int>) -> Int {
        var total = 0
        for run in runs where run.start < positions.upperBound && run.start + run.count > positions.lowerBound {
            guard run.hostAccesses > 0 else { continue }
            total +=
                run.hosts(before: Swift.min(run.count, positions.upperBound - run.start))
                - run.hosts(before: Swift.max(0, positions.lowerBound - run.start))
        }
        return total
    }
}

extension PeriodicProgram.Run {
    /// Host accesses among the run's first `i` instructions: whole periods, then part of one.
    func hosts(before i: Int) -> Int {
        let whole = i / period.count
        return period[..<(i - whole * period.count)].reduce(whole * hostAccesses) {
            $0 + ($1.opcode.isHostAccess ? 1 : 0)
        }
    }
}
