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

    /// A replay with that simulator's effective values of `timing` (see `AiMTiming.aimSimulatorEffective`).
    public init(timing: AiMTiming, channels: Int = 32, banks: Int = 16, refresh: Bool) {
        table = .aimSimulator(timing.aimSimulatorEffective, banks: banks)
        self.channels = channels
        self.refresh = refresh
    }

    public init(module: ModuleConfig, refresh: Bool) {
        self.init(timing: module.timing, channels: module.channels, banks: module.banksPerChannel, refresh: refresh)
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
        public var trace: [IssuedCommand]
    }

    /// Parses `text` for this replay's module.
    public func parse(_ text: String, file: String) throws -> AiMTraceParser.Parsed {
        try AiMTraceParser.parse(text, file: file, channels: channels, banks: table.banks)
    }

    public func run(_ instructions: [AiMInstruction], record: Bool = false) -> Report {
        var controllers = (0..<channels).map {
            AiMChannelController(table: table, channel: $0, refresh: refresh, record: record)
        }
        var remaining = Array(repeating: [AiMChannelController.Request](), count: channels)
        var remainingHead = Array(repeating: 0, count: channels)
        var front = 0
        var stalled = 0
        var afMode = 0
        var queueFull: Int64 = 0, blocked: Int64 = 0
        var finished: Int64?
        var cycle: Int64 = 0
        // The next cycle in which each channel's tick can change anything (`nextEvent`): a channel is ticked
        // only then, or in the cycle after it accepted a request. Other ticks would leave its state as it is.
        var wake = Array(repeating: Int64(0), count: channels)
        func send(_ request: AiMChannelController.Request, to c: Int) -> Bool {
            guard controllers[c].send(request, now: cycle) else { return false }
            wake[c] = min(wake[c], cycle + 1)
            return true
        }
        // A request that could not be queued this cycle waits in `remaining` for its channel.
        func offer(_ request: AiMChannelController.Request, to c: Int) -> Bool {
            if remainingHead[c] == remaining[c].count && send(request, to: c) { return true }
            remaining[c].append(request)
            return false
        }
        while finished == nil && front < instructions.count {
            // 1. Requests left over from earlier cycles go first, in order, per channel.
            var wasRemaining = false, isRemaining = false
            for c in 0..<channels where remainingHead[c] < remaining[c].count {
                wasRemaining = true
                while remainingHead[c] < remaining[c].count {
                    guard send(remaining[c][remainingHead[c]], to: c) else {
                        isRemaining = true
                        break
                    }
                    remainingHead[c] += 1
                }
                if remainingHead[c] == remaining[c].count { remaining[c].removeAll(); remainingHead[c] = 0 }
            }
            // 2. Decode the next instruction, unless a blocking one is in flight. While the decoder waits,
            //    cycles in which no channel can act are skipped.
            if stalled > 0 || isRemaining {
                let next = wake.min() ?? .max
                // Nothing can ever happen again (not reachable with the rules above): stop instead of spinning.
                if next == .max { break }
                if next > cycle + 1 {
                    let skipped = next - cycle - 1
                    cycle += skipped
                    if stalled > 0 { blocked += skipped } else { queueFull += skipped }
                }
            }
            if stalled > 0 {
                blocked += 1
            } else if wasRemaining {
                if isRemaining { queueFull += 1 } else { front += 1 }
            } else {
                let instruction = instructions[front]
                var allQueued = true
                let op = instruction.opcode
                if let final = op.finalCommand {
                    let targets: [Int]
                    if op.isMemoryAccess {
                        targets = op == .readMEM || op == .writeMEM ? [instruction.values[.channel] ?? 0]
                            : instruction.channels(limit: channels)
                    } else {
                        targets = instruction.channels(limit: channels)
                    }
                    let kind: AiMChannelController.Request.Kind = op.isMemoryAccess
                        ? (final == .rd ? .read : .write) : .aim
                    let row = op == .af ? (1 << 29) + afMode : instruction.row
                    let request = AiMChannelController.Request(
                        kind: kind, final: final, bank: instruction.bank, row: row,
                        needsRegisterMode: op.needsRegisterMode, notifies: op.isBlocking)
                    let bursts = op.isMemoryAccess ? 1 : instruction.opsize
                    for _ in 0..<bursts {
                        for c in targets {
                            if !offer(request, to: c) { allQueued = false }
                            if op.isBlocking { stalled += 1 }
                        }
                    }
                } else if op == .sync || op == .eoc {
                    let marker = AiMChannelController.Request(kind: .endMarker, final: .tmod, bank: -1, row: -1,
                                                              needsRegisterMode: false, notifies: true)
                    for c in 0..<channels {
                        if !offer(marker, to: c) { allQueued = false }
                        stalled += 1
                    }
                } else if op == .writeCFR, instruction.values[.address] == 2 {
                    afMode = instruction.values[.data] ?? 0
                }
                if stalled == 0 && allQueued { front += 1 }
            }
            // 3. Every channel advances one cycle; completed blocking requests release the decoder.
            cycle += 1
            for c in 0..<channels where wake[c] <= cycle {
                let notified = controllers[c].tick(at: cycle)
                wake[c] = controllers[c].nextEvent(now: cycle)
                if notified > 0 {
                    stalled -= 1
                    if stalled == 0 {
                        if instructions[front].opcode == .eoc { finished = cycle }
                        front += 1
                    }
                }
            }
        }
        var counts = CommandCounts()
        for c in controllers { counts = counts + CommandCounts(c.counts) }
        let trace = record ? controllers.flatMap { $0.trace ?? [] }
            .sorted { ($0.cycle, $0.channel) < ($1.cycle, $1.channel) } : []
        return Report(cycles: finished ?? cycle, instructions: instructions.count,
                      hostLines: instructions.filter { $0.opcode.isHostAccess }.count, commands: counts,
                      channelCommands: controllers.map { Int64($0.issuedCommands) },
                      channelEnd: controllers.map { $0.issuedCommands > 0 ? $0.busyUntil : 0 },
                      queueFullCycles: queueFull, blockedCycles: blocked, trace: trace)
    }
}
