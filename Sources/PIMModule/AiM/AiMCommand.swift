/// The DRAM commands of an AiM channel (docs/REFERENCE.md §3.2).
public enum AiMCommandKind: Int, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// Open one row in all 16 banks.
    case act16
    /// Close the open rows of all banks.
    case prea
    /// All-bank refresh.
    case ref
    /// Write 32 B from the HUB into a global-buffer entry (data bus).
    case wrgb
    /// All-bank MAC: each bank multiplies a 32 B column of its open row by a GB entry and accumulates.
    case mac16
    /// Read the 16 banks' MAC results (32 B) out to the HUB (data bus).
    case rdmac16
    /// Write the 16 banks' MAC registers (bias or partial sums) (data bus).
    case wrmac16
    /// Activation function on the MAC registers.
    case af16
    /// Element-wise multiply in all banks.
    case ewmul16
    /// Ordinary single-bank read and write of 32 B (data bus), e.g. appending K and V.
    case rd
    case wr
    // Commands that only the public AiM simulator's controller issues (single-bank traces, copies, mode
    // changes); the replay of its traces produces them, lolpim's own kernels do not.
    /// Open one row in one bank.
    case act
    /// Close one bank's row.
    case pre
    /// Single-bank MAC.
    case mac
    /// Copy 32 B from a bank into the global buffer, and back.
    case rdcp
    case wrcp
    /// Read the 16 banks' activation-function results (data bus).
    case rdaf16
    /// Write 32 B into all 16 banks' open rows, then close them (WR_ABK).
    case wra16
    /// Switch the controller between register and bank mode (nMODCH).
    case tmod

    public var description: String {
        switch self {
        case .act16: return "ACT16"
        case .prea: return "PREA"
        case .ref: return "REF"
        case .wrgb: return "WRGB"
        case .mac16: return "MAC16"
        case .rdmac16: return "RDMAC16"
        case .wrmac16: return "WRMAC16"
        case .af16: return "AF16"
        case .ewmul16: return "EWMUL16"
        case .rd: return "RD"
        case .wr: return "WR"
        case .act: return "ACT"
        case .pre: return "PRE"
        case .mac: return "MAC"
        case .rdcp: return "RDCP"
        case .wrcp: return "WRCP"
        case .rdaf16: return "RDAF16"
        case .wra16: return "WRA16"
        case .tmod: return "TMOD"
        }
    }

    /// Commands that act on all 16 banks at once.
    public var isAllBank: Bool {
        switch self {
        case .rd, .wr, .act, .pre, .mac, .rdcp, .wrcp: return false
        default: return true
        }
    }

    /// Commands that move data over the channel's external data bus for nBL cycles.
    public var usesDataBus: Bool {
        switch self {
        case .wrgb, .rdmac16, .wrmac16, .rd, .wr, .rdaf16, .wra16: return true
        default: return false
        }
    }

    /// The I/O class (buffer transfers: WR-INP and RD-OUT) as opposed to the compute class (row and MAC work).
    public var isIO: Bool { usesDataBus }
}

/// One command of a channel's stream. Fields that do not apply are -1.
public struct AiMCommand: Sendable, Hashable {
    public var kind: AiMCommandKind
    /// Target bank for single-bank commands; -1 for all-bank commands.
    public var bank: Int16
    public var row: Int32
    public var column: Int16
    /// Global-buffer entry written (WRGB) or read (MAC16).
    public var gbEntry: Int16
    /// Output-buffer entry accumulated into (MAC16) or drained (RDMAC16).
    public var obufEntry: Int16

    public init(
        _ kind: AiMCommandKind, bank: Int = -1, row: Int = -1, column: Int = -1, gbEntry: Int = -1,
        obufEntry: Int = -1
    ) {
        self.kind = kind
        self.bank = Int16(bank)
        self.row = Int32(row)
        self.column = Int16(column)
        self.gbEntry = Int16(gbEntry)
        self.obufEntry = Int16(obufEntry)
    }
}

/// A command with the cycle it issued at, on one channel: a line of a command trace.
public struct IssuedCommand: Sendable, Hashable {
    public var cycle: Int64
    public var channel: Int
    public var command: AiMCommand

    public init(cycle: Int64, channel: Int, command: AiMCommand) {
        self.cycle = cycle
        self.channel = channel
        self.command = command
    }

    /// `cycle channel COMMAND bank row column gb obuf`, -1 for fields that do not apply.
    public var traceLine: String {
        let c = command
        return "\(cycle) \(channel) \(c.kind) \(c.bank) \(c.row) \(c.column) \(c.gbEntry) \(c.obufEntry)"
    }
}
