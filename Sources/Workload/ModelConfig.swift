/// The dimensions of a decoder-only transformer, as the simulator needs them.
/// All weights and KV-cache entries are 16-bit (BF16 on AiM): `bytesPerElement` = 2.
public struct ModelConfig: Sendable, Hashable, Codable {
    public var name: String
    public var layers: Int
    public var hidden: Int
    public var queryHeads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Intermediate size of the gated FFN (three matrices: gate, up, down).
    public var ffn: Int
    public var vocab: Int
    /// Longest context (prompt + generated tokens) the model supports, in tokens.
    public var maxContext: Int
    public var bytesPerElement: Int = 2
    /// What else of the architecture changes the arithmetic (RoPE, norms, biases), for models read from a
    /// `config.json` or the presets of real models; nil for the paper's presets and dimensions given by hand.
    public var architecture: ModelArchitecture?
    /// The checkpoint directory the model was read from (`model.checkpoint`), for runs that need its weights.
    public var checkpoint: String?

    public init(
        name: String, layers: Int, hidden: Int, queryHeads: Int, kvHeads: Int, headDim: Int,
        ffn: Int, vocab: Int, maxContext: Int, bytesPerElement: Int = 2
    ) {
        self.name = name
        self.layers = layers
        self.hidden = hidden
        self.queryHeads = queryHeads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.ffn = ffn
        self.vocab = vocab
        self.maxContext = maxContext
        self.bytesPerElement = bytesPerElement
    }

    /// Query heads sharing one KV head (1 without grouped-query attention).
    public var groupSize: Int { queryHeads / kvHeads }

    /// Bytes of one transformer layer's weights: Q, K, V, O projections, the three FFN matrices, two norms.
    public var weightBytesPerLayer: Int64 {
        let q = Int64(queryHeads * headDim) * Int64(hidden)
        let kv = 2 * Int64(kvHeads * headDim) * Int64(hidden)
        let o = Int64(queryHeads * headDim) * Int64(hidden)
        let ffnWeights = 3 * Int64(hidden) * Int64(ffn)
        let norms = 2 * Int64(hidden)
        return (q + kv + o + ffnWeights + norms) * Int64(bytesPerElement)
    }

    /// Bytes of the final norm and the LM head (vocab × hidden); they live on the last pipeline stage.
    public var lmHeadBytes: Int64 {
        (Int64(vocab) * Int64(hidden) + Int64(hidden)) * Int64(bytesPerElement)
    }

    /// KV-cache bytes one token adds in one layer: K and V, kv heads × head dim each.
    public var kvBytesPerTokenPerLayer: Int64 {
        2 * Int64(kvHeads) * Int64(headDim) * Int64(bytesPerElement)
    }

    /// Bytes of the activation a pipeline stage passes on for one request (hidden × 2 B).
    public var activationBytesPerRequest: Int { hidden * bytesPerElement }

    /// The share of the model one member of a tensor-parallel group of `tp` modules holds and computes
    /// (Megatron-style): query and KV heads, the FFN's intermediate size and the LM head's vocabulary split
    /// `tp` ways (QKV, gate and up by output rows; O and down by input columns, leaving partial sums for an
    /// all-reduce); the hidden size, norms and residual stream stay whole on every member. `tp` must divide
    /// the heads and the FFN size (see `tensorParallelProblems`) everywhere but under `partitioning: cent`, whose
    /// model-parallel mode splits the FC layers by rows rounded up as CENT does; every share is rounded up.
    public func sharded(tp: Int) -> ModelConfig {
        guard tp > 1 else { return self }
        func share(_ n: Int) -> Int { (n + tp - 1) / tp }
        var m = self
        m.queryHeads = share(queryHeads)
        m.kvHeads = share(kvHeads)
        m.ffn = share(ffn)
        m.vocab = share(vocab)
        return m
    }

    /// Why `tp` modules cannot split this model evenly, as sentences; empty when they can.
    public func tensorParallelProblems(tp: Int) -> [String] {
        var found: [String] = []
        if tp < 1 { found.append("the tensor-parallel degree must be at least 1, got \(tp)") }
        guard tp > 1 else { return found }
        if kvHeads % tp != 0 { found.append("kv_heads (\(kvHeads)) is not a multiple of tp (\(tp))") }
        if queryHeads % tp != 0 { found.append("query_heads (\(queryHeads)) is not a multiple of tp (\(tp))") }
        if ffn % tp != 0 { found.append("ffn (\(ffn)) is not a multiple of tp (\(tp))") }
        return found
    }

    /// The four presets of docs/REFERENCE.md §5.1.
    /// Every preset a topology may name: the paper's four (docs/REFERENCE.md §5.1) and the real models.
    public static let presets: [String: ModelConfig] = paperModels.merging(realModels) { a, _ in a }

    /// The paper's four models, by the dimensions of the real models it points to.
    public static let paperModels: [String: ModelConfig] = [
        "llm-7b-32k": ModelConfig(
            name: "llm-7b-32k", layers: 32, hidden: 4096, queryHeads: 32, kvHeads: 32,
            headDim: 128, ffn: 11008, vocab: 151_936, maxContext: 32_768),
        "llm-7b-128k-gqa": ModelConfig(
            name: "llm-7b-128k-gqa", layers: 32, hidden: 4096, queryHeads: 32,
            kvHeads: 8, headDim: 128, ffn: 14336, vocab: 128_256,
            maxContext: 131_072),
        "llm-72b-32k": ModelConfig(
            name: "llm-72b-32k", layers: 80, hidden: 8192, queryHeads: 64, kvHeads: 64,
            headDim: 128, ffn: 24576, vocab: 152_064, maxContext: 32_768),
        "llm-72b-128k-gqa": ModelConfig(
            name: "llm-72b-128k-gqa", layers: 80, hidden: 8192, queryHeads: 64,
            kvHeads: 8, headDim: 128, ffn: 28672, vocab: 128_256,
            maxContext: 131_072),
    ]

    /// Real long-context models from their published `config.json` (docs/REFERENCE.md §5.1): dimensions and
    /// architecture (RoPE, norm epsilon, biases) as their checkpoints have them.
    public static let realModels: [String: ModelConfig] = {
        func model(
            _ name: String, _ layers: Int, _ hidden: Int, _ heads: Int, _ kvHeads: Int, _ ffn: Int, _ vocab: Int,
            _ architecture: ModelArchitecture
        ) -> ModelConfig {
            var m = ModelConfig(
                name: name, layers: layers, hidden: hidden, queryHeads: heads, kvHeads: kvHeads,
                headDim: hidden / heads, ffn: ffn, vocab: vocab, maxContext: 131_072)
            m.architecture = architecture
            return m
        }
        // Llama 3.1: rope_theta 500,000 with llama3 scaling (factor 8, bands 1 and 4, trained at 8,192 tokens).
        let llama = ModelArchitecture(
            family: .llama, ropeTheta: 500_000,
            ropeScaling: RoPEScaling(
                type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192),
            rmsNormEps: 1e-5)
        // Qwen2.5: rope_theta 1,000,000, biases on Q, K and V.
        let qwen = ModelArchitecture(family: .qwen2, ropeTheta: 1_000_000, rmsNormEps: 1e-6, qkvBias: true)
        return [
            "llama-3.1-8b": model("llama-3.1-8b", 32, 4096, 32, 8, 14336, 128_256, llama),
            "llama-3.1-70b": model("llama-3.1-70b", 80, 8192, 64, 8, 28672, 128_256, llama),
            "qwen2.5-7b": model("qwen2.5-7b", 28, 3584, 28, 4, 18944, 152_064, qwen),
            "qwen2.5-72b": model("qwen2.5-72b", 80, 8192, 64, 8, 29568, 152_064, qwen),
        ]
    }()

    public static var presetNames: [String] { presets.keys.sorted() }

    /// Problems with the dimensions, as sentences; empty when the model is consistent.
    public var problems: [String] {
        var found: [String] = []
        for (label, value) in [
            ("layers", layers), ("hidden", hidden), ("query_heads", queryHeads),
            ("kv_heads", kvHeads), ("head_dim", headDim), ("ffn", ffn), ("vocab", vocab),
            ("max_context", maxContext),
        ] where value <= 0 {
            found.append("\(label) must be positive, got \(value)")
        }
        if kvHeads > 0 && queryHeads % kvHeads != 0 {
            found.append("query_heads (\(queryHeads)) must be a multiple of kv_heads (\(kvHeads))")
        }
        return found
    }
}
