/// The timing parameters of an AiM channel, in command-clock cycles (docs/REFERENCE.md §3.3, preset `GDDR6_AiM`,
/// taken from the public AiM simulator). The command-level model turns these into a constraint table; the
/// roofline model uses them to derive how much of the peak internal bandwidth a row stream sustains.
public struct AiMTiming: Sendable, Hashable, Codable {
    public var nBL = 2, nCL = 50
    public var nRCDRD = 36, nRCDRDMAC = 56, nRCDEWMUL = 25, nRCDRDAF = 86, nRCDRDCP = 66
    public var nRCDWR = 28, nRCDWRCP = 48
    public var nRP = 32, nRAS = 54, nRC = 89, nWR = 33, nRTP = 12, nCWL = 6
    public var nCCDS = 2, nCCDL = 2, nRRDS = 11, nRRDL = 11, nWTRS = 9, nWTRL = 11, nFAW = 42
    public var nRFC = 210, nRFCpb = 105, nREFI = 3333
    public var nCLREG = 0, nCLGB = 1, nCWLREG = 1, nCWLGB = 1
    public var nMODCH = 32, nWPRE = 1

    public init() {}

    /// The `GDDR6_AiM` preset.
    public static let gddr6AiM = AiMTiming()

    /// NeuPIMs-style HBM2 PIM timing (docs/REFERENCE.md §4.2), at tCK 1 ns: CL 14, tRCD 14, tRP 14, tRAS 34,
    /// tCCD_S/L 1/2, tRRD_S/L 4/6, tFAW 30, tRFC 260, tREFI 3900. The sources give no PIM-specific delays:
    /// every ACT → column-command delay is tRCD, nRC = tRAS + tRP, and the write/turnaround figures
    /// (nWR 15, nRTP 4, nCWL 4, nWTR_S/L 3/8, nBL 2, register and GB latencies 1, nMODCH 0) are assumptions
    /// of typical HBM2 values, stated here and in the docs.
    public static let hbm2NeuPIMs: AiMTiming = {
        var t = AiMTiming()
        t.nBL = 2; t.nCL = 14
        t.nRCDRD = 14; t.nRCDRDMAC = 14; t.nRCDEWMUL = 14; t.nRCDRDAF = 14; t.nRCDRDCP = 14
        t.nRCDWR = 14; t.nRCDWRCP = 14
        t.nRP = 14; t.nRAS = 34; t.nRC = 48; t.nWR = 15; t.nRTP = 4; t.nCWL = 4
        t.nCCDS = 1; t.nCCDL = 2; t.nRRDS = 4; t.nRRDL = 6; t.nWTRS = 3; t.nWTRL = 8; t.nFAW = 30
        t.nRFC = 260; t.nRFCpb = 130; t.nREFI = 3900
        t.nCLREG = 1; t.nCLGB = 1; t.nCWLREG = 1; t.nCWLGB = 1; t.nMODCH = 0; t.nWPRE = 1
        return t
    }()

    /// Cycles one row of `columns` MAC16 commands occupies a channel: ACT16 → first MAC16 (nRCDRDMAC), the
    /// MACs nCCDL apart, last MAC16 → PREA (nRTP), PREA → next ACT16 (nRP); at least nRC from ACT to ACT.
    public func rowStreamCycles(columns: Int) -> Int {
        max(nRCDRDMAC + (columns - 1) * nCCDL + nRTP + nRP, nRC)
    }

    /// Cycles one all-bank refresh costs a stream of MAC16 in an open row: the last MAC16 → PREA (nRTP),
    /// PREA → REF (nRP), REF (nRFC), the row's ACT16 → the next MAC16 (nRCDRDMAC), minus the nCCDL slot the
    /// next MAC16 would have waited anyway. 308 cycles for `GDDR6_AiM`.
    public var refreshStallCycles: Int { nRTP + nRP + nRFC + nRCDRDMAC - nCCDL }

    /// Fraction of time a streaming channel is not stalled by refresh: 1 − refreshStallCycles / nREFI.
    public var refreshAvailability: Double { 1.0 - Double(refreshStallCycles) / Double(nREFI) }

    /// Sustained fraction of peak MAC bandwidth when streaming whole rows of `columns` MAC16 commands
    /// (each MAC16 one nCCDL slot), including refresh: useful cycles / row cycles × refresh availability.
    /// With the preset and 2 KB rows (64 columns of 32 B): 128 / 226 × (1 − 308/3333) = 0.514.
    public func rowStreamingEfficiency(columns: Int) -> Double {
        Double(columns * nCCDL) / Double(rowStreamCycles(columns: columns)) * refreshAvailability
    }
}
