/// What of a model's architecture changes its arithmetic beyond its dimensions (`ModelConfig`): the family its
/// checkpoint names, rotary position embedding, the norm's epsilon, tied embeddings, biases. Timing-only runs read
/// none of it; it comes from a HuggingFace `config.json` (`HFConfig`) or a real model's preset. docs/MODEL.md,
/// "Models from checkpoints".
public struct ModelArchitecture: Sendable, Hashable, Codable {
    /// The `architectures` entry of `config.json` lolpim reads.
    public enum Family: String, Sendable, Hashable, Codable, CaseIterable {
        case llama = "LlamaForCausalLM"
        case qwen2 = "Qwen2ForCausalLM"
        case mistral = "MistralForCausalLM"
    }

    public var family: Family
    /// `rope_theta`: the base of the rotary frequencies.
    public var ropeTheta: Double
    /// `rope_scaling` (or the scaling part of `rope_parameters`); nil: plain RoPE.
    public var ropeScaling: RoPEScaling?
    /// `rms_norm_eps`.
    public var rmsNormEps: Double
    /// `tie_word_embeddings`: the LM head is the embedding matrix.
    public var tiedEmbeddings: Bool
    /// Biases on the Q, K and V projections: always for Qwen2, `attention_bias` for Llama.
    public var qkvBias: Bool
    /// `sliding_window` when the model attends to a window only (Mistral, some Qwen2); nil: the whole context.
    public var slidingWindow: Int?

    public init(
        family: Family, ropeTheta: Double, ropeScaling: RoPEScaling? = nil, rmsNormEps: Double,
        tiedEmbeddings: Bool = false, qkvBias: Bool = false, slidingWindow: Int? = nil
    ) {
        self.family = family
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.rmsNormEps = rmsNormEps
        self.tiedEmbeddings = tiedEmbeddings
        self.qkvBias = qkvBias
        self.slidingWindow = slidingWindow
    }
}

/// RoPE frequency scaling as `config.json` gives it (`rope_type` and its parameters).
public struct RoPEScaling: Sendable, Hashable, Codable {
    /// `rope_type` (or the older `type`): `linear`, `dynamic`, `yarn`, `llama3`, …
    public var type: String
    public var factor: Double
    /// `llama3`'s band limits and the context the model was trained at.
    public var lowFreqFactor: Double?
    public var highFreqFactor: Double?
    public var originalMaxPositionEmbeddings: Int?

    public init(
        type: String, factor: Double, lowFreqFactor: Double? = nil, highFreqFactor: Double? = nil,
        originalMaxPositionEmbeddings: Int? = nil
    ) {
        self.type = type
        self.factor = factor
        self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }
}
