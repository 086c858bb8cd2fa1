/// One AiM channel's command issue, cycle by cycle: every command goes out at the earliest cycle that
/// satisfies the timing table against everything issued before, at most one command per cycle on the
/// command bus. Rows open and close for all banks together (ACT16 / PREA). All-bank refresh is issued
/// every nREFI cycles (counted from the start of the stream): open rows are closed, REF runs for nRFC,
/// and the row the next command needs is opened again.
public struct ChannelEngine: Sendable {
    public let table: TimingTable
    /// Last issue cycle per command kind and bank.
    private var lastIssue: [[Int64]]
    /// Last issue cycle per command kind on any bank.
    private var lastAny: [Int64]
    private var commandBusFree: Int64 = 0
    /// The row open in all banks, or -1.
    public private(set) var openRow: Int32 = -1
    private var nextRefresh: Int64
    public let refresh: Bool
    /// When every issued command has completed.
    public private(set) var endCycle: Int64 = 0
    /// Commands issued, by kind.
    public private(set) var counts: [Int64]
    /// The issued commands, when recording.
    public private(set) var trace: [IssuedCommand]?
    public let channel: Int
    static let never: Int64 = -1 << 40

    public init(table: TimingTable, refresh: Bool = true, record: Bool = false, channel: Int = 0) {
        self.table = table
        self.refresh = refresh
        self.channel = channel
        let kinds = AiMCommandKind.allCases.count
        lastIssue = Array(repeating: Array(repeating: Self.never, count: table.banks), count: kinds)
        lastAny = Array(repeating: Self.never, count: kinds)
        counts = Array(repeating: 0, count: kinds)
        nextRefresh = Int64(table.timing.nREFI)
        trace = record ? [] : nil
    }

    /// Earliest cycle ≥ `notBefore` at which `command` satisfies every timing rule and the command bus.
    public func earliest(_ command: AiMCommand, notBefore: Int64 = 0) -> Int64 {
        var t = max(notBefore, commandBusFree)
        let bank = Int(command.bank)
        let rules = table.byFollowing
        for i in rules.range(command.kind) {
            let rule = rules.items[i]
            let last: Int64
            // lolpim's own table has no bank-group rules; one would be applied channel-wide (conservative).
            if rule.scope != .sameBank || command.kind.isAllBank || rule.other.isAllBank {
                last = lastAny[rule.other.rawValue]
            } else {
                last = lastIssue[rule.other.rawValue][bank]
            }
            t = max(t, last + rule.cycles)
        }
        return t
    }

    /// Issues `command` at `cycle` (callers pass a cycle from `earliest`). Returns the cycle.
    @discardableResult
    public mutating func issue(_ command: AiMCommand, at cycle: Int64) -> Int64 {
        let kind = command.kind.rawValue
        if command.kind.isAllBank {
            for b in 0..<table.banks { lastIssue[kind][b] = cycle }
        } else {
            lastIssue[kind][Int(command.bank)] = cycle
        }
        lastAny[kind] = cycle
        commandBusFree = cycle + 1
        counts[kind] += 1
        switch command.kind {
        case .act16: openRow = command.row
        case .prea: openRow = -1
        default: break
        }
        endCycle = max(endCycle, cycle + Int64(table.completion[kind]))
        trace?.append(IssuedCommand(cycle: cycle, channel: channel, command: command))
        return cycle
    }

    /// Issues `command` as early as possible at or after `notBefore`, refreshing first when a refresh is
    /// due. Returns the issue cycle.
    @discardableResult
    public mutating func issueEarliest(_ command: AiMCommand, notBefore: Int64 = 0) -> Int64 {
        var t = earliest(command, notBefore: notBefore)
        if refresh && t >= nextRefresh {
            if command.kind == .prea {
                // The stream closes its row anyway: that PREA serves the refresh too.
                issue(command, at: t)
                let ref = AiMCommand(.ref)
                issue(ref, at: earliest(ref, notBefore: nextRefresh))
                nextRefresh += Int64(table.timing.nREFI)
                return t
            }
            refreshNow(reopenFor: command)
            t = earliest(command, notBefore: notBefore)
        }
        return issue(command, at: t)
    }

    /// The cycle `command` would issue at, including a refresh that is due first (does not issue).
    public func projectedIssue(_ command: AiMCommand, notBefore: Int64) -> Int64 {
        let t = earliest(command, notBefore: notBefore)
        guard refresh && t >= nextRefresh else { return t }
        var copy = self
        copy.refreshNow(reopenFor: command)
        return copy.earliest(command, notBefore: notBefore)
    }

    /// PREA (if a row is open), REF, then ACT16 of the row that was open, so that the stream continues
    /// where it was. The refresh goes out as soon as it is due and the timing rules allow.
    private mutating func refreshNow(reopenFor command: AiMCommand) {
        let row = openRow
        if row >= 0 {
            let prea = AiMCommand(.prea)
            issue(prea, at: earliest(prea, notBefore: nextRefresh))
        }
        let ref = AiMCommand(.ref)
        issue(ref, at: earliest(ref, notBefore: nextRefresh))
        nextRefresh += Int64(table.timing.nREFI)
        if row >= 0 && command.kind != .act16 {
            let act = AiMCommand(.act16, row: Int(row))
            issue(act, at: earliest(act))
        }
    }
}
