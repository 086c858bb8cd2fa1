/// One line of an AiM instruction trace in the text format of the public AiM toolchain (the trace frontend
/// of arkhadem/aim_simulator): a PIM instruction (`AiM OPCODE fields…`) or a host access (`W CFR …`,
/// `R MEM …`). `AiMTraceParser` reads them, `text` writes them, `AiMTraceReplay` times them.
public struct AiMInstruction: Sendable, Hashable {
    public enum Opcode: String, Sendable, CaseIterable {
        case wrSBK = "WR_SBK", wrABK = "WR_ABK", wrGB = "WR_GB", wrBias = "WR_BIAS", wrAFLUT = "WR_AFLUT"
        case rdMAC = "RD_MAC", rdAF = "RD_AF", rdSBK = "RD_SBK", copyBKGB = "COPY_BKGB", copyGBBK = "COPY_GBBK"
        case macSBK = "MAC_SBK", macABK = "MAC_ABK", af = "AF", ewmul = "EWMUL", ewadd = "EWADD"
        case sync = "SYNC", eoc = "EOC"
        /// Host accesses: `W CFR address data`, `W GPR address`, `R GPR address`, `R CFR address data`,
        /// `R MEM channel bank row`, `W MEM channel bank row`.
        case writeCFR = "W CFR", writeGPR = "W GPR", readGPR = "R GPR", readCFR = "R CFR"
        case readMEM = "R MEM", writeMEM = "W MEM"

        public var isHostAccess: Bool {
            switch self {
            case .writeCFR, .writeGPR, .readGPR, .readCFR, .readMEM, .writeMEM: return true
            default: return false
            }
        }

        /// The fields an instruction carries, in the order the trace gives them (that toolchain decodes
        /// opsize, GPR 0, GPR 1, channel mask, bank, row, in this order, whatever the opcode).
        public var fields: [Field] {
            switch self {
            case .wrSBK, .rdSBK: return [.gpr0, .mask, .bank, .row]
            case .wrABK: return [.gpr0, .mask, .row]
            case .wrGB: return [.opsize, .gpr0, .mask]
            case .wrBias, .rdMAC, .rdAF: return [.gpr0, .mask]
            case .wrAFLUT: return [.opsize]
            case .copyBKGB, .copyGBBK, .macSBK: return [.opsize, .mask, .bank, .row]
            case .macABK, .ewmul: return [.opsize, .mask, .row]
            case .af: return [.mask]
            case .ewadd: return [.opsize, .gpr0, .gpr1]
            case .sync, .eoc: return []
            case .writeCFR, .readCFR: return [.address, .data]
            case .writeGPR, .readGPR: return [.address]
            case .readMEM, .writeMEM: return [.channel, .bank, .row]
            }
        }

        /// The decoder waits until every request of a blocking instruction has completed before it decodes
        /// the next one.
        public var isBlocking: Bool { [.rdMAC, .rdAF, .sync, .eoc].contains(self) }

        /// Register instructions run in the controller's register mode; every other request needs bank
        /// mode. Each switch is a mode change (TMOD, nMODCH cycles).
        public var needsRegisterMode: Bool { [.wrGB, .wrBias, .rdMAC, .rdAF].contains(self) }

        /// The DRAM command that finishes each request of the instruction, if it makes requests.
        public var finalCommand: AiMCommandKind? {
            switch self {
            case .wrSBK, .writeMEM: return .wr
            case .rdSBK, .readMEM: return .rd
            case .wrABK: return .wra16
            case .wrGB: return .wrgb
            case .wrBias: return .wrmac16
            case .rdMAC: return .rdmac16
            case .rdAF: return .rdaf16
            case .copyBKGB: return .rdcp
            case .copyGBBK: return .wrcp
            case .macSBK: return .mac
            case .macABK: return .mac16
            case .af: return .af16
            case .ewmul: return .ewmul16
            case .wrAFLUT, .ewadd, .sync, .eoc, .writeCFR, .writeGPR, .readGPR, .readCFR: return nil
            }
        }

        /// Single-bank reads and writes leave the AiM path: that toolchain turns them into ordinary memory
        /// requests, served by the controller's read and write queues.
        public var isMemoryAccess: Bool { [.wrSBK, .rdSBK, .readMEM, .writeMEM].contains(self) }
    }

    public enum Field: String, Sendable, CaseIterable {
        case opsize, gpr0 = "GPR", gpr1 = "GPR 1", mask = "channel mask", bank, row
        case address, data, channel
    }

    /// Field values by name (a field the opcode does not carry is nil), stored inline: the replay reads them
    /// for every instruction it decodes.
    public struct Fields: Sendable, Hashable, ExpressibleByDictionaryLiteral {
        private var opsize = -1, gpr0 = -1, gpr1 = -1, mask = -1, bank = -1, row = -1
        private var address = -1, data = -1, channel = -1

        public init(dictionaryLiteral elements: (Field, Int)...) {
            for (field, value) in elements { self[field] = value }
        }

        /// Every field but the channel mask equal.
        public func sameExceptMask(_ other: Fields) -> Bool {
            opsize == other.opsize && gpr0 == other.gpr0 && gpr1 == other.gpr1 && bank == other.bank
                && row == other.row && address == other.address && data == other.data && channel == other.channel
        }

        /// Values are non-negative; nil means absent.
        public subscript(field: Field) -> Int? {
            get {
                let v: Int
                switch field {
                case .opsize: v = opsize
                case .gpr0: v = gpr0
                case .gpr1: v = gpr1
                case .mask: v = mask
                case .bank: v = bank
                case .row: v = row
                case .address: v = address
                case .data: v = data
                case .channel: v = channel
                }
                return v < 0 ? nil : v
            }
            set {
                let v = newValue ?? -1
                switch field {
                case .opsize: opsize = v
                case .gpr0: gpr0 = v
                case .gpr1: gpr1 = v
                case .mask: mask = v
                case .bank: bank = v
                case .row: row = v
                case .address: address = v
                case .data: data = v
                case .channel: channel = v
                }
            }
        }
    }

    public var opcode: Opcode
    /// Field values; a field the opcode does not carry is absent.
    public var values: Fields
    /// Line in the trace file (0 for instructions made in memory).
    public var line: Int

    public init(_ opcode: Opcode, _ values: Fields = [:], line: Int = 0) {
        self.opcode = opcode
        self.values = values
        self.line = line
    }

    /// Requests per target channel: opsize bursts (one when the opcode has no opsize).
    public var opsize: Int { values[.opsize] ?? 1 }
    public var bank: Int { values[.bank] ?? -1 }
    public var row: Int { values[.row] ?? -1 }

    /// Channels selected by the mask: bit (31 − c) selects channel c.
    public func channels(limit: Int) -> [Int] {
        guard let mask = values[.mask] else { return [] }
        return (0..<min(32, limit)).filter { mask & (1 << (31 - $0)) != 0 }
    }

    /// The mask that selects `channels`.
    public static func mask(_ channels: some Sequence<Int>) -> Int {
        channels.reduce(0) { $0 | (1 << (31 - $1)) }
    }

    /// The trace line, e.g. `AiM MAC_ABK 8 0xffffffff 12`.
    public var text: String {
        let fields = opcode.fields.map { field -> String in
            let v = values[field] ?? 0
            return field == .mask ? "0x" + String(v, radix: 16) : String(v)
        }
        let head = opcode.isHostAccess ? opcode.rawValue : "AiM " + opcode.rawValue
        return ([head] + fields).joined(separator: " ")
    }
}
