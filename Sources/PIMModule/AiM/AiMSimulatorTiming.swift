/// The timing rules of the public AiM simulator (arkhadem/aim_simulator, the Ramulator-2-based model CENT
/// uses), as data: its GDDR6 device declares, per level (channel, bank group, bank), "after command A,
/// command B waits N cycles". The replay of that simulator's traces (`AiMTraceReplay`) and lolpim's `static`
/// kernel schedule run on this table. docs/VALIDATION.md lists every rule with its source.
///
/// How that simulator applies a rule: all-bank commands (ACT16, PREA, MAC16, WRGB, …) address the channel
/// only, so for them only channel rules exist; bank-group and bank rules relate single-bank commands (ACT,
/// PRE, RD, WR, MAC, RDCP, WRCP) on the same group or bank. Every rule below keeps that shape, so the
/// generic `TimingTable` semantics ("a same-bank rule involving an all-bank command applies to every bank")
/// never widens one.
extension AiMTiming {
    /// The values that simulator actually runs with for a timing preset. Its `set_timing_vals` recomputes
    /// three of them after loading the preset: for an x16 device at 2000 MT/s it takes nRRDS 5, nRRDL 6
    /// and nFAW 28 from a DDR4 JEDEC table (the `GDDR6_AiM` preset's 11 / 11 / 42 are overwritten), and it
    /// pins nCLREG 0, nCLGB 1, nCWLREG 1, nCWLGB 1, nWPRE 1. It also recomputes nRFC and nREFI, which it
    /// never uses (its all-bank refresh manager issues no refresh on this organisation); lolpim keeps the
    /// preset's refresh values for its own refresh model. Other presets (the NeuPIMs-like HBM2 timing) are
    /// not that simulator's device: its rules run on their own values, unchanged.
    public var aimSimulatorEffective: AiMTiming {
        guard self == .gddr6AiM else { return self }
        var t = self
        t.nRRDS = 5
        t.nRRDL = 6
        t.nFAW = 28
        t.nCLREG = 0
        t.nCLGB = 1
        t.nCWLREG = 1
        t.nCWLGB = 1
        t.nWPRE = 1
        return t
    }
}

/// Which commit of the public AiM simulator a timing table follows. They differ only in GDDR6 timing rules
/// (`src/dram/impl/GDDR6.cpp`; commit af65d80, "GDDR6 ACT-to-ACT diff bank-groups nRRDS fixed, ACT-to-ACT
/// same bank nRC added, RD-to-PRE same bank nRTP fixed, WR-to-PRE bank-group-level fixed, PRE-to-PRE same
/// bank nRP added"); the decoder, controller and presets are the same.
public enum AiMSimulatorCommit: String, Sendable, CaseIterable {
    /// 0f28a07, the commit lolpim's replay was checked against (docs/VALIDATION.md).
    case validated
    /// 2eb1ee0, the commit CENT pins as its `aim_simulator` submodule and ran for its published table.
    case centPinned
}

extension TimingTable {
    /// The public AiM simulator's GDDR6-AiM constraints for `timing` (pass `aimSimulatorEffective` values
    /// to reproduce it), as `commit` has them. REF rules are included for lolpim's refresh model; that
    /// simulator never refreshes.
    public static func aimSimulator(
        _ t: AiMTiming, banks: Int = 16, commit: AiMSimulatorCommit = .validated
    ) -> TimingTable {
        let pinned = commit == .centPinned
        var rules: [Rule] = []
        func add(
            _ from: [AiMCommandKind], _ to: [AiMCommandKind], _ n: Int, _ source: String,
            _ scope: Scope = .channel
        ) {
            for a in from {
                for b in to {
                    rules.append(
                        Rule(
                            preceding: a, following: b, scope: scope, cycles: n,
                            source: source))
                }
            }
        }
        // Channel: the external data bus carries one burst at a time.
        let reads: [AiMCommandKind] = [.rd, .rdmac16, .rdaf16]
        let writes: [AiMCommandKind] = [.wr, .wra16, .wrgb, .wrmac16]
        add(reads, reads, t.nBL, "nBL")
        add(writes, writes, t.nBL, "nBL")
        // Channel: column commands on the buses shared between bank groups (nCCDS) and inside one (nCCDL).
        let readColumns: [AiMCommandKind] = [.rd, .mac, .mac16, .rdcp, .rdmac16, .rdaf16]
        let writeColumns: [AiMCommandKind] = [.wr, .wra16, .wrgb, .wrcp, .wrmac16]
        add(readColumns, readColumns, t.nCCDS, "nCCDS")
        add(writeColumns, writeColumns, t.nCCDS, "nCCDS")
        let allBankReads: [AiMCommandKind] = [.rdmac16, .rdaf16, .mac16, .ewmul16]
        add([.rd, .mac, .rdcp, .rdmac16, .rdaf16, .mac16, .ewmul16], allBankReads, t.nCCDL, "nCCDL")
        add(allBankReads, [.rd, .mac, .rdcp, .rdmac16, .rdaf16, .mac16, .ewmul16], t.nCCDL, "nCCDL")
        let allBankWrites: [AiMCommandKind] = [.wra16, .wrmac16, .ewmul16]
        add([.wr, .wrcp, .wra16, .wrmac16, .ewmul16], allBankWrites, t.nCCDL, "nCCDL")
        add(allBankWrites, [.wr, .wrcp, .wra16, .wrmac16, .ewmul16], t.nCCDL, "nCCDL")
        // Channel: read → write turnaround (tRTW = read latency + burst + 3 − write latency + write preamble).
        let rtw = { (readLatency: Int, writeLatency: Int) in readLatency + t.nBL + 3 - writeLatency + t.nWPRE }
        add([.rd], [.wr, .wra16], rtw(t.nCL, t.nCWL), "nCL+nBL+3-nCWL+nWPRE")
        add([.rdmac16, .rdaf16], [.wr, .wra16], rtw(t.nCLREG, t.nCWL), "nCLREG+nBL+3-nCWL+nWPRE")
        add([.rd], [.wrgb], rtw(t.nCL, t.nCWLGB), "nCL+nBL+3-nCWLGB+nWPRE")
        add([.rd], [.wrmac16], rtw(t.nCL, t.nCWLREG), "nCL+nBL+3-nCWLREG+nWPRE")
        add([.rdmac16, .rdaf16], [.wrgb], rtw(t.nCLREG, t.nCWLGB), "nCLREG+nBL+3-nCWLGB+nWPRE")
        add([.rdmac16, .rdaf16], [.wrmac16], rtw(t.nCLREG, t.nCWLREG), "nCLREG+nBL+3-nCWLREG+nWPRE")
        // Channel: write → read turnaround, between bank groups (nWTRS) and inside one (nWTRL).
        add([.wr, .wra16], reads, t.nCWL + t.nBL + t.nWTRS, "nCWL+nBL+nWTRS")
        add([.wrgb], reads, t.nCWLGB + t.nBL + t.nWTRS, "nCWLGB+nBL+nWTRS")
        add([.wrmac16], reads, t.nCWLREG + t.nBL + t.nWTRS, "nCWLREG+nBL+nWTRS")
        add([.wr], [.rdmac16, .rdaf16], t.nCWL + t.nBL + t.nWTRL, "nCWL+nBL+nWTRL")
        add([.wra16], reads, t.nCWL + t.nBL + t.nWTRL, "nCWL+nBL+nWTRL")
        add([.wrmac16], reads, t.nCWLREG + t.nBL + t.nWTRL, "nCWLREG+nBL+nWTRL")
        // Channel: column command → precharge.
        add([.rd, .rdcp, .mac, .mac16, .af16, .ewmul16], [.prea], t.nRTP, "nRTP")
        add([.mac16, .af16, .ewmul16], [.pre], t.nRTP, "nRTP")
        add([.wr, .wrcp], [.prea], t.nCWL + t.nBL + t.nWR, "nCWL+nBL+nWR")
        add([.ewmul16], [.pre, .prea], t.nCWL + t.nWR, "nCWL+nWR")
        // Channel: activations and precharges.
        add([.act], [.act], t.nRRDS, "nRRDS")
        add([.act, .act16], [.act16], t.nRRDL, "nRRDL")
        add([.act16], [.act], t.nRRDL, "nRRDL")
        if !pinned {  // added in af65d80: an all-bank activation also waits nRC after any activation
            add([.act, .act16], [.act16], t.nRC, "nRC")
            add([.act16], [.act], t.nRC, "nRC")
        }
        add([.act, .act16], [.prea], t.nRAS, "nRAS")
        add([.act16], [.pre], t.nRAS, "nRAS")
        add([.pre, .prea], [.act16], t.nRP, "nRP")
        add([.prea], [.act], t.nRP, "nRP")
        add([.prea], [.pre, .prea], t.nRP, "nRP")
        add([.pre], [.prea], t.nRP, "nRP")
        if pinned { add([.pre], [.pre], t.nRP, "nRP") }  // 2eb1ee0: PRE to PRE on any bank of the channel
        // Channel: activation → column command.
        add([.act, .act16], [.mac16], t.nRCDRDMAC, "nRCDRDMAC")
        add([.act, .act16], [.af16], t.nRCDRDAF, "nRCDRDAF")
        add([.act, .act16], [.ewmul16], t.nRCDEWMUL, "nRCDEWMUL")
        add([.act16], [.mac], t.nRCDRDMAC, "nRCDRDMAC")
        add([.act16], [.rdcp], t.nRCDRDCP, "nRCDRDCP")
        add([.act16], [.rd], t.nRCDRD, "nRCDRD")
        add([.act, .act16], [.wra16], t.nRCDWR, "nRCDWR")
        add([.act16], [.wrcp], t.nRCDWRCP, "nRCDWRCP")
        add([.act16], [.wr], t.nRCDWR, "nRCDWR")
        add([.wra16], [.act, .act16], t.nCWL + t.nBL + t.nWR + t.nRP, "nCWL+nBL+nWR+nRP")
        // Channel: refresh (used by lolpim's refresh model only).
        add([.act, .act16], [.ref], t.nRC, "nRC")
        add([.pre, .prea], [.ref], t.nRP, "nRP")
        add([.wra16], [.ref], t.nCWL + t.nBL + t.nWR + t.nRP, "nCWL+nBL+nWR+nRP")
        add([.ref], [.act, .act16], t.nRFC, "nRFC")
        // Channel: a mode change holds every command for nMODCH.
        let issuable = AiMCommandKind.allCases.filter { $0 != .tmod }
        add([.tmod], issuable, t.nMODCH, "nMODCH")
        // Bank group: single-bank column commands and activations in one group.
        add([.rd, .mac, .rdcp], [.rd, .mac, .rdcp], t.nCCDL, "nCCDL", .bankGroup)
        add([.wr, .wrcp], [.wr, .wrcp], t.nCCDL, "nCCDL", .bankGroup)
        add([.wr], [.rd], t.nCWL + t.nBL + t.nWTRL, "nCWL+nBL+nWTRL", .bankGroup)
        add([.act], [.act], t.nRRDL, "nRRDL", .bankGroup)
        // 2eb1ee0: a single-bank column command holds a precharge of any bank of its group (af65d80 narrowed
        // these to the same bank).
        let columnToPre: Scope = pinned ? .bankGroup : .sameBank
        // Bank.
        add([.act], [.mac], t.nRCDRDMAC, "nRCDRDMAC", .sameBank)
        add([.act], [.rdcp], t.nRCDRDCP, "nRCDRDCP", .sameBank)
        add([.act], [.rd], t.nRCDRD, "nRCDRD", .sameBank)
        add([.act], [.wrcp], t.nRCDWRCP, "nRCDWRCP", .sameBank)
        add([.act], [.wr], t.nRCDWR, "nRCDWR", .sameBank)
        add([.rd, .rdcp, .mac], [.pre], t.nRTP, "nRTP", columnToPre)
        add([.wr, .wrcp], [.pre], t.nCWL + t.nBL + t.nWR, "nCWL+nBL+nWR", columnToPre)
        if !pinned {  // added in af65d80
            add([.act], [.act], t.nRC, "nRC", .sameBank)
            add([.pre], [.pre], t.nRP, "nRP", .sameBank)
        }
        add([.act], [.pre], t.nRAS, "nRAS", .sameBank)
        add([.pre], [.act], t.nRP, "nRP", .sameBank)
        return TimingTable(rules: rules, timing: t, banks: banks)
    }

    /// Cycles from issue until that simulator counts a request as done (its `m_command_latencies`), for
    /// the commands that finish a request. REF has none there; lolpim's refresh model uses nRFC.
    public func aimSimulatorLatency(_ kind: AiMCommandKind) -> Int64 {
        let t = timing
        switch kind {
        case .wr: return Int64(t.nCWL + t.nBL)
        case .wrgb: return Int64(t.nCWLGB + t.nBL)
        case .wrmac16: return Int64(t.nCWLREG + t.nBL)
        case .rdmac16, .rdaf16: return Int64(t.nCLREG + t.nBL)
        case .rd: return Int64(t.nCL + t.nBL)
        case .wra16: return Int64(t.nCWL + t.nBL + t.nRP)
        case .ref: return Int64(t.nRFC)
        default: return 1
        }
    }
}
