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

    /// Field values by name (a field the opcode does not carry is nil), stored inline as the trace format's
    /// 32-bit numbers with a bit per field that is present: the replay reads them for every instruction it
    /// decodes, and CENT's programs hold millions of instructions (44 bytes each, not 88 with `Int`s).
    public struct Fields: Sendable, Hashable, ExpressibleByDictionaryLiteral {
        private var opsize: UInt32 = 0, gpr0: UInt32 = 0, gpr1: UInt32 = 0, mask: UInt32 = 0, bank: UInt32 = 0
        private var row: UInt32 = 0, address: UInt32 = 0, data: UInt32 = 0, channel: UInt32 = 0
        /// Bit `i` set when the field of index i (`Field.allCases` order) is present.
        private var present: UInt16 = 0

        public init(dictionaryLiteral elements: (Field, Int)...) {
            for (field, value) in elements { self[field] = value }
        }

        /// No field present.
        public init() {}

        /// Every field but the channel mask equal.
        public func sameExceptMask(_ other: Fields) -> Bool {
            var a = self, b = other
            a[.mask] = nil
            b[.mask] = nil
            return a == b
        }

        private static func bit(_ field: Field) -> UInt16 {
            switch field {
            case .opsize: 1
            case .gpr0: 2
            case .gpr1: 4
            case .mask: 8
            case .bank: 16
            case .row: 32
            case .address: 64
            case .data: 128
            case .channel: 256
            }
        }

        /// Values are 0 to `UInt32.max`, as a trace line's fields (`AiMTraceParser.maxField`); nil means absent.
        /// Setting a value outside that range is a programming error.
        public subscript(field: Field) -> Int? {
            get {
                guard present & Self.bit(field) != 0 else { return nil }
                switch field {
                case .opsize: return Int(opsize)
                case .gpr0: return Int(gpr0)
                case .gpr1: return Int(gpr1)
                case .mask: return Int(mask)
                case .bank: return Int(bank)
                case .row: return Int(row)
                case .address: return Int(address)
                case .data: return Int(data)
                case .channel: return Int(channel)
                }
            }
            set {
                let v: UInt32
                if let newValue {
                    precondition((0...Int(UInt32.max)).contains(newValue), "an AiM field holds 32 bits: \(newValue)")
                    v = UInt32(newValue)
                    present |= Self.bit(field)
                } else {
                    v = 0
                    present &= ~Self.bit(field)
                }
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
    /// Line in the trace file (0 for instructions made in memory; a line past 2^32 − 1 is kept as that).
    public var line: Int {
        get { Int(storedLine) }
        set { storedLine = UInt32(clamping: newValue) }
    }
    private var storedLine: UInt32

    public init(_ opcode: Opcode, _ values: Fields = [:], line: Int = 0) {
        self.opcode = opcode
        self.values = values
        storedLine = UInt32(clamping: line)
    }

    /// A host access to one bank's row (`R MEM` or `W MEM channel bank row`), made without the dictionary
    /// literal's array: CENT's score moves make millions of them.
    public init(memory opcode: Opcode, channel: Int, bank: Int, row: Int) {
        var values = Fields()
        values[.channel] = channel
        values[.bank] = bank
        values[.row] = row
        self.init(opcode, values)
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
