/// One channel's controller and DRAM state under the public AiM simulator's rules (its `AiM` controller
/// over the GDDR6 device), advanced one command-clock cycle at a time by `AiMTraceReplay`:
/// - AiM requests wait in one in-order queue (`queueCapacity` entries); only its head may issue. Ordinary
///   memory requests (single-bank reads and writes) wait in a read and a write queue served first-ready,
///   first-come (FR-FCFS), with write-drain watermarks; the two kinds never share the controller (a request
///   is refused while the other kind is queued).
/// - Each cycle at most one command issues: the head request's next command (PREA / ACT16 / PRE / ACT
///   before the final one when its rows are not open), once every timing rule allows it. If the request
///   needs the other mode (register vs bank), a mode change (TMOD) issues in its place.
/// - A finished request departs after its command latency; completed reads (and blocking AiM requests)
///   leave one per cycle, in order; EOC and SYNC leave only when no write is still in flight.
/// - Refresh (lolpim's model, off to reproduce that simulator): every nREFI cycles an all-bank refresh
///   request takes priority; it needs bank mode and all rows closed (PREA first).
struct AiMChannelController {
    /// A request as the controller holds it.
    struct Request {
        enum Kind { case aim, read, write, refresh, endMarker }
        var kind: Kind
        var final: AiMCommandKind
        var bank: Int
        var row: Int
        var needsRegisterMode: Bool
        /// Its completion is reported to the decoder (blocking instructions).
        var notifies: Bool
        var arrive: Int64 = 0
        /// The command it needs next (set by scheduling).
        var next: AiMCommandKind = .tmod
    }

    struct Completion {
        var depart: Int64
        var isEndMarker: Bool
        var notifies: Bool
    }

    let table: TimingTable
    let channel: Int
    let refresh: Bool
    /// Requests a queue holds (that simulator admits while fewer than 33 wait).
    static let queueCapacity = 33
    /// Write-drain watermarks of the read/write queues (fractions of 32 entries).
    static let writeHigh = 0.8 * 32, writeLow = 0.2 * 32

    private(set) var clock: Int64 = 0
    /// The AiM queue, a ring of `queueCapacity` slots: `aimCount` requests from `aimHead`.
    private var aim: [Request]
    private var aimHead = 0, aimCount = 0
    private var reads: [Request] = []
    private var writes: [Request] = []
    /// Memory requests whose row has been opened for them.
    private var active: [Request] = []
    private var priority: [Request] = []
    private var pendingReads: [Completion] = []
    private var pendingReadHead = 0
    /// Requests that do not report back (writes, non-blocking AiM commands) are in flight until they depart.
    /// Departures retire by threshold (every one up to a cycle at once), so two numbers say all that is needed:
    /// the latest departure issued and the cycle up to which departures have retired.
    private var lastWriteDepart: Int64 = .min
    private var writesRetiredThrough: Int64 = .min
    private var writesInFlight: Bool { lastWriteDepart > writesRetiredThrough }
    private var registerMode = false
    private var writeMode = false
    private var nextRefresh: Int64
    /// Open row per bank, -1 when closed.
    private var openRow: [Int]
    /// The row open in every bank, -1 when every bank is closed, -2 otherwise (mixed, after single-bank
    /// commands): all-bank commands decide their prerequisite from it.
    private var commonRow = -1
    /// Earliest cycle per command kind: channel-wide, per bank group, per bank.
    private var channelReady: [Int64]
    /// Flat, indexed `group * kinds + kind` and `bank * kinds + kind` (nested arrays cost a uniqueness check
    /// per level on every write).
    private var groupReady: [Int64]
    private var bankReady: [Int64]
    /// The latest cycle written into `groupReady` or `bankReady` (single-bank commands only).
    private var bankTimingUntil: Int64 = .min
    private let kinds: Int
    /// Rules indexed by the preceding command.
    private let byPreceding: TimingTable.RuleIndex

    private(set) var counts: [Int64]
    private(set) var issuedCommands = 0
    /// Commands issued to each bank on its own, and to all banks at once (the fast-forward's untouched banks).
    private var bankCommands: [Int]
    private var allBankCommands = 0
    /// Cycle at which the last command completes (issue + latency), for reports.
    private(set) var busyUntil: Int64 = 0
    var trace: [IssuedCommand]?

    init(table: TimingTable, channel: Int, refresh: Bool, record: Bool) {
        self.table = table
        self.channel = channel
        self.refresh = refresh
        let kinds = AiMCommandKind.allCases.count
        let groups = (table.banks + table.banksPerGroup - 1) / table.banksPerGroup
        channelReady = Array(repeating: .min, count: kinds)
        self.kinds = kinds
        groupReady = Array(repeating: .min, count: groups * kinds)
        bankReady = Array(repeating: .min, count: table.banks * kinds)
        openRow = Array(repeating: -1, count: table.banks)
        bankCommands = Array(repeating: 0, count: table.banks)
        byPreceding = table.byPreceding
        aim = Array(
            repeating: Request(
                kind: .endMarker, final: .tmod, bank: -1, row: -1, needsRegisterMode: false,
                notifies: false), count: Self.queueCapacity)
        counts = Array(repeating: 0, count: kinds)
        nextRefresh = Int64(table.timing.nREFI)
        trace = record ? [] : nil
    }

    /// Nothing queued, in flight or due.
    var isIdle: Bool {
        aimCount == 0 && reads.isEmpty && writes.isEmpty && active.isEmpty && priority.isEmpty
            && pendingReadHead == pendingReads.count && !writesInFlight
    }

    /// The earliest cycle at which `tick` can change anything, assuming no new request arrives: the head
    /// request's next command becomes ready, a completion is due or a refresh falls due. Lets the replay skip
    /// cycles in which nothing happens anywhere. Memory requests (FR-FCFS) are not projected: then the next
    /// cycle. `Int64.max` when nothing is due (an idle controller without refresh).
    func nextEvent(now: Int64) -> Int64 {
        let soon = now + 1
        guard reads.isEmpty && writes.isEmpty && active.isEmpty && priority.isEmpty else { return soon }
        var t = refresh ? max(nextRefresh, soon) : Int64.max
        if pendingReadHead < pendingReads.count {
            let first = pendingReads[pendingReadHead]
            var due = first.depart
            if first.isEndMarker, writesInFlight { due = max(due, lastWriteDepart + 1) }
            t = min(t, max(due, soon))
        }
        if aimCount > 0 {
            let head = aim[aimHead]
            if head.kind == .endMarker { return soon }
            let next = prerequisite(head)
            let k = next.rawValue
            var ready = channelReady[k]
            if head.bank >= 0 && !next.isAllBank {
                ready = max(
                    ready, groupReady[head.bank / table.banksPerGroup * kinds + k],
                    bankReady[head.bank * kinds + k])
            }
            t = min(t, max(ready, soon))
        }
        return t
    }

    // MARK: Accepting requests

    /// Offers a request in cycle `now` (before this cycle's tick); false when the controller cannot take it.
    mutating func send(_ request: Request, now: Int64) -> Bool {
        clock = now
        var r = request
        r.arrive = clock
        switch r.kind {
        case .aim, .endMarker:
            guard reads.isEmpty && writes.isEmpty, aimCount < Self.queueCapacity else { return false }
            aim[(aimHead + aimCount) % Self.queueCapacity] = r
            aimCount += 1
        case .read:
            guard aimCount == 0 else { return false }
            // That simulator forwards a read from any queued write (memory requests carry no address).
            if !writes.isEmpty {
                pendingReads.append(Completion(depart: clock + 1, isEndMarker: false, notifies: r.notifies))
                return true
            }
            guard reads.count < Self.queueCapacity else { return false }
            reads.append(r)
        case .write:
            guard aimCount == 0, writes.count < Self.queueCapacity else { return false }
            writes.append(r)
        case .refresh:
            priority.append(r)
        }
        return true
    }

    // MARK: One cycle

    /// The controller's work in cycle `cycle`; returns how many notifying requests completed (0 or 1).
    /// Cycles in which nothing can happen (`nextEvent`, or an idle controller without refresh) may be left
    /// out: the state it keeps depends only on the cycles at which something happened.
    mutating func tick(at cycle: Int64) -> Int {
        clock = cycle
        if isIdle && !(refresh && clock == nextRefresh) { return 0 }
        var notified = 0
        // Writes that earlier ticks would have retired.
        writesRetiredThrough = max(writesRetiredThrough, clock - 1)
        if pendingReadHead < pendingReads.count {
            let first = pendingReads[pendingReadHead]
            if first.depart <= clock && (!first.isEndMarker || !writesInFlight) {
                pendingReadHead += 1
                if first.notifies { notified = 1 }
                if pendingReadHead == pendingReads.count {
                    pendingReads.removeAll(keepingCapacity: true)
                    pendingReadHead = 0
                }
            }
        }
        writesRetiredThrough = clock
        if refresh && clock == nextRefresh {
            nextRefresh += Int64(table.timing.nREFI)
            priority.append(
                Request(
                    kind: .refresh, final: .ref, bank: -1, row: -1, needsRegisterMode: false,
                    notifies: false))
        }
        schedule()
        return notified
    }

    /// `tick`, then `nextEvent` after it. One mutating call, so that a controller held in an array is used in
    /// place (a non-mutating call through an array's subscript copies the whole controller out).
    mutating func tickAndProject(at cycle: Int64) -> (notified: Int, next: Int64) {
        let notified = tick(at: cycle)
        return (notified, nextEvent(now: cycle))
    }

    private enum Source { case active, priority, aim, reads, writes }

    private mutating func schedule() {
        var source: Source?
        var index = 0
        if !active.isEmpty {
            // Taken out and put back (`swap`), not copied: a copy would make the writes below copy the array.
            var queue: [Request] = []
            swap(&queue, &active)
            if let i = bestReady(in: &queue), ready(queue[i].next, bank: queue[i].bank) {
                source = .active
                index = i
            }
            swap(&queue, &active)
        }
        if source == nil, !priority.isEmpty {
            // Computed before the write: reading `self` inside a write to one of its arrays copies it.
            let next = prerequisite(priority[0])
            priority[0].next = next
            guard ready(priority[0].next, bank: -1) else { return }
            source = .priority
        }
        if source == nil {
            if aimCount > 0 {
                if aim[aimHead].kind == .endMarker {
                    let marker = aim[aimHead]
                    popAiM()
                    pendingReads.append(Completion(depart: clock, isEndMarker: true, notifies: marker.notifies))
                    return
                }
                let next = prerequisite(aim[aimHead])
                aim[aimHead].next = next
                guard ready(aim[aimHead].next, bank: aim[aimHead].bank) else { return }
                source = .aim
                index = aimHead
            } else {
                updateWriteMode()
                var queue: [Request] = []
                if writeMode { swap(&queue, &writes) } else { swap(&queue, &reads) }
                if let i = bestReady(in: &queue), ready(queue[i].next, bank: queue[i].bank) {
                    source = writeMode ? .writes : .reads
                    index = i
                }
                if writeMode { swap(&queue, &writes) } else { swap(&queue, &reads) }
            }
        }
        guard let source else { return }
        var request: Request
        switch source {
        case .active: request = active[index]
        case .priority: request = priority[index]
        case .aim: request = aim[index]
        case .reads: request = reads[index]
        case .writes: request = writes[index]
        }
        // A precharge may not close a bank whose row was just opened for a waiting memory request.
        if request.next == .pre || request.next == .prea {
            let bank = request.next == .prea ? -1 : request.bank
            if active.contains(where: { $0.bank == bank }) { return }
        }
        var command = request.next
        let needsRegister = request.kind == .aim && request.needsRegisterMode
        if needsRegister != registerMode {
            command = .tmod
            registerMode.toggle()
        }
        issue(command, bank: command == .tmod ? -1 : request.bank, row: request.row)
        if command == request.final {
            let depart = clock + table.aimSimulatorLatency(command)
            busyUntil = max(busyUntil, depart)
            let reader = request.kind == .read || (request.kind == .aim && request.notifies)
            if reader {
                pendingReads.append(Completion(depart: depart, isEndMarker: false, notifies: request.notifies))
            } else {
                lastWriteDepart = max(lastWriteDepart, depart)
            }
            remove(source, index)
        } else if (request.kind == .read || request.kind == .write) && command == .act {
            remove(source, index)
            active.append(request)
        }
    }

    private mutating func remove(_ source: Source, _ index: Int) {
        switch source {
        case .active: active.remove(at: index)
        case .priority: priority.remove(at: index)
        case .aim: popAiM()
        case .reads: reads.remove(at: index)
        case .writes: writes.remove(at: index)
        }
    }

    private mutating func popAiM() {
        aimHead = (aimHead + 1) % Self.queueCapacity
        aimCount -= 1
    }

    private mutating func updateWriteMode() {
        if !writeMode {
            if Double(writes.count) > Self.writeHigh || reads.isEmpty { writeMode = true }
        } else if Double(writes.count) < Self.writeLow && !reads.isEmpty {
            writeMode = false
        }
    }

    /// FR-FCFS: the oldest request whose next command is ready, else the oldest (ties: queue order).
    @inline(__always)
    private func bestReady(in queue: inout [Request]) -> Int? {
        guard !queue.isEmpty else { return nil }
        for i in queue.indices { queue[i].next = prerequisite(queue[i]) }
        var best = 0
        var bestReady = ready(queue[0].next, bank: queue[0].bank)
        for i in queue.indices.dropFirst() {
            let r = ready(queue[i].next, bank: queue[i].bank)
            if r != bestReady {
                if r { best = i; bestReady = true }
            } else if queue[i].arrive < queue[best].arrive {
                best = i
            }
        }
        return best
    }

    // MARK: Device state

    /// The command a request needs next, given the open rows.
    @inline(__always)
    func prerequisite(_ r: Request) -> AiMCommandKind {
        switch r.final {
        case .ref:
            return commonRow == -1 || !openRow.contains { $0 >= 0 } ? .ref : .prea
        case .wra16, .mac16, .af16, .ewmul16:
            if commonRow == r.row { return r.final }
            if commonRow == -1 { return .act16 }
            if openRow.contains(where: { $0 >= 0 && $0 != r.row }) { return .prea }
            return openRow.contains(-1) ? .act16 : r.final
        case .rd, .wr, .rdcp, .wrcp, .mac:
            let open = openRow[r.bank]
            if open < 0 { return .act }
            return open == r.row ? r.final : .pre
        default:
            return r.final
        }
    }

    @inline(__always)
    func ready(_ kind: AiMCommandKind, bank: Int) -> Bool {
        let k = kind.rawValue
        guard channelReady[k] <= clock else { return false }
        guard bank >= 0 && !kind.isAllBank else { return true }
        return groupReady[bank / table.banksPerGroup * kinds + k] <= clock && bankReady[bank * kinds + k] <= clock
    }

    private mutating func issue(_ kind: AiMCommandKind, bank: Int, row: Int) {
        let singleBank = bank >= 0 && !kind.isAllBank
        for i in byPreceding.range(kind) {
            let rule = byPreceding.items[i]
            let t = clock + rule.cycles, f = rule.other.rawValue
            switch rule.scope {
            case .channel: channelReady[f] = max(channelReady[f], t)
            case .bankGroup where singleBank:
                let g = bank / table.banksPerGroup
                groupReady[g * kinds + f] = max(groupReady[g * kinds + f], t)
                bankTimingUntil = max(bankTimingUntil, t)
            case .sameBank where singleBank:
                bankReady[bank * kinds + f] = max(bankReady[bank * kinds + f], t)
                bankTimingUntil = max(bankTimingUntil, t)
            default: break
            }
        }
        switch kind {
        case .act16:
            for b in openRow.indices { openRow[b] = row }
            commonRow = row
        case .prea, .wra16:
            for b in openRow.indices { openRow[b] = -1 }
            commonRow = -1
        case .act, .pre:
            openRow[bank] = kind == .act ? row : -1
            commonRow = openRow.allSatisfy { $0 == openRow[0] } ? openRow[0] : -2
        default: break
        }
        counts[kind.rawValue] += 1
        issuedCommands += 1
        if singleBank { bankCommands[bank] += 1 } else { allBankCommands += 1 }
        busyUntil = max(busyUntil, clock + 1)
        trace?.append(
            IssuedCommand(
                cycle: clock, channel: channel,
                command: AiMCommand(kind, bank: singleBank ? bank : -1, row: row)))
    }
}

// MARK: Steady state (`ReplayFastForward`)

extension AiMChannelController {
    /// Appends to `out` what decides this controller's behaviour from cycle `now` on (every later tick and
    /// every request it accepts), with times relative to `now` and rows relative to `rowBase`; false (and
    /// `out` as it was) when the replay refreshes or records its trace, which the fast-forward leaves alone.
    /// What is left out cannot change what happens: a ready time at or before `now` is as good as any other
    /// past time (every rule compares `ready <= clock` with clock > now, and every update takes a maximum with a
    /// later time), a departure at or before `now` leaves at the next tick whatever its value, a request's
    /// `next` is recomputed before it is used, an AiM request's arrival is never read (a memory request's is,
    /// by FR-FCFS, so it is kept exactly, past or not), and counts, `busyUntil` and the trace only report.
    /// Bank and bank-group ready times are written out only while one of them lies ahead of `now`. The banks' open
    /// rows are not in it but in `appendBanks` (whether they are all one row, none open or differ is).
    func appendSignature(to out: inout [Int64], now: Int64, rowBase: Int) -> Bool {
        guard !refresh, trace == nil else { return false }
        func relative(_ t: Int64) -> Int64 { t <= now ? 0 : t - now }
        func row(_ r: Int) -> Int64 { r < 0 ? Int64(r) - (1 << 40) : Int64(r - rowBase) }
        out.append((registerMode ? 1 : 0) + (writeMode ? 2 : 0))
        out.append(commonRow < 0 ? Int64(commonRow) : -3)
        for t in channelReady { out.append(relative(t)) }
        if bankTimingUntil > now {
            out.append(1)
            for t in groupReady { out.append(relative(t)) }
            for t in bankReady { out.append(relative(t)) }
        } else {
            out.append(0)
        }
        out.append(lastWriteDepart > writesRetiredThrough ? 1 + relative(lastWriteDepart) : 0)
        out.append(Int64(pendingReads.count - pendingReadHead))
        for c in pendingReads[pendingReadHead...] {
            out.append(relative(c.depart) * 4 + (c.isEndMarker ? 2 : 0) + (c.notifies ? 1 : 0))
        }
        out.append(Int64(aimCount))
        for i in 0..<aimCount {
            let r = aim[(aimHead + i) % Self.queueCapacity]
            let kind: Int64
            switch r.kind {
            case .aim: kind = 0
            case .endMarker: kind = 1
            case .read, .write, .refresh: return false
            }
            out.append(kind + Int64(r.final.rawValue) * 2 + (r.needsRegisterMode ? 64 : 0) + (r.notifies ? 128 : 0))
            out.append(Int64(r.bank))
            out.append(row(r.row))
        }
        // Queue by queue, not through an array of them (which would be allocated for every signature).
        func append(_ queue: [Request]) {
            out.append(Int64(queue.count))
            for r in queue {
                out.append(Int64(r.final.rawValue) * 2 + (r.notifies ? 1 : 0))
                out.append(Int64(r.bank))
                out.append(row(r.row))
                out.append(r.arrive - now)
            }
        }
        append(reads)
        append(writes)
        append(active)
        append(priority)
        return true
    }

    /// Appends the banks' side of the state (`ReplayFastForward.bankPeriods` compares two of them): whether the
    /// all-bank queue is empty, the all-bank commands issued so far, the banks, then each bank's open row (absolute;
    /// -1 closed) and the commands issued to it on its own so far.
    func appendBanks(to out: inout [Int64]) {
        out.append(aimCount == 0 ? 1 : 0)
        out.append(Int64(allBankCommands))
        out.append(Int64(openRow.count))
        for b in openRow.indices {
            out.append(Int64(openRow[b]))
            out.append(Int64(bankCommands[b]))
        }
    }

    /// What this controller has done so far, as the fast-forward measures a period with it.
    struct Progress: Equatable {
        var issued: Int
        var busyUntil: Int64
    }

    var progress: Progress { Progress(issued: issuedCommands, busyUntil: busyUntil) }

    /// What a period did to the banks: the banks no command reached that keep a row open that does not move
    /// (`ReplayFastForward.bankPeriods`), and the commands issued per bank and to all banks.
    struct BankPeriod {
        var fixed: [Int] = []
        var bankCommands: [Int] = []
        var allBankCommands = 0
    }

    /// Moves a controller whose state recurs every `cycles` cycles and `rows` rows on by `periods` periods:
    /// the state `appendSignature` describes shifted in time and rows, and the number of commands it would
    /// have issued (`issuedPerPeriod` per period; the replay adds their kinds to its totals itself).
    /// `busyUntil` moves only when the controller worked in the period (the caller checks that it moved by
    /// exactly `cycles` then). The banks `banks.fixed` keep their open rows.
    mutating func fastForward(periods: Int64, cycles: Int64, rows: Int, issuedPerPeriod: Int, banks: BankPeriod) {
        let dt = periods * cycles, dr = Int(periods) * rows
        func later(_ t: Int64) -> Int64 { t == .min ? t : t + dt }
        func moved(_ r: Int) -> Int { r < 0 ? r : r + dr }
        clock = later(clock)
        for k in channelReady.indices { channelReady[k] = later(channelReady[k]) }
        lastWriteDepart = later(lastWriteDepart)
        writesRetiredThrough = later(writesRetiredThrough)
        for i in pendingReadHead..<pendingReads.count { pendingReads[i].depart = later(pendingReads[i].depart) }
        for k in groupReady.indices { groupReady[k] = later(groupReady[k]) }
        for k in bankReady.indices { bankReady[k] = later(bankReady[k]) }
        bankTimingUntil = later(bankTimingUntil)
        func movedOn(_ queue: inout [Request]) {
            for i in queue.indices {
                queue[i].row = moved(queue[i].row)
                queue[i].arrive = later(queue[i].arrive)
            }
        }
        movedOn(&reads)
        movedOn(&writes)
        movedOn(&active)
        movedOn(&priority)
        for i in 0..<aimCount {
            let slot = (aimHead + i) % Self.queueCapacity
            aim[slot].row = moved(aim[slot].row)
            aim[slot].arrive = later(aim[slot].arrive)
        }
        for b in openRow.indices where !banks.fixed.contains(b) { openRow[b] = moved(openRow[b]) }
        // As `issue` keeps it: the row every bank has open, -1 when none is open, -2 when they differ.
        commonRow = openRow.allSatisfy { $0 == openRow[0] } ? openRow[0] : -2
        issuedCommands += Int(periods) * issuedPerPeriod
        for (b, n) in banks.bankCommands.enumerated() { bankCommands[b] += Int(periods) * n }
        allBankCommands += Int(periods) * banks.allBankCommands
        if issuedPerPeriod > 0 { busyUntil += dt }
    }
}
