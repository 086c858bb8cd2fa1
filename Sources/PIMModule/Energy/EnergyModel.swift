/// Turns a module's commands, HUB work and elapsed time into energy by component (docs/REFERENCE.md §7).
///
/// The public AiM simulator gives powers (mW at 2 GHz); we read each as the per-bank power during the
/// cycles a command keeps its banks busy, which is an interpretation, stated here:
/// - activation: ACT16 = `activateMW` × (nRAS + nRP) cycles × 16 banks (open and close);
/// - refresh: every channel refreshes every nREFI cycles whatever it does: `activateMW` × nRFC × 16 banks;
/// - MAC: MAC16 reads 16 × 32 B at AttAcc's bank-level access energy (0.11 + 0.44) × 8 pJ/B and performs
///   16 × 16 multiply-accumulates (2 ops each) at 0.32 pJ/op; the GB read adds `gbReadMW` for one cycle;
/// - I/O: each data-bus burst (nBL cycles) costs `readMW` (RDMAC16, RD) or `writeMW` (WRGB, WRMAC16, WR),
///   plus a GB write cycle for WRGB;
/// - background: every channel draws `prechargeStandbyMW` all the time and `activeStandbyMW` while its
///   module computes (rows open), plus the GB's static power;
/// - HUB: `hubPJPerFlop` per processor flop (unknown in the sources; a parameter, default 1 pJ).
public struct EnergyModel: Sendable, Equatable, Codable {
    public var activeStandbyMW = 263.75
    public var prechargeStandbyMW = 183.15
    public var activateMW = 66.3
    public var readMW = 438.15
    public var writeMW = 553.15
    public var gbReadMW = 0.279
    public var gbWriteMW = 0.325
    public var gbStaticMW = 0.067
    public var bankAccessPJPerByte = (0.11 + 0.44) * 8
    public var aluPJPerOp = 0.32
    public var hubPJPerFlop = 1.0

    public init() {}

    /// Energy by component, joules.
    public struct Breakdown: Sendable, Equatable, Codable {
        public var activationJ = 0.0
        public var macJ = 0.0
        public var ioJ = 0.0
        public var refreshJ = 0.0
        public var backgroundJ = 0.0
        public var hubJ = 0.0

        public init() {}

        public var totalJ: Double { activationJ + macJ + ioJ + refreshJ + backgroundJ + hubJ }

        public static func + (a: Breakdown, b: Breakdown) -> Breakdown {
            var s = Breakdown()
            s.activationJ = a.activationJ + b.activationJ
            s.macJ = a.macJ + b.macJ
            s.ioJ = a.ioJ + b.ioJ
            s.refreshJ = a.refreshJ + b.refreshJ
            s.backgroundJ = a.backgroundJ + b.backgroundJ
            s.hubJ = a.hubJ + b.hubJ
            return s
        }
    }

    /// - Parameters:
    ///   - commands: the module's commands (all channels).
    ///   - busyPs: time the module computed; `elapsedPs`: the whole run.
    public func breakdown(
        module: ModuleConfig, commands: CommandCounts, hubFlops: Int64, busyPs: Picoseconds,
        elapsedPs: Picoseconds
    ) -> Breakdown {
        let t = module.timing
        let cycleNs = Double(module.tCKps) / 1000
        let banks = Double(module.banksPerChannel)
        let channels = Double(module.channels)
        // mW × ns = pJ.
        func pj(_ mW: Double, cycles: Int) -> Double { mW * Double(cycles) * cycleNs }
        var e = Breakdown()
        e.activationJ = Double(commands[.act16]) * pj(activateMW, cycles: t.nRAS + t.nRP) * banks * 1e-12
        let macBytes = banks * Double(module.columnBytes)
        let macOps = banks * Double(module.macsPerColumn) * 2
        let perMAC = macBytes * bankAccessPJPerByte + macOps * aluPJPerOp + pj(gbReadMW, cycles: 1)
        e.macJ = Double(commands[.mac16]) * perMAC * 1e-12
        let reads = Double(commands[.rdmac16] + commands[.rd])
        let writes = Double(commands[.wrgb] + commands[.wrmac16] + commands[.wr])
        e.ioJ =
            (reads * pj(readMW, cycles: t.nBL) + writes * pj(writeMW, cycles: t.nBL)
                + Double(commands[.wrgb]) * pj(gbWriteMW, cycles: 1)) * 1e-12
        let elapsedNs = Double(elapsedPs) / 1000
        let refreshes = elapsedNs / (Double(t.nREFI) * cycleNs) * channels
        e.refreshJ = refreshes * pj(activateMW, cycles: t.nRFC) * banks * 1e-12
        let busyNs = Double(busyPs) / 1000
        e.backgroundJ =
            channels
            * (prechargeStandbyMW * elapsedNs + (activeStandbyMW - prechargeStandbyMW) * busyNs
                + gbStaticMW * elapsedNs) * 1e-12
        e.hubJ = Double(hubFlops) * hubPJPerFlop * 1e-12
        return e
    }
}
