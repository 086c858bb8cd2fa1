import PIMModule
import Workload

/// The GPU-PIM baseline (AttAcc-like, docs/REFERENCE.md §6.2): `gpus` GPUs run the weight layers tensor-parallel
/// (as `MultiGPUSystem`), and attention runs on `devices` HBM-PIM devices that hold the whole KV cache.
///
/// Per layer and step: the GPUs compute QKV; each request's new K and V and its query go to the PIM devices
/// (requests × (q + 2 kv) dims × 2 B over the GPUs' links); the devices stream every request's K and V at
/// their internal bandwidth (stacks × external bandwidth per stack × internal multiplier × efficiency) and
/// do the softmax; the attention output comes back (requests × q dims × 2 B); the GPUs run O, the FFN and the
/// all-reduces. Nothing overlaps: the phases of a step follow each other (AttAcc pipelines heads and
/// requests; this is the conservative bound, stated).
public struct GPUPIMSystem: Sendable {
    public let fc: MultiGPUSystem
    public var devices: Int
    /// HBM stacks per device and each stack's capacity and external bandwidth.
    public var stacksPerDevice = 5
    public var stackBytes: Int64 = 16 << 30
    public var stackBandwidth = 670.4e9
    /// Bank-level bandwidth over external: ×16 unconstrained, ×9 under AttAcc's power constraint (default).
    public var internalMultiplier = 9.0
    /// Fraction of the internal bandwidth attention reaches (AttAcc's 0.85 cap on bandwidth by default).
    public var efficiency = 0.85
    /// Standby power of one device, watts. No public source gives HBM3 standby currents; the default scales the
    /// closest public preset, DRAMsim3's HBM2 x128 (IDD2N 40 mA at VDD 1.2 V: 48 mW), to each of an HBM3
    /// stack's 32 pseudo-channels: 5 stacks × 32 × 48 mW = 7.68 W (docs/COMPARE.md §4).
    public var deviceStaticPowerW = 5 * 32 * 0.040 * 1.2

    public init(gpu: GPUSpec = .a100HBM3, gpus: Int, devices: Int? = nil, model: ModelConfig) {
        fc = MultiGPUSystem(gpu: gpu, count: gpus, model: model)
        self.devices = devices ?? gpus
    }

    public var model: ModelConfig { fc.model }

    /// Bytes/s with which all devices together stream the KV cache.
    public var attentionBandwidth: Double {
        Double(devices * stacksPerDevice) * stackBandwidth * internalMultiplier * efficiency
    }

    /// Where one decode step's time goes, picoseconds (`fc` and `other` on the GPUs, `attention` on PIM,
    /// `communication` the GPU all-reduces and the GPU ↔ PIM transfers).
    public func step(contexts: [Int]) -> MultiGPUSystem.StepTime {
        var t = fc.step(contexts: contexts)
        guard !contexts.isEmpty else { return t }
        let layers = Picoseconds(model.layers)
        let tokens = contexts.reduce(Int64(0)) { $0 + Int64($1) }
        let kvBytes = tokens * model.kvBytesPerTokenPerLayer
        // On PIM: stream K and V. The softmax is not charged separately: AttAcc's softmax units keep pace with
        // the stream.
        t.attention = layers * Time.transfer(bytes: kvBytes, bytesPerSecond: attentionBandwidth)
        let b = Int64(contexts.count)
        let toPIM = b * Int64((model.queryHeads + 2 * model.kvHeads) * model.headDim * model.bytesPerElement)
        let fromPIM = b * Int64(model.queryHeads * model.headDim * model.bytesPerElement)
        t.communication += layers * (transfer(toPIM) + transfer(fromPIM))
        return t
    }

    /// One transfer between the GPUs and the PIM devices: the GPUs' links in parallel, plus one latency.
    func transfer(_ bytes: Int64) -> Picoseconds {
        fc.gpu.linkLatencyPs + Time.transfer(bytes: bytes, bytesPerSecond: fc.gpu.linkBytesPerSecond * Double(fc.count))
    }

    /// Bytes of one device (all its stacks).
    public var deviceBytes: Int64 { Int64(stacksPerDevice) * stackBytes }

    /// KV bytes all devices hold; 0 when the GPUs cannot hold the weights.
    public var kvCapacityBytes: Int64 { fc.kvCapacityBytesPerGPU > 0 ? Int64(devices) * deviceBytes : 0 }

    /// Most requests of `tokens` tokens whose KV fits on the devices (the weights stay on the GPUs, which must
    /// hold them).
    public func maxBatch(tokens: Int) -> Int {
        let perRequest = Int64(tokens) * Int64(model.layers) * model.kvBytesPerTokenPerLayer
        return perRequest > 0 ? Int(kvCapacityBytes / perRequest) : 0
    }
}
