import Workload

/// The `roofline` fidelity: per operator, latency = max(bytes / bandwidth, flops / compute) on the unit that
/// runs it, with efficiency factors.
///
/// - PIM operators (GEMV, QKᵀ, SV) run on the near-bank MAC units: bandwidth is the module's peak internal
///   bandwidth and compute the MAC units' peak, both × `pimEfficiency`. By default `pimEfficiency` is
///   derived from the timing table: the row-streaming efficiency of full 2 KB rows including refresh
///   (0.514 for `GDDR6_AiM`), see `AiMTiming.rowStreamingEfficiency`.
/// - Writes (K/V append) go through the channels' data buses: bytes / (channels × columnBytes per nBL).
/// - Processor operators (softmax, norms, element-wise) run on the HUB at `processorFLOPS × processorEfficiency`;
///   whatever they read from DRAM streams at the effective internal bandwidth.
public struct RooflineCostModel: OpCostModel {
    public let module: ModuleConfig
    public let pimEfficiency: Double
    public let processorEfficiency: Double

    /// Default processor efficiency, the compute cap the AttAcc simulator uses (0.8 of peak).
    public static let defaultProcessorEfficiency = 0.8

    public init(
        module: ModuleConfig, pimEfficiency: Double? = nil,
        processorEfficiency: Double = RooflineCostModel.defaultProcessorEfficiency
    ) {
        self.module = module
        self.pimEfficiency = pimEfficiency ?? Self.derivedPIMEfficiency(module)
        self.processorEfficiency = processorEfficiency
    }

    public static func derivedPIMEfficiency(_ module: ModuleConfig) -> Double {
        module.timing.rowStreamingEfficiency(columns: module.columnsPerRow)
    }

    /// Effective bytes/s the MAC units read.
    public var effectiveBandwidth: Double { module.peakInternalBandwidth * pimEfficiency }

    /// Bytes/s of ordinary writes: every channel's data bus moves one column per nBL cycles.
    public var writeBandwidth: Double {
        Double(module.channels * module.columnBytes)
            / (Double(Int64(module.timing.nBL) * module.tCKps) / Time.picosecondsPerSecond)
    }

    public func cost(of op: DecodeOp) -> OpCost {
        let time = latency(of: op)
        // A PIM operator streams from every channel for its whole time.
        return OpCost(
            latency: time, commands: estimatedCommands(op), hubFlops: op.unit == .processor ? op.flops : 0,
            channelBusy: op.unit == .pim ? Array(repeating: time, count: module.channels) : [])
    }

    /// The commands the roofline assumes, for energy: PIM operators stream their bytes in full rows
    /// (one ACT16 + PREA per 16 × 2 KB, one MAC16 per 512 flops per channel-wide command, one RDMAC16 per
    /// 64 MAC16); writes are 32 B WR bursts; HUB operators read with MAC-free column reads (none counted).
    public func estimatedCommands(_ op: DecodeOp) -> CommandCounts {
        var counts = CommandCounts()
        guard op.unit == .pim else { return counts }
        let banks = Int64(module.banksPerChannel)
        let rowBytes = Int64(module.rowBytes) * banks
        let macFlops = 2 * Int64(module.macsPerColumn) * banks
        counts[.act16] = (op.bytesRead + rowBytes - 1) / rowBytes
        counts[.prea] = counts[.act16]
        counts[.mac16] = (op.flops + macFlops - 1) / macFlops
        counts[.rdmac16] = (counts[.mac16] + 63) / 64
        counts[.wr] = (op.bytesWritten + Int64(module.columnBytes) - 1) / Int64(module.columnBytes)
        return counts
    }

    public func latency(of op: DecodeOp) -> Picoseconds {
        let readSeconds = Double(op.bytesRead) / effectiveBandwidth
        let computeRate: Double
        switch op.unit {
        case .pim: computeRate = module.pimPeakFLOPS * pimEfficiency
        case .processor: computeRate = module.processorFLOPS * processorEfficiency
        }
        let computeSeconds = Double(op.flops) / computeRate
        let writeSeconds = Double(op.bytesWritten) / writeBandwidth
        return Time.picoseconds(seconds: max(readSeconds, computeSeconds) + writeSeconds)
    }
}
