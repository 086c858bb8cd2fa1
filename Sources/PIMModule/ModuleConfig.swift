/// The hardware of one PIM module: a PIM HUB (near-memory processor for softmax, norms, reductions) and
/// `channels` AiM channels of `banksPerChannel` banks with one MAC unit each (docs/REFERENCE.md §3–4).
public struct ModuleConfig: Sendable, Hashable, Codable {
    /// Preset this configuration started from.
    public var preset: String
    public var channels: Int
    public var banksPerChannel: Int
    /// Bytes per bank (32 MB on GDDR6-AiM: 16K rows × 2 KB).
    public var bankBytes: Int64
    /// Bytes per DRAM row of one bank (2 KB).
    public var rowBytes: Int
    /// Bytes one MAC16 reads per bank (one 32 B column).
    public var columnBytes: Int
    /// BF16 multiply-accumulates one MAC16 performs per bank.
    public var macsPerColumn: Int
    /// Command clock period, picoseconds (default 500: the only value that gives the published 512 GB/s per
    /// channel; see the clock note in docs/REFERENCE.md §3.7).
    public var tCKps: Int64
    public var timing: AiMTiming
    /// Peak throughput of the HUB's near-memory processor, FLOP/s.
    public var processorFLOPS: Double
    /// Replaces the derived peak internal bandwidth (bytes/s) when set.
    public var internalBandwidthOverride: Double?
    /// Replaces the derived capacity (bytes) when set.
    public var capacityOverride: Int64?
    /// The NPU of an xPU+PIM module (NeuPIMs-like); nil for a PIM-only module.
    public var npu: NPUSpec?

    public init(
        preset: String, channels: Int, banksPerChannel: Int = 16, bankBytes: Int64 = 32 << 20,
        rowBytes: Int = 2048, columnBytes: Int = 32, macsPerColumn: Int = 16, tCKps: Int64 = 500,
        timing: AiMTiming = .gddr6AiM, processorFLOPS: Double = 3e12,
        internalBandwidthOverride: Double? = nil, capacityOverride: Int64? = nil
    ) {
        self.preset = preset
        self.channels = channels
        self.banksPerChannel = banksPerChannel
        self.bankBytes = bankBytes
        self.rowBytes = rowBytes
        self.columnBytes = columnBytes
        self.macsPerColumn = macsPerColumn
        self.tCKps = tCKps
        self.timing = timing
        self.processorFLOPS = processorFLOPS
        self.internalBandwidthOverride = internalBandwidthOverride
        self.capacityOverride = capacityOverride
    }

    /// PIM-only module as evaluated by the paper (CENT-like): 32 channels, 16 GB, 16 TB/s, 3 TFLOPS HUB.
    public static let cent32 = ModuleConfig(preset: "cent-32ch", channels: 32)
    /// The commercial AiMX card used to describe token partitioning: 16 channels × 16 banks, 8 GB.
    public static let aimx16 = ModuleConfig(preset: "aimx-16ch", channels: 16)

    /// NeuPIMs-style HBM2 PIM channels (docs/REFERENCE.md §4.2): 32 channels × 32 banks, 1 KB rows, tCK 1 ns,
    /// 32 GB (1 GB per channel). `cluster.kind: xpu-pim` adds its NPU; as `pim-only` it is timed without one.
    public static let neupims32 = ModuleConfig(
        preset: "neupims-32ch", channels: 32, banksPerChannel: 32,
        bankBytes: 32 << 20, rowBytes: 1024, tCKps: 1000,
        timing: .hbm2NeuPIMs)

    public static let presets: [String: ModuleConfig] = [
        "cent-32ch": cent32, "aimx-16ch": aimx16,
        "neupims-32ch": neupims32,
    ]
    public static var presetNames: [String] { presets.keys.sorted() }

    /// DRAM capacity, bytes.
    public var capacityBytes: Int64 {
        capacityOverride ?? Int64(channels) * Int64(banksPerChannel) * bankBytes
    }

    /// Seconds per MAC16 slot (nCCDL cycles).
    private var macSlotSeconds: Double { Double(Int64(timing.nCCDL) * tCKps) / Time.picosecondsPerSecond }

    /// Peak bytes/s the MAC units read: all banks of all channels, one column per nCCDL.
    public var peakInternalBandwidth: Double {
        internalBandwidthOverride
            ?? Double(channels * banksPerChannel * columnBytes) / macSlotSeconds
    }

    /// Peak FLOP/s of the near-bank MAC units (2 flops per MAC). Tied to the bandwidth: every byte read
    /// by a MAC16 feeds one multiply-accumulate per BF16 element.
    public var pimPeakFLOPS: Double {
        peakInternalBandwidth / Double(columnBytes) * Double(2 * macsPerColumn)
    }

    /// Fraction of the MAC units' slots that `mac16` MAC16 commands fill over `timePs` on all channels (one MAC16
    /// per nCCD_L per channel at most).
    public func macUtilisation(mac16: Int64, timePs: Double) -> Double {
        timePs > 0 ? Double(mac16) * Double(Int64(timing.nCCDL) * tCKps) / (Double(channels) * timePs) : 0
    }

    /// Columns (MAC16 commands) per row.
    public var columnsPerRow: Int { rowBytes / columnBytes }
}
