import PIMModule

/// One GPU as the baselines see it: peak dense BF16 compute, HBM bandwidth and capacity, and its NVLink.
/// Efficiencies cap what a decode kernel reaches (AttAcc's simulator caps utilisation at 0.8 of peak compute
/// and 0.85 of peak bandwidth, docs/REFERENCE.md §6.1).
public struct GPUSpec: Sendable, Equatable, Codable {
    public var name: String
    /// Dense BF16 FLOP/s.
    public var peakFLOPS: Double
    /// HBM bytes/s.
    public var memoryBandwidth: Double
    /// HBM bytes.
    public var memoryBytes: Int64
    /// NVLink bytes/s per direction (half the bidirectional figure vendors quote).
    public var linkBytesPerSecond: Double
    /// Latency of one step of a collective over NVLink (launch and synchronisation), picoseconds. No source
    /// gives it (docs/REFERENCE.md §8): 2 µs is our documented default.
    public var linkLatencyPs: Picoseconds
    public var computeEfficiency: Double
    public var bandwidthEfficiency: Double
    /// Board power of an idle GPU, watts: drawn over the whole run, whatever the GPU does (the static energy of
    /// the GPU rows, docs/COMPARE.md §4). No datasheet gives it; the defaults are idle readings of the board
    /// sensor that users publish (A100-SXM4-80GB 54–65 W, H100-SXM 69–75 W with no process), so they are low:
    /// a GPU holding a model and a CUDA context draws more, which would only add to the GPU rows' energy.
    public var idlePowerW: Double

    public init(
        name: String, peakFLOPS: Double, memoryBandwidth: Double, memoryBytes: Int64, linkBytesPerSecond: Double,
        linkLatencyPs: Picoseconds = 2_000_000, computeEfficiency: Double = 0.8, bandwidthEfficiency: Double = 0.85,
        idlePowerW: Double = 0
    ) {
        self.idlePowerW = idlePowerW
        self.name = name
        self.peakFLOPS = peakFLOPS
        self.memoryBandwidth = memoryBandwidth
        self.memoryBytes = memoryBytes
        self.linkBytesPerSecond = linkBytesPerSecond
        self.linkLatencyPs = linkLatencyPs
        self.computeEfficiency = computeEfficiency
        self.bandwidthEfficiency = bandwidthEfficiency
    }

    /// A100-80GB (docs/REFERENCE.md §6.1): 312 TFLOP/s BF16, about 2.0 TB/s HBM2e, NVLink3 600 GB/s (300 each way).
    public static let a100 = GPUSpec(
        name: "a100-80gb", peakFLOPS: 312e12, memoryBandwidth: 2.0e12,
        memoryBytes: 80 << 30, linkBytesPerSecond: 300e9, idlePowerW: 60)
    /// H100-80GB SXM (public datasheet): 989 TFLOP/s dense BF16, 3.35 TB/s HBM3, NVLink4 900 GB/s (450 each way).
    public static let h100 = GPUSpec(
        name: "h100-80gb", peakFLOPS: 989e12, memoryBandwidth: 3.35e12,
        memoryBytes: 80 << 30, linkBytesPerSecond: 450e9, idlePowerW: 70)
    /// AttAcc's GPU: an A100 with HBM3 modelled at 3,352 GB/s (docs/REFERENCE.md §6.2).
    public static let a100HBM3 = GPUSpec(
        name: "a100-hbm3", peakFLOPS: 312e12, memoryBandwidth: 3.352e12,
        memoryBytes: 80 << 30, linkBytesPerSecond: 300e9, idlePowerW: 60)

    public static let presets: [String: GPUSpec] = ["a100-80gb": a100, "h100-80gb": h100, "a100-hbm3": a100HBM3]

    /// Time of an operator that reads and writes `bytes` and performs `flops`: the larger of its compute
    /// time and its memory time at the capped rates.
    public func time(flops: Int64, bytes: Int64) -> Picoseconds {
        let compute = Double(flops) / (peakFLOPS * computeEfficiency)
        let memory = Double(bytes) / (memoryBandwidth * bandwidthEfficiency)
        return Time.picoseconds(seconds: max(compute, memory))
    }
}
