/// Skips the periods of a program that repeats, exactly: the replay of a whole program (an array of
/// instructions, not a file read line by line) gives the same report with it as without it, in far fewer
/// simulated cycles when the program is long and regular (a GEMV's DRAM rows, attention's slices).
///
/// The argument. The replay is deterministic: what happens from a cycle on depends only on the state of the
/// decoder and of every channel then, and on the instructions still to decode. At a *sync point* (the cycle
/// in which a blocking instruction's last request completed and the decoder moved on; nothing is left over
/// for any channel) the replay records that state with times relative to the cycle and rows relative to the
/// row of the last instruction that named one (`AiMChannelController.appendSignature`). If the state at sync
/// point i equals the state at an earlier sync point j, and the L = i − j instructions after i equal the L
/// before it with every row moved by d = row(i) − row(j), the L instructions after i do what the L before
/// did, shifted by Δ = cycle(i) − cycle(j) cycles and d rows, and end in the same state again. So while the
/// next instructions keep repeating the period, whole periods can be skipped: every time moves on by Δ, every
/// row by d (but the open rows of banks left alone: `bankPeriods`), and every count by its increase over the
/// period. Only rows' equality with other rows decides anything. AF's requests open the LUT row `2^29 + mode`,
/// which does not move with the others: it stays exact while no row the program names reaches 2^29 (`applies`),
/// since then the LUT row equals no program row before or after any move, so AF hits and misses exactly where it
/// did; and a state with the LUT row queued encodes it relative to the moving rows, so it can equal another state
/// only with rows unmoved (d = 0), while the LUT row open on a bank is either unmoved (d = 0) or on a bank left
/// alone, which keeps it.
///
/// Where the replay looks. At every sync point, and also every `stride` instructions the decoder moves on to
/// while nothing is left over, nothing blocks it and no sync point came within a stride: a program of memory
/// requests (CENT's softmax moves every score as a single burst) or of non-blocking AiM commands has no sync point
/// for minutes of simulated work, and the argument above holds at any cycle whose state is recorded whole, queued
/// requests included. And where the program says a period starts that the stride points would miss
/// (`AiMProgram.startsPeriod`: the 1,024-token rows of CENT's score moves, thousands of instructions each, and the
/// softmax's scale EWMULs, hundreds of cycles each, too few to hold stride points). The
/// kinds are kept in separate windows, so that frequent stride records never push out the points of a longer
/// period.
struct ReplayFastForward<Program: AiMProgram> {
    /// The state at one sync point and the counters then.
    struct Record {
        var signature: [Int64] = []
        var hash: UInt64 = 0
        /// Every controller's banks (`AiMChannelController.appendBanks`).
        var banks: [Int64] = []
        var position = 0
        var cycle: Int64 = 0
        var rowBase = 0
        var progress: [AiMChannelController.Progress] = []
        var counts: [Int64] = []
        var blocked: Int64 = 0
        var queueFull: Int64 = 0
    }

    /// What the replay does to skip: `periods` periods of `instructions` instructions, each `cycles` cycles
    /// and `rows` rows on, with these counter increases per period.
    struct Skip {
        var periods: Int64
        var instructions: Int
        var cycles: Int64
        var rows: Int
        var counts: [Int64]
        var blocked: Int64
        var queueFull: Int64
        var issued: [Int]
        var banks: [AiMChannelController.BankPeriod]
    }

    /// The records of one kind of point, the last `window` of them in a ring.
    private struct Window {
        var records: [Record] = []
        var next = 0

        mutating func clear() {
            records.removeAll(keepingCapacity: true)
            next = 0
        }

        /// Keeps `record` (handing back, in it, the storage of the one it replaces).
        mutating func insert(_ record: inout Record) {
            if records.count < FastForward.window {
                records.append(record)
            } else {
                swap(&records[next], &record)
                next = (next + 1) % FastForward.window
            }
        }
    }

    /// The kinds of point the replay records, each in its own window.
    enum Point {
        /// A blocking instruction completed.
        case sync
        /// Every `FastForward.stride` instructions, in a stretch without sync points.
        case stride
        /// Where the program says a period starts that stride points would miss (`AiMProgram.startsPeriod`).
        case declared
    }

    let program: Program
    private var syncs = Window()
    private var strides = Window()
    private var declared = Window()
    private var current = Record()

    init(program: Program) { self.program = program }

    /// Whether the program says a period starts at `position`.
    func startsPeriod(at position: Int) -> Bool { program.startsPeriod(at: position) }

    /// Whether the program wants the sync point before `position` recorded.
    func recordsSyncPoint(at position: Int) -> Bool { program.recordsSyncPoint(at: position) }

    /// Records the point before `position` (the next instruction to decode) of kind `point`, and returns the
    /// longest skip that an earlier point of the same kind with the same state allows, if any.
    mutating func observe(
        _ controllers: UnsafeBufferPointer<AiMChannelController>, point: Point, position: Int, cycle: Int64,
        rowBase: Int, afMode: Int, blocked: Int64, queueFull: Int64, skippedCounts: [Int64]
    ) -> Skip? {
        current.signature.removeAll(keepingCapacity: true)
        current.signature.append(Int64(afMode))
        // Through a buffer pointer, by index: a controller copied out of an array would copy its fields and
        // retain each of its arrays.
        for c in controllers.indices {
            guard controllers[c].appendSignature(to: &current.signature, now: cycle, rowBase: rowBase) else {
                syncs.clear()
                strides.clear()
                declared.clear()
                return nil
            }
        }
        current.hash = FastForward.hash(current.signature)
        current.banks.removeAll(keepingCapacity: true)
        for c in controllers.indices { controllers[c].appendBanks(to: &current.banks) }
        current.position = position
        current.cycle = cycle
        current.rowBase = rowBase
        current.progress.removeAll(keepingCapacity: true)
        current.counts.removeAll(keepingCapacity: true)
        current.counts.append(contentsOf: skippedCounts)
        for c in controllers.indices {
            current.progress.append(controllers[c].progress)
            for k in current.counts.indices { current.counts[k] += controllers[c].counts[k] }
        }
        current.blocked = blocked
        current.queueFull = queueFull
        let records = point == .sync ? syncs.records : point == .stride ? strides.records : declared.records
        var candidates: [(record: Int, periods: Int64, instructions: Int)] = []
        for (i, r) in records.enumerated() where r.hash == current.hash && r.signature == current.signature {
            if let periods = periods(from: r, to: current) {
                candidates.append((i, periods, (current.position - r.position) * Int(periods)))
            }
        }
        // The longest skip (the earliest record of equal ones) whose banks agree: the banks are looked at last, as
        // building their periods costs the most.
        candidates.sort { ($0.instructions, -$0.record) > ($1.instructions, -$1.record) }
        var best: Skip?
        for candidate in candidates {
            best = make(from: records[candidate.record], to: current, periods: candidate.periods)
            if best != nil { break }
        }
        // Records from before a skip stay valid: the state after it is the one the replay would have reached.
        switch point {
        case .sync: syncs.insert(&current)
        case .stride: strides.insert(&current)
        case .declared: declared.insert(&current)
        }
        return best
    }

    /// The skip from sync point `a` to the equal state `b`: how many whole periods of the instructions
    /// between them follow `b`, moved by the rows between them each time (nil: none; the banks not looked at yet).
    private func periods(from a: Record, to b: Record) -> Int64? {
        let length = b.position - a.position, rows = b.rowBase - a.rowBase, cycles = b.cycle - a.cycle
        guard length > 0, cycles > 0 else { return nil }
        // A controller's last completion must move with the period (it worked in it) or stay (it did not).
        for (p, q) in zip(a.progress, b.progress) {
            let worked = q.issued > p.issued
            guard worked ? q.busyUntil - p.busyUntil == cycles : q.busyUntil == p.busyUntil else { return nil }
        }
        var periods: Int64 = 0
        var start = b.position
        // Periods the program knows to repeat (a score move's bursts and rows): taken without reading them, as far
        // as they leave an instruction after them.
        let known = program.knownRepeats(of: a.position, length: length, rows: rows)
        while periods < known, start + length < program.count {
            periods += 1
            start += length
        }
        // At least one instruction is left after the periods skipped (the replay decodes it next). A period is
        // first looked at in 16 or 17 places spread over it and at its last instruction, then read whole: two
        // stretches that differ mostly differ early or in many places, and the states of a long program's points
        // often agree where its instructions do not (a score move's banks left alone).
        while start + length < program.count {
            let shift = Int(periods + 1) * rows
            func differs(_ t: Int) -> Bool {
                !FastForward.same(program[start + t], program[a.position + t], rowsOn: shift)
            }
            let spacing = Swift.max(1, length / 16)
            if stride(from: 0, to: length, by: spacing).contains(where: differs) || differs(length - 1)
                || (0..<length).contains(where: differs)
            {
                break
            }
            periods += 1
            start += length
        }
        return periods > 0 ? periods : nil
    }

    /// The skip of `periods` periods from `a` to `b`, if the banks agree (`bankPeriods`).
    private func make(from a: Record, to b: Record, periods: Int64) -> Skip? {
        let length = b.position - a.position, rows = b.rowBase - a.rowBase, cycles = b.cycle - a.cycle
        guard let banks = Self.bankPeriods(a, b) else { return nil }
        return Skip(
            periods: periods, instructions: length, cycles: cycles, rows: rows,
            counts: zip(b.counts, a.counts).map { $0 - $1 }, blocked: b.blocked - a.blocked,
            queueFull: b.queueFull - a.queueFull,
            issued: zip(b.progress, a.progress).map { $0.issued - $1.issued }, banks: banks)
    }

    /// The banks' side of the period from `a` to `b`, controller by controller, or nil when the states differ
    /// there. A bank's open row must be the same relative to the rows of the instructions (it moves with them), or,
    /// in a controller with no all-bank request queued, the same row on a bank that no command reached in the
    /// period and none reached at all banks (it stays: only equality of rows decides anything, and only a request
    /// for that bank, or an all-bank one, compares its row with another; none was served in the period, and with
    /// the rows moved by d ≠ 0 none queued at `b` is one queued at `a`, so none waits for it either).
    static func bankPeriods(_ a: Record, _ b: Record) -> [AiMChannelController.BankPeriod]? {
        let d = b.rowBase - a.rowBase
        var periods: [AiMChannelController.BankPeriod] = []
        var i = 0
        while i < a.banks.count {
            let aimEmpty = a.banks[i] == 1, allBank = Int(b.banks[i + 1] - a.banks[i + 1])
            let n = Int(a.banks[i + 2])
            var period = AiMChannelController.BankPeriod(bankCommands: [], allBankCommands: allBank)
            for bank in 0..<n {
                let ra = Int(a.banks[i + 3 + 2 * bank]), rb = Int(b.banks[i + 3 + 2 * bank])
                let commands = Int(b.banks[i + 4 + 2 * bank] - a.banks[i + 4 + 2 * bank])
                period.bankCommands.append(commands)
                if ra < 0 || rb < 0 {
                    guard ra == rb else { return nil }
                } else if rb - ra == d {
                    continue
                } else {
                    guard ra == rb, aimEmpty, allBank == 0, commands == 0 else { return nil }
                    period.fixed.append(bank)
                }
            }
            periods.append(period)
            i += 3 + 2 * n
        }
        return periods
    }
}

/// The fast-forward's constants and rules that do not depend on how the program is held.
enum FastForward {
    /// Points of one kind remembered (a period longer than this many points is not found).
    static let window = 48
    /// Instructions between the stride records, at the positions that are multiples of it: a period of P
    /// instructions is found as one of lcm(P, stride), if that is within `window` strides.
    static let stride = 32

    /// The first row of AF's LUT rows (`AiMTraceReplay`: an AF request's row is this plus the mode).
    static let lutRow = 1 << 29

    /// Whether the argument holds for the program: without AF, always; with AF, when every row it names is below
    /// the LUT rows (a trace may name rows up to 2^32 − 1).
    static func applies(to program: some AiMProgram) -> Bool {
        let summary = program.rowSummary
        return !summary.hasAF || summary.maxRow < lutRow
    }

    /// Whether the replay records the point before `position` (the next instruction to decode) when it is not a
    /// sync point.
    static func isStridePoint(_ position: Int) -> Bool { position % stride == 0 }

    /// FNV-1a over the signature's words: a cheap filter before the full comparison (the standard library's
    /// seeded SipHash costs more than the rest of an observation).
    static func hash(_ words: [Int64]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for w in words { h = (h ^ UInt64(bitPattern: w)) &* 0x100_0000_01b3 }
        return h
    }

    /// `x` is `y` with its row (if it has one) moved on by `rows`.
    static func same(_ x: AiMInstruction, _ y: AiMInstruction, rowsOn rows: Int) -> Bool {
        guard x.opcode == y.opcode else { return false }
        guard rows != 0, let b = y.values[.row] else { return x.values == y.values }
        guard let a = x.values[.row], a == b + rows else { return false }
        var unmoved = x.values
        unmoved[.row] = b
        return unmoved == y.values
    }
}
