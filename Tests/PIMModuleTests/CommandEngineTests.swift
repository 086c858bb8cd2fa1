import Testing
@testable import PIMModule

let table = TimingTable.gddr6AiM
let t = AiMTiming.gddr6AiM

@Suite("AiM command engine: closed-form timing")
struct CommandEngineTests {
    @Test("a stream of MAC16 in one open row advances one per nCCDL: 512 GB/s per channel")
    func macStream() {
        var e = ChannelEngine(table: table, refresh: false)
        let act = e.issueEarliest(AiMCommand(.act16, row: 0))
        var cycles: [Int64] = []
        for c in 0..<64 { cycles.append(e.issueEarliest(AiMCommand(.mac16, row: 0, column: c, gbEntry: c))) }
        #expect(cycles[0] == act + Int64(t.nRCDRDMAC))
        #expect(zip(cycles, cycles.dropFirst()).allSatisfy { $1 - $0 == Int64(t.nCCDL) })
        // 16 banks × 32 B per nCCDL cycles of 500 ps = 512 B/ns.
        let bytes = 64 * 16 * 32
        let ns = Double((cycles.last! - cycles.first! + Int64(t.nCCDL)) * 500) / 1000
        #expect(Double(bytes) / ns == 512)
    }

    @Test("a row change costs nRTP + nRP + nRCDRDMAC between MACs")
    func rowChange() {
        var e = ChannelEngine(table: table, refresh: false)
        e.issueEarliest(AiMCommand(.act16, row: 0))
        let lastMAC = e.issueEarliest(AiMCommand(.mac16, row: 0, column: 0))
        let prea = e.issueEarliest(AiMCommand(.prea))
        let act = e.issueEarliest(AiMCommand(.act16, row: 1))
        let mac = e.issueEarliest(AiMCommand(.mac16, row: 1, column: 0))
        // PREA waits for nRAS after the first ACT16 too; after a long row nRTP dominates.
        #expect(prea == max(lastMAC + Int64(t.nRTP), Int64(t.nRAS)))
        #expect(act == max(prea + Int64(t.nRP), Int64(t.nRC)))
        #expect(mac == act + Int64(t.nRCDRDMAC))
    }

    @Test("a GB fill of n entries takes n × nBL on the data bus; an RD_MAC drain follows nCCDL after a MAC")
    func fillAndDrain() {
        var e = ChannelEngine(table: table, refresh: false)
        let writes = (0..<64).map { e.issueEarliest(AiMCommand(.wrgb, gbEntry: $0)) }
        #expect(writes.last! - writes.first! == 63 * Int64(t.nBL))
        e.issueEarliest(AiMCommand(.act16, row: 0))
        let mac = e.issueEarliest(AiMCommand(.mac16, row: 0, column: 0, gbEntry: 0))
        let drain = e.issueEarliest(AiMCommand(.rdmac16, obufEntry: 0))
        #expect(drain == mac + Int64(t.nCCDL))
        #expect(e.endCycle == drain + Int64(t.nCLREG + t.nBL))
    }

    @Test("refresh: every nREFI cycles the rows close, REF takes nRFC, the row reopens")
    func refresh() {
        var e = ChannelEngine(table: table, refresh: true, record: true)
        e.issueEarliest(AiMCommand(.act16, row: 5))
        var last: Int64 = 0
        var column = 0
        while last < Int64(t.nREFI) + 400 {
            last = e.issueEarliest(AiMCommand(.mac16, row: 5, column: column % 64))
            column += 1
        }
        let trace = e.trace!
        let ref = trace.first { $0.command.kind == .ref }!
        let prea = trace.last { $0.command.kind == .prea && $0.cycle < ref.cycle }!
        let reopen = trace.first { $0.command.kind == .act16 && $0.cycle > ref.cycle }!
        let resumed = trace.first { $0.command.kind == .mac16 && $0.cycle > ref.cycle }!
        #expect(prea.cycle >= Int64(t.nREFI))
        #expect(ref.cycle == prea.cycle + Int64(t.nRP))
        #expect(reopen.cycle == ref.cycle + Int64(t.nRFC))
        #expect(reopen.command.row == 5)
        #expect(resumed.cycle == reopen.cycle + Int64(t.nRCDRDMAC))
        #expect(TimingChecker(table: table).check(trace).isEmpty)
    }

    @Test("the checker reports violated constraints and illegal row states")
    func checkerFindsViolations() {
        let bad = [
            IssuedCommand(cycle: 0, channel: 0, command: AiMCommand(.act16, row: 0)),
            IssuedCommand(cycle: 10, channel: 0, command: AiMCommand(.mac16, row: 0, column: 0)),
            IssuedCommand(cycle: 11, channel: 0, command: AiMCommand(.mac16, row: 0, column: 1)),
            IssuedCommand(cycle: 100, channel: 0, command: AiMCommand(.act16, row: 1)),
            IssuedCommand(cycle: 300, channel: 0, command: AiMCommand(.prea)),
            IssuedCommand(cycle: 301, channel: 0, command: AiMCommand(.mac16, row: 1, column: 0)),
        ]
        let violations = TimingChecker(table: table).check(bad)
        #expect(violations.contains { $0.cycle == 10 && $0.message.contains("nRCDRDMAC") })
        #expect(violations.contains { $0.cycle == 11 && $0.message.contains("nCCDL") })
        #expect(violations.contains { $0.cycle == 100 && $0.message.contains("row is open") })
        #expect(violations.contains { $0.cycle == 301 && $0.message.contains("no open row") })
    }
}
