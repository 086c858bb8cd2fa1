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
        // last[kind][bank] for each bank; the extra last index holds the latest on any bank.
        let any = table.banks
        var last = [AiMCommandKind: [Int64?]]()
        for kind in AiMCommandKind.allCases { last[kind] = Array(repeating: nil, count: any + 1) }
        var previousCycle: Int64?
        var rowOpen = false
        for issued in commands {
            let c = issued.command
            func report(_ message: String) {
                violations.append(Violation(cycle: issued.cycle, channel: channel, command: c.kind, message: message))
            }
            if let p = previousCycle, p == issued.cycle { report("two commands in cycle \(p) on one command bus") }
            previousCycle = issued.cycle
            for rule in table.rules where rule.following == c.kind {
                let bankSlot = (rule.scope == .channel || c.kind.isAllBank || rule.preceding.isAllBank) ? any : Int(c.bank)
                if let t = last[rule.preceding]![bankSlot], issued.cycle - t < Int64(rule.cycles) {
                    report("\(issued.cycle - t) cycles after \(rule.preceding) at \(t); \(rule) requires \(rule.cycles)")
                }
            }
            switch c.kind {
            case .act16:
                if rowOpen { report("ACT16 while a row is open (PREA first)") }
                rowOpen = true
            case .prea:
                rowOpen = false
            case .ref:
                if rowOpen { report("REF while a row is open") }
            case .mac16, .af16, .ewmul16, .rd, .wr:
                if !rowOpen { report("\(c.kind) with no open row") }
            case .wrgb, .rdmac16, .wrmac16:
                break
            }
            if c.kind.isAllBank {
                for b in 0..<any { last[c.kind]![b] = issued.cycle }
            } else {
                last[c.kind]![Int(c.bank)] = issued.cycle
            }
            last[c.kind]![any] = issued.cycle
        }
        return violations
    }
}
