/// The timing constraints of an AiM channel as data, in the style of Ramulator 2: each rule says "after
/// command A, command B waits at least N cycles", at the scope of one bank or the whole channel.
/// All-bank commands (ACT16, PREA, MAC16, …) touch every bank, so a same-bank rule between an all-bank
/// command and any other command always applies.
public struct TimingTable: Sendable {
    public enum Scope: Sendable, Hashable, CustomStringConvertible {
        case sameBank
        /// The bank group of the preceding command's bank (`banksPerGroup` consecutive banks); only rules
        /// between single-bank commands use it.
        case bankGroup
        case channel
        public var description: String {
            switch self {
            case .sameBank: return "same bank"
            case .bankGroup: return "same bank group"
            case .channel: return "channel"
            }
        }
    }

    public struct Rule: Sendable, Hashable, CustomStringConvertible {
        public var preceding: AiMCommandKind
        public var following: AiMCommandKind
        public var scope: Scope
        public var cycles: Int
        /// Where the number comes from, e.g. "nRCDRDMAC".
        public var source: String

        public var description: String { "\(preceding) → \(following) ≥ \(cycles) (\(source), \(scope))" }
    }

    /// The rules grouped by one of their two commands, as inner loops read them: without the rule's name (a
    /// string, reference-counted at every copy), in one flat array. The rules of kind k are
    /// `items[start[k] ..< start[k + 1]]`; each item names the rule's other command.
    struct RuleIndex: Sendable {
        struct Item: Sendable {
            var other: AiMCommandKind
            var scope: Scope
            var cycles: Int64
        }
        let items: [Item]
        let start: [Int]

        init(_ rules: [Rule], key: (Rule) -> AiMCommandKind, other: (Rule) -> AiMCommandKind) {
            var items: [Item] = [], start: [Int] = []
            for kind in AiMCommandKind.allCases {
                start.append(items.count)
                items += rules.filter { key($0) == kind }.map {
                    Item(
                        other: other($0), scope: $0.scope,
                        cycles: Int64($0.cycles))
                }
            }
            self.items = items
            self.start = start + [items.count]
        }

        /// The positions in `items` of kind `kind`'s rules.
        @inline(__always)
        func range(_ kind: AiMCommandKind) -> Range<Int> { start[kind.rawValue]..<start[kind.rawValue + 1] }
    }

    public let rules: [Rule]
    /// Rules by following command (`other`: the preceding one), for the engine's inner loop.
    let byFollowing: RuleIndex
    /// Rules by preceding command (`other`: the following one), for the AiM controller model.
    let byPreceding: RuleIndex
    /// Cycles after issue until a command's effect is complete (data written, result readable, bank closed).
    public let completion: [Int]
    public let timing: AiMTiming
    /// Banks per channel: all-bank commands act on this many banks.
    public let banks: Int
    /// Banks per bank group (GDDR6: 4 groups of 4).
    public let banksPerGroup: Int

    public init(rules: [Rule], timing: AiMTiming, banks: Int = 16, banksPerGroup: Int = 4) {
        self.rules = rules
        self.timing = timing
        self.banks = banks
        self.banksPerGroup = max(1, banksPerGroup)
        byFollowing = RuleIndex(rules, key: \.following, other: \.preceding)
        byPreceding = RuleIndex(rules, key: \.preceding, other: \.following)
        let t = timing
        completion = AiMCommandKind.allCases.map { kind in
            switch kind {
            case .act16: return t.nRCDRDMAC
            case .prea: return t.nRP
            case .ref: return t.nRFC
            case .wrgb: return t.nCWLGB + t.nBL
            case .mac16, .af16, .ewmul16: return t.nCCDL
            case .rdmac16: return t.nCLREG + t.nBL
            case .wrmac16: return t.nCWLREG + t.nBL
            case .rd: return t.nCL + t.nBL
            case .wr: return t.nCWL + t.nBL
            case .act: return t.nRCDRD
            case .pre: return t.nRP
            case .mac, .rdcp, .wrcp: return 1
            case .rdaf16: return t.nCLREG + t.nBL
            case .wra16: return t.nCWL + t.nBL + t.nRP
            case .tmod: return t.nMODCH
            }
        }
    }

    /// The constraints of docs/REFERENCE.md §3.3–3.4 for a timing preset.
    public static func aim(_ t: AiMTiming, banks: Int = 16) -> TimingTable {
        var rules: [Rule] = []
        func add(_ a: AiMCommandKind, _ b: AiMCommandKind, _ n: Int, _ source: String, _ scope: Scope = .sameBank) {
            rules.append(Rule(preceding: a, following: b, scope: scope, cycles: n, source: source))
        }
        // Opening a row.
        add(.act16, .mac16, t.nRCDRDMAC, "nRCDRDMAC")
        add(.act16, .af16, t.nRCDRDAF, "nRCDRDAF")
        add(.act16, .ewmul16, t.nRCDEWMUL, "nRCDEWMUL")
        add(.act16, .rd, t.nRCDRD, "nRCDRD")
        add(.act16, .wr, t.nRCDWR, "nRCDWR")
        add(.act16, .act16, t.nRC, "nRC")
        add(.act16, .act16, t.nRRDL, "nRRDL", .channel)
        add(.act16, .prea, t.nRAS, "nRAS")
        // Closing rows and refresh.
        add(.prea, .act16, t.nRP, "nRP")
        add(.prea, .ref, t.nRP, "nRP")
        add(.ref, .act16, t.nRFC, "nRFC")
        add(.ref, .ref, t.nRFC, "nRFC")
        // Column commands on the open rows.
        for a in [AiMCommandKind.mac16, .af16, .ewmul16] {
            for b in [AiMCommandKind.mac16, .rdmac16, .ewmul16, .af16] { add(a, b, t.nCCDL, "nCCDL") }
            add(a, .prea, t.nRTP, "nRTP")
        }
        add(.rd, .rd, t.nCCDL, "nCCDL")
        add(.rd, .rd, t.nCCDS, "nCCDS", .channel)
        add(.wr, .wr, t.nCCDL, "nCCDL")
        add(.wr, .wr, t.nCCDS, "nCCDS", .channel)
        add(.rd, .prea, t.nRTP, "nRTP")
        add(.wr, .prea, t.nCWL + t.nBL + t.nWR, "nCWL+nBL+nWR")
        add(.wr, .rd, t.nCWL + t.nBL + t.nWTRL, "nCWL+nBL+nWTRL")
        add(.wr, .rd, t.nCWL + t.nBL + t.nWTRS, "nCWL+nBL+nWTRS", .channel)
        add(.rd, .wr, t.nCL + t.nBL + 2 - t.nCWL, "nCL+nBL+2-nCWL", .channel)
        // The external data bus carries one burst (nBL cycles) at a time.
        let bus = AiMCommandKind.allCases.filter(\.usesDataBus)
        for a in bus { for b in bus { add(a, b, t.nBL, "nBL (data bus)", .channel) } }
        return TimingTable(rules: rules, timing: t, banks: banks)
    }

    public static let gddr6AiM = TimingTable.aim(.gddr6AiM)

    /// The table of a module's channels.
    public static func of(_ module: ModuleConfig) -> TimingTable { aim(module.timing, banks: module.banksPerChannel) }
}
