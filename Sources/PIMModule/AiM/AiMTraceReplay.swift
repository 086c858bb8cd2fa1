import Foundation

/// Replays an AiM instruction trace in the text format of the public AiM toolchain (HARDWARE.md §2) under
/// that toolchain's controller rules, so that traces from CENT-style flows can be timed and compared:
/// - `AiM WR_GB <opsize> <gpr> <mask>`, `AiM WR_BIAS <gpr> <mask>`, `AiM MAC_ABK <opsize> <mask> <row>`,
///   `AiM RD_MAC <gpr> <mask>`, `AiM RD_AF <gpr> <mask>`, `AiM AF <mask>`, `AiM EWMUL <opsize> <mask> <row>`,
///   `AiM MAC_SBK <opsize> <mask> <bank> <row>`, `AiM WR_SBK <opsize> <gpr> <mask> <bank> <row>`,
///   `AiM RD_SBK <opsize> <gpr> <mask> <bank> <row>`, `AiM COPY_BKGB <opsize> <mask> <bank> <row>`,
///   `AiM COPY_GBBK <opsize> <mask> <bank> <row>`, `AiM SYNC`, `AiM EOC`; host-side lines
///   (`W GPR …`, `W CFR …`, `R MEM …`) are counted and cost nothing on the channels. `#` as the first token
///   starts a comment; numbers are decimal or 0x-hex; bit (31 − c) of a mask selects channel c.
/// - Register instructions (WR_GB, WR_BIAS, RD_MAC, RD_AF) and the others form two classes; switching class
///   waits until every channel is idle, then nMODCH cycles.
/// - RD_MAC, RD_AF, SYNC and EOC block: the next instruction is decoded only when every target channel has
///   finished them.
/// - MAC_ABK / EWMUL / single-bank commands on a row that is not open issue PREA (if another row is open)
///   and ACT16 first.
/// - One instruction is decoded per cycle into opsize requests per target channel; each channel queue holds
///   33 requests served in order; an instruction whose requests do not fit stalls decoding.
public struct AiMTraceReplay {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    enum Opcode: String, CaseIterable {
        case wrGB = "WR_GB", wrBias = "WR_BIAS", rdMAC = "RD_MAC", rdAF = "RD_AF", macABK = "MAC_ABK"
        case macSBK = "MAC_SBK", af = "AF", ewmul = "EWMUL", wrSBK = "WR_SBK", rdSBK = "RD_SBK"
        case copyBKGB = "COPY_BKGB", copyGBBK = "COPY_GBBK", sync = "SYNC", eoc = "EOC"

        /// Operand names in order.
        var operands: [String] {
            switch self {
            case .wrGB: return ["opsize", "gpr", "mask"]
            case .wrBias, .rdMAC, .rdAF: return ["gpr", "mask"]
            case .macABK, .ewmul: return ["opsize", "mask", "row"]
            case .macSBK, .copyBKGB, .copyGBBK: return ["opsize", "mask", "bank", "row"]
            case .wrSBK, .rdSBK: return ["opsize", "gpr", "mask", "bank", "row"]
            case .af: return ["mask"]
            case .sync, .eoc: return []
            }
        }

        var isRegister: Bool { [.wrGB, .wrBias, .rdMAC, .rdAF].contains(self) }
        var isBlocking: Bool { [.rdMAC, .rdAF, .sync, .eoc].contains(self) }
        /// SYNC and EOC belong to neither class.
        var isNeutral: Bool { self == .sync || self == .eoc }
    }

    public struct Instruction: Equatable {
        var opcode: Opcode
        var values: [String: Int]
        public var line: Int
    }

    public let table: TimingTable
    public let channels: Int
    /// Requests a channel queue holds.
    public var queueDepth = 33

    public init(table: TimingTable, channels: Int = 32) {
        self.table = table
        self.channels = channels
    }

    public struct Report: Sendable {
        /// Cycle at which the last command completed.
        public var cycles: Int64
        public var instructions: Int
        public var hostLines: Int
        public var commands: CommandCounts
        /// Per channel: commands issued and the cycle its last command completed (0 when unused).
        public var channelCommands: [Int64]
        public var channelEnd: [Int64]
        public var trace: [IssuedCommand]
    }

    // MARK: Parsing

    public static func parse(_ text: String, file: String) throws -> (instructions: [Instruction], hostLines: Int) {
        var instructions: [Instruction] = []
        var host = 0
        var sawEOC = false
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let tokens = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == "\r" }).map(String.init)
            guard let first = tokens.first, !first.hasPrefix("#") else { continue }
            func fail(_ message: String) -> ParseError { ParseError(file: file, line: line, message: message) }
            if first == "W" || first == "R" {
                guard tokens.count >= 2, ["GPR", "CFR", "MEM"].contains(tokens[1]) else {
                    throw fail("host line must be 'W|R GPR|CFR|MEM …', found '\(raw)'")
                }
                host += 1
                continue
            }
            guard first == "AiM" else { throw fail("expected 'AiM', 'W', 'R' or '#', found '\(first)'") }
            if sawEOC { throw fail("instruction after AiM EOC") }
            guard tokens.count >= 2, let opcode = Opcode(rawValue: tokens[1]) else {
                let known = Opcode.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail("unknown AiM opcode '\(tokens.count >= 2 ? tokens[1] : "")'; expected one of: \(known)")
            }
            let names = opcode.operands
            guard tokens.count - 2 == names.count else {
                throw fail("\(opcode.rawValue) takes \(names.count) operands (\(names.joined(separator: " "))), found \(tokens.count - 2)")
            }
            var values: [String: Int] = [:]
            for (name, token) in zip(names, tokens.dropFirst(2)) {
                let lower = token.lowercased()
                guard let value = lower.hasPrefix("0x") ? Int(lower.dropFirst(2), radix: 16) : Int(lower), value >= 0 else {
                    throw fail("\(opcode.rawValue) \(name): expected a non-negative number (decimal or 0x-hex), found '\(token)'")
                }
                values[name] = value
            }
            if let opsize = values["opsize"], opsize < 1 || opsize > 64 {
                throw fail("\(opcode.rawValue) opsize: expected 1…64 bursts, found \(opsize)")
            }
            if let mask = values["mask"], mask == 0 || mask > 0xFFFF_FFFF {
                throw fail("\(opcode.rawValue) mask: expected a non-zero 32-bit channel mask, found \(mask)")
            }
            if let bank = values["bank"], bank > 15 { throw fail("\(opcode.rawValue) bank: expected 0…15, found \(bank)") }
            instructions.append(Instruction(opcode: opcode, values: values, line: line))
            if opcode == .eoc { sawEOC = true }
        }
        guard sawEOC else { throw ParseError(file: file, line: max(1, text.split(separator: "\n").count), message: "the trace must end with AiM EOC") }
        return (instructions, host)
    }

    // MARK: Replay

    /// Channels selected by a mask: bit (31 − c) is channel c.
    func channels(of mask: Int) -> [Int] {
        (0..<min(32, channels)).filter { mask & (1 << (31 - $0)) != 0 }
    }

    /// The commands one instruction becomes on one channel, given the row open there.
    func commands(_ i: Instruction, openRow: Int32) -> [AiMCommand] {
        let v = i.values
        let opsize = v["opsize"] ?? 1
        func rowCommands(_ row: Int) -> [AiMCommand] {
            if openRow == Int32(row) { return [] }
            return (openRow >= 0 ? [AiMCommand(.prea)] : []) + [AiMCommand(.act16, row: row)]
        }
        switch i.opcode {
        case .wrGB: return (0..<opsize).map { AiMCommand(.wrgb, gbEntry: $0) }
        case .wrBias: return [AiMCommand(.wrmac16)]
        case .rdMAC, .rdAF: return [AiMCommand(.rdmac16)]
        case .af: return [AiMCommand(.af16)]
        case .macABK, .macSBK:
            let row = v["row"]!
            return rowCommands(row) + (0..<opsize).map { AiMCommand(.mac16, row: row, column: $0, gbEntry: $0) }
        case .ewmul:
            let row = v["row"]!
            return rowCommands(row) + (0..<opsize).map { AiMCommand(.ewmul16, row: row, column: $0) }
        case .wrSBK, .copyGBBK:
            let row = v["row"]!
            return rowCommands(row) + (0..<opsize).map { AiMCommand(.wr, bank: v["bank"]!, row: row, column: $0) }
        case .rdSBK, .copyBKGB:
            let row = v["row"]!
            return rowCommands(row) + (0..<opsize).map { AiMCommand(.rd, bank: v["bank"]!, row: row, column: $0) }
        case .sync, .eoc: return []
        }
    }

    public func replay(_ instructions: [Instruction], hostLines: Int = 0, record: Bool = false) -> Report {
        var engines = (0..<channels).map { ChannelEngine(table: table, record: record, channel: $0) }
        // Issue cycles of each channel's requests, for the queue-occupancy rule.
        var issued = Array(repeating: [Int64](), count: channels)
        var decode: Int64 = 0
        var previousClass: Bool?
        for instruction in instructions {
            let targets = instruction.values["mask"].map { channels(of: $0) } ?? Array(0..<channels)
            let allEnd = engines.map(\.endCycle).max() ?? 0
            if !instruction.opcode.isNeutral {
                if let previous = previousClass, previous != instruction.opcode.isRegister {
                    decode = max(decode, allEnd + Int64(table.timing.nMODCH))
                }
                previousClass = instruction.opcode.isRegister
            }
            // A request enters its channel's queue once the request `queueDepth` places ahead has issued;
            // decoding moves on only when every request of this instruction is queued.
            var lastEnqueue = decode
            for c in targets {
                for command in commands(instruction, openRow: engines[c].openRow) {
                    let k = issued[c].count
                    let enqueue = k >= queueDepth ? max(decode, issued[c][k - queueDepth] + 1) : decode
                    lastEnqueue = max(lastEnqueue, enqueue)
                    issued[c].append(engines[c].issueEarliest(command, notBefore: enqueue))
                }
            }
            decode = max(decode, lastEnqueue) + 1
            if instruction.opcode.isBlocking {
                decode = max(decode, targets.map { engines[$0].endCycle }.max() ?? decode)
            }
        }
        var counts = CommandCounts()
        for e in engines { counts = counts + CommandCounts(e.counts) }
        return Report(cycles: engines.map(\.endCycle).max() ?? 0, instructions: instructions.count, hostLines: hostLines,
                      commands: counts, channelCommands: engines.map { $0.counts.reduce(0, +) },
                      channelEnd: engines.map(\.endCycle),
                      trace: record ? engines.flatMap { $0.trace ?? [] }.sorted { ($0.cycle, $0.channel) < ($1.cycle, $1.channel) } : [])
    }
}
