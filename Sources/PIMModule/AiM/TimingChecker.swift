/// Replays a command trace against a timing table and reports every violated constraint: the legality check
/// of Ramulator 2's test layers. It shares nothing with the engine but the table: it walks the trace in cycle
/// order and compares each command with the latest earlier command of every kind, per bank and per channel.
public struct TimingChecker: Sendable {
    public let table: TimingTable

    public init(table: TimingTable) { self.table = table }

    public struct Violation: Sendable, CustomStringConvertible, Equatable {
        public var cycle: Int64
        public var channel: Int
        public var command: AiMCommandKind
        public var message: String
        public var description: String { "cycle \(cycle), channel \(channel), \(command): \(message)" }
    }

    /// Every violation in `trace` (commands of several channels may be mixed; each channel is checked alone).
    public func check(_ trace: [IssuedCommand]) -> [Violation] {
        var violations: [Violation] = []
        for (channel, commands) in Dictionary(grouping: trace, by: \.channel).sorted(by: { $0.key < $1.key }) {
            violations += check(channel: channel, commands.sorted { $0.cycle < $1.cycle })
        }
        return violations
    }

    private func check(channel: Int, _ commands: [IssuedCommand]) -> [Violation] {
        var violations: [Violation] = []
        // last[kind][slot]: slots 0..<banks per bank, then one per bank group, then the latest on any bank.
        let groups = (table.banks + table.banksPerGroup - 1) / table.banksPerGroup
        let any = table.banks + groups
        var last = [AiMCommandKind: [Int64?]]()
        for kind in AiMCommandKind.allCases { last[kind] = Array(repeating: nil, count: any + 1) }
        var previousCycle: Int64?
        // Open row per bank (-1: closed).
        var open = Array(repeating: Int32(-1), count: table.banks)
        for issued in commands {
            let c = issued.command
            func report(_ message: String) {
                violations.append(Violation(cycle: issued.cycle, channel: channel, command: c.kind, message: message))
            }
            if let p = previousCycle, p == issued.cycle { report("two commands in cycle \(p) on one command bus") }
            previousCycle = issued.cycle
            let bank = Int(c.bank)
            for rule in table.rules where rule.following == c.kind {
                let slot: Int
                if rule.scope == .channel || c.kind.isAllBank || rule.preceding.isAllBank {
                    slot = any
                } else if rule.scope == .bankGroup {
                    slot = table.banks + bank / table.banksPerGroup
                } else {
                    slot = bank
                }
                if let t = last[rule.preceding]![slot], issued.cycle - t < Int64(rule.cycles) {
                    report(
                        "\(issued.cycle - t) cycles after \(rule.preceding) at \(t); \(rule) requires "
                            + "\(rule.cycles)")
                }
            }
            switch c.kind {
            case .act16:
                if open.contains(where: { $0 >= 0 && $0 != c.row }) {
                    report("ACT16 while another row is open (PREA first)")
                }
                open = Array(repeating: c.row, count: table.banks)
            case .act:
                if open[bank] >= 0 { report("ACT of bank \(bank) while a row is open (PRE first)") }
                open[bank] = c.row
            case .prea, .wra16:
                if c.kind == .wra16, let closed = open.firstIndex(of: -1) {
                    report("WRA16 with no open row in bank \(closed)")
                }
                open = Array(repeating: -1, count: table.banks)
            case .pre:
                open[bank] = -1
            case .ref:
                if open.contains(where: { $0 >= 0 }) { report("REF while a row is open") }
            case .mac16, .af16, .ewmul16:
                if let closed = open.firstIndex(of: -1) { report("\(c.kind) with no open row in bank \(closed)") }
            case .rd, .wr, .mac, .rdcp, .wrcp:
                if open[bank] < 0 { report("\(c.kind) with no open row in bank \(bank)") }
            case .wrgb, .rdmac16, .wrmac16, .rdaf16, .tmod:
                break
            }
            if c.kind.isAllBank {
                for b in 0..<any { last[c.kind]![b] = issued.cycle }
            } else {
                last[c.kind]![bank] = issued.cycle
                last[c.kind]![table.banks + bank / table.banksPerGroup] = issued.cycle
            }
            last[c.kind]![any] = issued.cycle
        }
        return violations
    }
}
