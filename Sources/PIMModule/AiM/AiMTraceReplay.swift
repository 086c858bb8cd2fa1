/// Times an AiM instruction trace the way the public AiM simulator (arkhadem/aim_simulator, the
/// Ramulator-2-based model CENT uses) does, cycle by cycle, so that its traces and lolpim's kernels can be
/// compared command for command. docs/VALIDATION.md states every rule and where it comes from. In short:
/// - The host side (that simulator's "AiM DMA") decodes at most one instruction per cycle, in trace order,
///   into opsize requests per target channel (`AiMChannelController` serves them). A request a full channel
///   queue refuses waits; the next instruction is decoded only once every request of this one is queued.
/// - Blocking instructions (RD_MAC, RD_AF, SYNC, EOC) stop decoding until every one of their requests has
///   completed. EOC goes to every channel; the total is the cycle its last request completes.
/// - Refresh: that simulator never refreshes; `refresh: false` reproduces it. With `refresh: true` each
///   channel refreshes every nREFI cycles (lolpim's model, the one intended departure).
public struct AiMTraceReplay: Sendable {
    public let table: TimingTable
    public let channels: Int
    public let refresh: Bool
    /// Rows per bank: a trace's row fields must be below it.
    public let rows: Int

    /// A replay with that simulator's effective values of `timing` (see `AiMTiming.aimSimulatorEffective`).
    public init(
        timing: AiMTiming, channels: Int = 32, banks: Int = 16, rows: Int = AiMTraceParser.maxField + 1,
        refresh: Bool, commit: AiMSimulatorCommit = .validated
    ) {
        table = .aimSimulator(timing.aimSimulatorEffective, banks: banks, commit: commit)
        self.channels = channels
        self.refresh = refresh
        self.rows = rows
    }

    public init(module: ModuleConfig, refresh: Bool, commit: AiMSimulatorCommit = .validated) {
        self.init(
            timing: module.timing, channels: module.channels, banks: module.banksPerChannel,
            rows: Int(module.bankBytes / Int64(module.rowBytes)), refresh: refresh, commit: commit)
    }

    public struct Report: Sendable {
        /// Cycles from the first instruction until EOC has completed on every channel (that simulator's
        /// `memory_system_cycles`).
        public var cycles: Int64
        public var instructions: Int
        public var hostLines: Int
        public var commands: CommandCounts
        /// Per channel: commands issued and the cycle its last command completed (0 when unused).
        public var channelCommands: [Int64]
        public var channelEnd: [Int64]
        /// Cycles the decoder waited for a channel queue with room.
        public var queueFullCycles: Int64
        /// Cycles the decoder waited for a blocking instruction to complete.
        public var blockedCycles: Int64
        /// Cycles passed over by skipping repeated periods (`ReplayFastForward`) instead of simulated.
        public var fastForwardedCycles: Int64
        public var trace: [IssuedCommand]
    }

    /// Parses `text` for this replay's module.
    public func parse(_ text: String, file: String) throws -> AiMTraceParser.Parsed {
        try AiMTraceParser.parse(text, file: file, channels: channels, banks: table.banks, rows: rows)
    }

    /// A line-by-line reader of traces for this replay's module.
    public func reader(file: String) -> AiMTraceParser.Reader {
        AiMTraceParser.Reader(file: file, channels: channels, banks: table.banks, rows: rows)
    }

    /// Replays a whole program. Periods that repeat are skipped (`ReplayFastForward`) unless `fastForward`
    /// is off or the replay records its trace; the report is the same either way (tested).
    public func run(_ instructions: some AiMProgram, record: Bool = false, fastForward: Bool = true) -> Report {
        let skipper =
            fastForward && !record && !refresh && FastForward.applies(to: instructions)
            ? ReplayFastForward(program: instructions) : nil
        var index = 0
        return run(
            next: { () throws(Never) -> AiMInstruction? in
                guard index < instructions.count else { return nil }
                index += 1
                return instructions[index - 1]
            }, record: record,
            skip: { skipped in
                let end = min(index + skipped, instructions.count)
                defer { index = end }
                return instructions.hostAccesses(in: index..<end)
            }, fastForward: skipper)
    }

    /// Replays instructions as `next` hands them out, one at a time (nil at the end), so that a trace of any
    /// length is replayed in constant memory: requests a full channel queue refused are kept as a count per
    /// channel (they all belong to the instruction being decoded, so they are alike), never one by one.
    /// Errors `next` throws (a bad line of a file being read) end the replay.
    public func run<E: Error>(next: () throws(E) -> AiMInstruction?, record: Bool = false) throws(E) -> Report {
        try run(next: next, record: record, skip: { _ in 0 }, fastForward: ReplayFastForward<[AiMInstruction]>?.none)
    }

    /// The cycle loop. With `fastForward` (whose program `next` hands out), `skip(n)` passes over the next n
    /// instructions of `next` and returns how many of them are host accesses. Each cycle: requests left over from
    /// earlier cycles go first; the decoder takes the next instruction unless it waits; every channel advances;
    /// at a sync point, every `FastForward.stride` instructions, or where the program says a period starts
    /// (`AiMProgram.startsPeriod`), periods that repeat are skipped.
    private func run<E: Error, Program>(
        next: () throws(E) -> AiMInstruction?, record: Bool, skip: (Int) -> Int,
        fastForward: ReplayFastForward<Program>?
    ) throws(E) -> Report {
        var skipper = fastForward
        var replay = ReplayState(
            channels: Channels(table: table, channels: channels, refresh: refresh, record: record), first: try next())
        while replay.finished == nil, let instruction = replay.current {
            let (wasRemaining, isRemaining) = replay.offerLeftovers()
            // While the decoder waits, cycles in which no channel can act are skipped; when nothing can ever
            // happen again (not reachable with the rules above), the replay stops instead of spinning.
            if replay.stalled > 0 || isRemaining, !replay.skipIdleCycles() { break }
            if replay.stalled > 0 {
                replay.blocked += 1
            } else if wasRemaining {
                if isRemaining { replay.queueFull += 1 } else { try replay.advance(next) }
            } else if replay.decode(instruction) {
                try replay.advance(next)
            }
            try replay.tick(next)
            if skipper != nil,
                (replay.synced && skipper!.recordsSyncPoint(at: replay.decoded - 1))
                    || (replay.moved && (replay.isStridePoint || skipper!.startsPeriod(at: replay.decoded - 1)))
            {
                try replay.fastForward(&skipper!, skip: skip, next: next)
            }
            replay.synced = false
            replay.moved = false
        }
        return replay.report(record: record)
    }
}

/// Where one replay stands: the channels, the instruction being decoded, the decoder's waits and the counters
/// the report gives. `AiMTraceReplay.run` drives it cycle by cycle through its steps.
private struct ReplayState {
    var state: Channels
    /// The instruction being decoded (nil once `next` has none).
    var current: AiMInstruction?
    /// Instructions handed out so far, and of them the host accesses.
    var decoded: Int
    var hostLines: Int
    /// The row the last instruction that named one named (fast-forward keeps rows relative to it).
    var rowBase = 0
    /// Blocking requests not yet completed: the decoder waits while there are any.
    var stalled = 0
    /// The activation function mode `WR_CFR` to address 2 set (AF instructions carry it as a row).
    var afMode = 0
    var queueFull: Int64 = 0
    var blocked: Int64 = 0
    var fastForwarded: Int64 = 0
    /// Commands issued in periods skipped by fast-forward.
    var skippedCounts = Array(repeating: Int64(0), count: AiMCommandKind.allCases.count)
    var cycle: Int64 = 0
    /// The cycle EOC completed.
    var finished: Int64?
    /// Whether a blocking instruction completed this cycle (a sync point).
    var synced = false
    /// The position of the instruction the decoder moved on to at the last sync point.
    var lastSync = 0
    /// Whether the decoder moved on to another instruction this cycle.
    var moved = false

    init(channels: Channels, first: AiMInstruction?) {
        state = channels
        current = first
        decoded = first == nil ? 0 : 1
        hostLines = first?.opcode.isHostAccess == true ? 1 : 0
    }

    var channels: Int { state.controllers.count }

    /// Whether the instruction the decoder moved on to is a stride point (`FastForward.isStridePoint`) in a stretch
    /// with no sync point for at least a stride: where sync points come often they find the periods, and recording
    /// the state between them too would only cost.
    var isStridePoint: Bool {
        let position = decoded - 1
        return FastForward.isStridePoint(position) && position - lastSync >= FastForward.stride
    }

    /// Moves the decoder to the next instruction.
    mutating func advance<E: Error>(_ next: () throws(E) -> AiMInstruction?) throws(E) {
        if let row = current?.values[.row] { rowBase = row }
        moved = true
        current = try next()
        if let current {
            decoded += 1
            if current.opcode.isHostAccess { hostLines += 1 }
        }
    }

    /// Offers every channel the requests its full queue refused in earlier cycles. Returns whether there were
    /// any, and whether some are still refused.
    mutating func offerLeftovers() -> (wasRemaining: Bool, isRemaining: Bool) {
        var wasRemaining = false, isRemaining = false
        for c in 0..<channels where state.remaining[c].count > 0 {
            wasRemaining = true
            guard let request = state.remaining[c].request else { continue }
            let count = state.remaining[c].count
            state.remaining[c] = (nil, 0)
            if !state.offer(request, count: count, to: c, now: cycle) { isRemaining = true }
        }
        return (wasRemaining, isRemaining)
    }

    /// Skips to the cycle before the next one in which a channel can act, counting the skipped cycles as blocked
    /// or queue-full; false when no channel can ever act again.
    mutating func skipIdleCycles() -> Bool {
        let next = state.wake.min() ?? .max
        if next == .max { return false }
        if next > cycle + 1 {
            let skipped = next - cycle - 1
            cycle += skipped
            if stalled > 0 { blocked += skipped } else { queueFull += skipped }
        }
        return true
    }

    /// Decodes `instruction` into requests for its channels (or sets a mode). Returns whether the decoder may
    /// move on: every request queued and none blocking.
    mutating func decode(_ instruction: AiMInstruction) -> Bool {
        var allQueued = true
        let op = instruction.opcode
        if let final = op.finalCommand {
            let targets =
                op == .readMEM || op == .writeMEM
                ? [instruction.values[.channel] ?? 0] : instruction.channels(limit: channels)
            let kind: AiMChannelController.Request.Kind = op.isMemoryAccess ? (final == .rd ? .read : .write) : .aim
            let row = op == .af ? FastForward.lutRow + afMode : instruction.row
            let request = AiMChannelController.Request(
                kind: kind, final: final, bank: instruction.bank, row: row,
                needsRegisterMode: op.needsRegisterMode, notifies: op.isBlocking)
            let bursts = op.isMemoryAccess ? 1 : instruction.opsize
            for c in targets {
                if !state.offer(request, count: bursts, to: c, now: cycle) { allQueued = false }
                if op.isBlocking { stalled += bursts }
            }
        } else if op == .sync || op == .eoc {
            let marker = AiMChannelController.Request(
                kind: .endMarker, final: .tmod, bank: -1, row: -1, needsRegisterMode: false, notifies: true)
            for c in 0..<channels {
                if !state.offer(marker, count: 1, to: c, now: cycle) { allQueued = false }
                stalled += 1
            }
        } else if op == .writeCFR, instruction.values[.address] == 2 {
            afMode = instruction.values[.data] ?? 0
        }
        return stalled == 0 && allQueued
    }

    /// Every channel advances one cycle; completed blocking requests release the decoder (EOC's last one ends
    /// the replay).
    mutating func tick<E: Error>(_ next: () throws(E) -> AiMInstruction?) throws(E) {
        cycle += 1
        for c in 0..<channels where state.wake[c] <= cycle {
            let (notified, wake) = state.controllers[c].tickAndProject(at: cycle)
            state.wake[c] = wake
            guard notified > 0 else { continue }
            stalled -= 1
            guard stalled == 0 else { continue }
            if current?.opcode == .eoc {
                finished = cycle
            } else {
                try advance(next)
                synced = true
                lastSync = decoded - 1
            }
        }
    }

    /// At a sync or stride point with nothing left over and nothing blocking, asks `skipper` whether the state
    /// recurs; if so, passes over the whole periods it found (`ReplayFastForward`): `skip(n)` passes over n
    /// instructions of `next` and counts their host accesses.
    mutating func fastForward<E: Error, Program>(
        _ skipper: inout ReplayFastForward<Program>, skip: (Int) -> Int, next: () throws(E) -> AiMInstruction?
    ) throws(E) {
        guard finished == nil, current != nil, stalled == 0, !state.remaining.contains(where: { $0.count > 0 })
        else { return }
        let found = state.controllers.withUnsafeBufferPointer { controllers in
            skipper.observe(
                controllers, point: synced ? .sync : isStridePoint ? .stride : .declared, position: decoded - 1,
                cycle: cycle, rowBase: rowBase, afMode: afMode,
                blocked: blocked, queueFull: queueFull, skippedCounts: skippedCounts)
        }
        guard let s = found else { return }
        let instructions = Int(s.periods) * s.instructions
        // `current` is the first instruction of the periods skipped; the one after them takes its place.
        hostLines += skip(instructions - 1)
        current = try next()
        if current?.opcode.isHostAccess == true { hostLines += 1 }
        decoded += instructions
        blocked += s.periods * s.blocked
        queueFull += s.periods * s.queueFull
        for k in skippedCounts.indices { skippedCounts[k] += s.periods * s.counts[k] }
        rowBase += Int(s.periods) * s.rows
        let dt = s.periods * s.cycles
        cycle += dt
        fastForwarded += dt
        for c in 0..<channels {
            state.controllers[c].fastForward(
                periods: s.periods, cycles: s.cycles, rows: s.rows, issuedPerPeriod: s.issued[c], banks: s.banks[c])
            if state.wake[c] != .max { state.wake[c] += dt }
        }
    }

    func report(record: Bool) -> AiMTraceReplay.Report {
        let controllers = state.controllers
        var counts = CommandCounts(skippedCounts)
        for c in controllers { counts = counts + CommandCounts(c.counts) }
        let trace =
            record
            ? controllers.flatMap { $0.trace ?? [] }
                .sorted { ($0.cycle, $0.channel) < ($1.cycle, $1.channel) } : []
        return AiMTraceReplay.Report(
            cycles: finished ?? cycle, instructions: decoded, hostLines: hostLines, commands: counts,
            channelCommands: controllers.map { Int64($0.issuedCommands) },
            channelEnd: controllers.map { $0.issuedCommands > 0 ? $0.busyUntil : 0 },
            queueFullCycles: queueFull, blockedCycles: blocked, fastForwardedCycles: fastForwarded, trace: trace)
    }
}

/// The channels of one replay: each one's controller, the next cycle in which its tick can change anything
/// (`nextEvent`; a channel is ticked only then, or in the cycle after it accepted a request, since other ticks
/// would leave its state as it is), and the copies of a request it could not take yet. A value the replay
/// owns outright (no closure captures it), so its controllers are updated in place.
private struct Channels {
    var controllers: [AiMChannelController]
    var wake: [Int64]
    var remaining: [(request: AiMChannelController.Request?, count: Int)]

    init(table: TimingTable, channels: Int, refresh: Bool, record: Bool) {
        controllers = (0..<channels).map {
            AiMChannelController(table: table, channel: $0, refresh: refresh, record: record)
        }
        wake = Array(repeating: 0, count: channels)
        remaining = Array(repeating: (nil, 0), count: channels)
    }

    mutating func send(_ request: AiMChannelController.Request, to c: Int, now cycle: Int64) -> Bool {
        guard controllers[c].send(request, now: cycle) else { return false }
        wake[c] = min(wake[c], cycle + 1)
        return true
    }

    /// `count` copies of `request` for channel c: sent until its queue is full, the rest kept for later
    /// cycles. Returns whether all were sent.
    mutating func offer(_ request: AiMChannelController.Request, count: Int, to c: Int, now cycle: Int64) -> Bool {
        var sent = 0
        while sent < count && send(request, to: c, now: cycle) { sent += 1 }
        if sent < count { remaining[c] = (request, count - sent) }
        return sent == count
    }
}
