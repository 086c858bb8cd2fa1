import PIMModule
import Workload

/// The multi-GPU baseline: `count` GPUs running the model tensor-parallel (Megatron split, the same as
/// `ModelConfig.sharded`), decoding with FlashDecoding (attention streams each request's K and V once per
/// step) and PagedAttention (KV cache in blocks of `blockTokens`, allocated as requests grow).
///
/// Per decode step and GPU, every operator of the shard takes max(flops / (peak × compute efficiency),
/// bytes / (bandwidth × bandwidth efficiency)) (`GPUSpec.time`), and every layer adds two ring all-reduces
/// of the activations (requests × hidden × 2 B): 2 (n − 1) steps of latency + (bytes / n) / link bandwidth.
/// The KV cache must fit what the weights leave of the GPUs' memory (less a `reserveFraction` for
/// activations and workspace), which limits the batch.
public struct MultiGPUSystem: Sendable {
    public let gpu: GPUSpec
    public let count: Int
    public let model: ModelConfig
    public var blockTokens = 16
    /// Memory kept for activations, workspace and fragmentation. No source gives it (docs/REFERENCE.md §8):
    /// 10 % by default.
    public var reserveFraction = 0.1

    public init(gpu: GPUSpec, count: Int, model: ModelConfig) {
        self.gpu = gpu
        self.count = count
        self.model = model
    }

    /// One GPU's share of the model. With more GPUs than KV heads, each GPU keeps one KV head (replicated, as
    /// tensor-parallel decoders do for GQA models).
    public var shard: ModelConfig {
        var s = model.sharded(tp: count)
        if count > model.kvHeads { s.kvHeads = 1 }
        return s
    }

    /// Why `count` GPUs cannot split the model (query heads and FFN must divide evenly); empty when they can.
    public var problems: [String] {
        count < 1
            ? ["at least one GPU is needed"]
            : model.tensorParallelProblems(tp: count).filter { !$0.hasPrefix("kv_heads") || count < model.kvHeads }
    }

    /// Time of one ring all-reduce of `bytes` over the GPUs.
    public func allReduceTime(bytes: Int64) -> Picoseconds {
        guard count > 1 else { return 0 }
        let n = Int64(count)
        let chunk = (bytes + n - 1) / n
        return 2 * (n - 1) * (gpu.linkLatencyPs + Time.transfer(bytes: chunk, bytesPerSecond: gpu.linkBytesPerSecond))
    }

    /// Where one decode step's time goes, picoseconds.
    public struct StepTime: Sendable, Equatable {
        /// Weight GEMVs: QKV, O, FFN, LM head.
        public var fc: Picoseconds = 0
        /// QKᵀ, softmax, SV and the K/V append.
        public var attention: Picoseconds = 0
        /// Norms, residuals, activation.
        public var other: Picoseconds = 0
        /// All-reduces.
        public var communication: Picoseconds = 0
        public var total: Picoseconds { fc + attention + other + communication }
    }

    /// One decode step for requests with these contexts (tokens attended, the new one included).
    public func step(contexts: [Int]) -> StepTime {
        var t = StepTime()
        guard !contexts.isEmpty else { return t }
        let layers = Picoseconds(model.layers)
        for entry in DecodeStep(model: shard).stageOps(contexts: contexts, layers: model.layers, lmHead: true) {
            let op = entry.op
            let time = gpu.time(flops: op.flops, bytes: op.bytesRead + op.bytesWritten) * Picoseconds(entry.times)
            switch op.kind {
            case .qkvProjection, .outputProjection, .ffn, .lmHead: t.fc += time
            case let kind where kind.isAttention: t.attention += time
            default: t.other += time
            }
        }
        t.communication = 2 * layers * allReduceTime(bytes: Int64(contexts.count * model.activationBytesPerRequest))
        return t
    }

    /// Bytes of weights on each GPU: its share of the layers, of the LM head and of the input embedding
    /// (vocab × hidden, split by vocabulary like the LM head).
    public var weightBytesPerGPU: Int64 {
        Int64(model.layers) * shard.weightBytesPerLayer + shard.lmHeadBytes
            + Int64(shard.vocab) * Int64(model.hidden) * Int64(model.bytesPerElement)
    }

    /// Bytes each GPU has for the KV cache.
    public var kvCapacityBytesPerGPU: Int64 {
        max(0, Int64(Double(gpu.memoryBytes) * (1 - reserveFraction)) - weightBytesPerGPU)
    }

    /// KV bytes one request of `tokens` tokens takes on each GPU, in whole PagedAttention blocks.
    public func kvBytesPerGPU(tokens: Int) -> Int64 {
        let blocks = Int64((tokens + blockTokens - 1) / blockTokens)
        return blocks * Int64(blockTokens) * Int64(model.layers) * shard.kvBytesPerTokenPerLayer
    }

    /// Most requests of `tokens` tokens whose KV fits at once (0: not even one, or the weights do not fit).
    public func maxBatch(tokens: Int) -> Int {
        let perRequest = kvBytesPerGPU(tokens: tokens)
        return perRequest > 0 ? Int(kvCapacityBytesPerGPU / perRequest) : 0
    }
}
