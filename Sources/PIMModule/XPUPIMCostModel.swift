import Workload

/// The NPU of an xPU+PIM module (NeuPIMs-like, docs/REFERENCE.md §4.2): systolic arrays for the weight GEMVs, with
/// the module's DRAM reached through the channels' ordinary data path.
public struct NPUSpec: Sendable, Hashable, Codable {
    /// Peak FLOP/s (8 systolic arrays of 128 × 128 at 1 GHz: 256 TFLOP/s).
    public var flops: Double
    /// Bytes/s the NPU reads from the module's DRAM; nil derives it from the channels' data buses as NeuPIMs'
    /// public HBM2 configuration has them: channels × `busBits` / 8 × `transfersPerCycle` / tCK, so
    /// 32 × 128 bit / 8 × 2 / 1 ns = 1,024 GB/s for `neupims-32ch` (docs/COMPARE.md §5).
    public var memoryBandwidth: Double?
    /// Data-bus width of one channel, bits (NeuPIMs' `bus_width = 128`, HBM2's 128-bit channel).
    public var busBits = 128
    /// Transfers per clock on the data bus (double data rate: NeuPIMs' burst of BL4 takes 2 cycles).
    public var transfersPerCycle = 2
    /// Fractions of peak compute and bandwidth a decode GEMV reaches (AttAcc's caps, 0.8 and 0.85).
    public var computeEfficiency = 0.8
    public var bandwidthEfficiency = 0.85
    /// Sub-batches of a micro-batch interleaved between the NPU and the PIM channels (NeuPIMs: 2).
    public var subBatches = 2

    public init(flops: Double = 256e12, memoryBandwidth: Double? = nil) {
        self.flops = flops
        self.memoryBandwidth = memoryBandwidth
    }

    /// Bytes/s the NPU reads from a module of `channels` channels clocked at `tCKps`: `memoryBandwidth` when
    /// given, else the channels' data buses.
    public func bandwidth(channels: Int, tCKps: Picoseconds) -> Double {
        memoryBandwidth ?? Double(channels * busBits / 8 * transfersPerCycle)
            / (Double(tCKps) / Time.picosecondsPerSecond)
    }
}

/// The cost model of an xPU+PIM module: the weight GEMVs (QKV, O, FFN, LM head) run on the NPU at
/// max(flops / (NPU peak × 0.8), weight bytes / (NPU bandwidth × 0.85)); attention (K/V append, QKᵀ, SV)
/// runs on the PIM channels as `pim` prices it; norms, softmax, residuals and the activation run on the
/// module's vector processor (`processorFLOPS`) as in the roofline model. Sub-batch interleaving is a
/// stage-level schedule (`StageSimulator`), not a per-operator cost. For energy, an NPU operator's bytes are
/// ordinary DRAM column reads (RD, one per 32 B, with one ACT16/PREA per 16 rows of the banks, as the roofline
/// estimates PIM rows) and its flops are ALU operations priced like the HUB's.
public struct XPUPIMCostModel: OpCostModel {
    public let pim: any OpCostModel
    public let npu: NPUSpec
    public let module: ModuleConfig

    public init(pim: any OpCostModel, npu: NPUSpec, module: ModuleConfig) {
        self.pim = pim
        self.npu = npu
        self.module = module
    }

    /// Bytes/s the NPU reads (given, or the channels' data buses).
    public var npuBandwidth: Double { npu.bandwidth(channels: module.channels, tCKps: module.tCKps) }

    /// Whether the NPU runs this operator (the weight GEMVs).
    public static func runsOnNPU(_ kind: OpKind) -> Bool {
        [.qkvProjection, .outputProjection, .ffn, .lmHead].contains(kind)
    }

    public func cost(of op: DecodeOp) -> OpCost {
        guard Self.runsOnNPU(op.kind) else { return pim.cost(of: op) }
        let compute = Double(op.flops) / (npu.flops * npu.computeEfficiency)
        let memory = Double(op.bytesRead + op.bytesWritten) / (npuBandwidth * npu.bandwidthEfficiency)
        var commands = CommandCounts()
        let bytes = op.bytesRead + op.bytesWritten
        let rowGroup = Int64(module.rowBytes * module.banksPerChannel)
        commands[.rd] = (bytes + Int64(module.columnBytes) - 1) / Int64(module.columnBytes)
        commands[.act16] = (bytes + rowGroup - 1) / rowGroup
        commands[.prea] = commands[.act16]
        return OpCost(latency: Time.picoseconds(seconds: max(compute, memory)), commands: commands, hubFlops: op.flops)
    }
}
