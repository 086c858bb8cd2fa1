import Foundation

/// A plain implementation of a checkpoint's decoder in 32-bit floats, in one process, that shares nothing with the
/// simulator's mappings: dense matrices, an ordinary softmax, a KV cache per layer (`lolpim reference`,
/// docs/MODEL.md, "The reference decoder"). It is what the functional mode's tokens are checked against, and it is
/// itself checked against transformers' logits on the tiny checkpoints (Tests/Fixtures).
///
/// As transformers computes Llama, Qwen2 and Mistral: RMSNorm (`x / sqrt(mean(x²) + ε) · w`), Q, K, V with their
/// biases where the architecture has them, RoPE on the two halves of each head (`rotate_half`) with θ and llama3
/// scaling, causal attention over the cache with query heads sharing KV heads, O, the SwiGLU FFN
/// (`down(silu(gate(x)) · up(x))`), residuals, the final norm and the LM head (the embedding when tied).
public struct ReferenceDecoder: Sendable {
    public let model: ModelConfig
    public let architecture: ModelArchitecture
    let embedding: [Float]
    let layers: [Layer]
    let finalNorm: [Float]
    let lmHead: [Float]
    /// RoPE's inverse frequencies, one per pair of a head's dimensions.
    let inverseFrequencies: [Float]

    struct Layer: Sendable {
        var inputNorm: [Float], postNorm: [Float]
        var q: [Float], k: [Float], v: [Float], o: [Float]
        var qBias: [Float]?, kBias: [Float]?, vBias: [Float]?
        var gate: [Float], up: [Float], down: [Float]
    }

    /// Reads every weight of `checkpoint` (whole, as 32-bit floats).
    public init(checkpoint: HFCheckpoint) throws(ModelFileError) {
        let m = checkpoint.model
        guard let a = m.architecture else {
            throw ModelFileError(file: checkpoint.directory, "the checkpoint's config.json gave no architecture")
        }
        model = m
        architecture = a
        if let window = a.slidingWindow {
            throw ModelFileError(
                file: checkpoint.directory, item: "sliding_window",
                "the reference attends to the whole context; a window of \(window) tokens is not implemented")
        }
        embedding = try checkpoint.read("model.embed_tokens.weight")
        var layers: [Layer] = []
        for l in 0..<m.layers {
            let p = "model.layers.\(l)."
            func w(_ name: String) throws(ModelFileError) -> [Float] { try checkpoint.read(p + name) }
            layers.append(
                Layer(
                    inputNorm: try w("input_layernorm.weight"), postNorm: try w("post_attention_layernorm.weight"),
                    q: try w("self_attn.q_proj.weight"), k: try w("self_attn.k_proj.weight"),
                    v: try w("self_attn.v_proj.weight"), o: try w("self_attn.o_proj.weight"),
                    qBias: a.qkvBias ? try w("self_attn.q_proj.bias") : nil,
                    kBias: a.qkvBias ? try w("self_attn.k_proj.bias") : nil,
                    vBias: a.qkvBias ? try w("self_attn.v_proj.bias") : nil,
                    gate: try w("mlp.gate_proj.weight"), up: try w("mlp.up_proj.weight"),
                    down: try w("mlp.down_proj.weight")))
        }
        self.layers = layers
        finalNorm = try checkpoint.read("model.norm.weight")
        lmHead = a.tiedEmbeddings ? embedding : try checkpoint.read("lm_head.weight")
        inverseFrequencies = try Self.inverseFrequencies(
            headDim: m.headDim, architecture: a, file: checkpoint.directory)
    }

    /// RoPE's inverse frequencies θ^(−2i/d) in 32-bit floats as transformers computes them, then llama3's scaling:
    /// long wavelengths divided by the factor, short ones kept, the band between blended.
    public static func inverseFrequencies(
        headDim d: Int, architecture a: ModelArchitecture, file: String
    ) throws(ModelFileError) -> [Float] {
        let base = Float(a.ropeTheta)
        var inv: [Float] = (0..<d / 2).map { i in
            let exponent = Float(2 * i) / Float(d)
            return 1 / powf(base, exponent)
        }
        guard let s = a.ropeScaling else { return inv }
        guard s.type == "llama3", let low = s.lowFreqFactor, let high = s.highFreqFactor,
            let original = s.originalMaxPositionEmbeddings
        else {
            throw ModelFileError(
                file: file, item: "rope_scaling",
                "RoPE scaling '\(s.type)' is not implemented by the reference (it implements none and llama3)")
        }
        let factor = Float(s.factor), old = Float(original)
        let lowWavelength = old / Float(low), highWavelength = old / Float(high)
        inv = inv.map { f in
            let wavelength = 2 * Float.pi / f
            if wavelength < highWavelength { return f }
            if wavelength > lowWavelength { return f / factor }
            let smooth = (old / wavelength - Float(low)) / (Float(high) - Float(low))
            return (1 - smooth) * f / factor + smooth * f
        }
        return inv
    }

    /// The keys and values of every layer so far, one row per position.
    public struct Cache: Sendable {
        var keys: [[Float]]
        var values: [[Float]]
        /// Tokens fed so far: the position of the next one.
        public internal(set) var positions = 0
    }

    public func emptyCache() -> Cache {
        Cache(keys: Array(repeating: [], count: model.layers), values: Array(repeating: [], count: model.layers))
    }

    /// One request: the prompt fed token by token, then `steps` decode steps, each choosing a token by `sampling`
    /// (greedy by default; draws seeded for request number `request`) or, under teacher forcing, taking the
    /// `continuation`'s token as the next input. Returns every step's chosen token and logits.
    public func decode(
        prompt: [Int], steps: Int, continuation: [Int]? = nil, sampling: Sampling = .greedy, request: Int = 0
    ) -> (generated: [Int], logits: [[Float]]) {
        var cache = emptyCache()
        var random = sampling.generator(request: request)
        for token in prompt.dropLast() { _ = step(token, cache: &cache) }
        var token = prompt.last!, generated: [Int] = [], all: [[Float]] = []
        for s in 0..<steps {
            let logits = step(token, cache: &cache)
            let chosen = sampling.next(logits, using: &random)
            generated.append(chosen)
            all.append(logits)
            token = continuation?[s] ?? chosen
        }
        return (generated, all)
    }

    /// Feeds `token` at the next position and returns the next token's logits.
    public func step(_ token: Int, cache: inout Cache) -> [Float] {
        let h = model.hidden, d = model.headDim, heads = model.queryHeads, kvHeads = model.kvHeads
        let position = cache.positions
        cache.positions += 1
        var x = Array(embedding[(token * h)..<((token + 1) * h)])
        let eps = Float(architecture.rmsNormEps)
        for (l, layer) in layers.enumerated() {
            let normed = Self.rmsNorm(x, layer.inputNorm, eps)
            var q = Self.linear(layer.q, normed, bias: layer.qBias)
            var k = Self.linear(layer.k, normed, bias: layer.kBias)
            let v = Self.linear(layer.v, normed, bias: layer.vBias)
            rotate(&q, heads: heads, position: position)
            rotate(&k, heads: kvHeads, position: position)
            cache.keys[l] += k
            cache.values[l] += v
            let positions = position + 1, scale = 1 / Float(d).squareRoot()
            var attended = [Float](repeating: 0, count: heads * d)
            for head in 0..<heads {
                let kv = head / (heads / kvHeads)
                var scores = (0..<positions).map { t in
                    var s: Float = 0
                    for i in 0..<d { s += q[head * d + i] * cache.keys[l][(t * kvHeads + kv) * d + i] }
                    return s * scale
                }
                let top = scores.max() ?? 0
                var total: Float = 0
                for t in scores.indices {
                    scores[t] = DecoderMath.exp(scores[t] - top)
                    total += scores[t]
                }
                for t in 0..<positions {
                    let p = scores[t] / total
                    for i in 0..<d { attended[head * d + i] += p * cache.values[l][(t * kvHeads + kv) * d + i] }
                }
            }
            let out = Self.linear(layer.o, attended)
            for i in 0..<h { x[i] += out[i] }
            let post = Self.rmsNorm(x, layer.postNorm, eps)
            let gate = Self.linear(layer.gate, post), up = Self.linear(layer.up, post)
            let activated = zip(gate, up).map(DecoderMath.swiGLU)
            let down = Self.linear(layer.down, activated)
            for i in 0..<h { x[i] += down[i] }
        }
        return Self.linear(lmHead, Self.rmsNorm(x, finalNorm, eps))
    }

    /// RoPE on each head of `v` (`DecoderMath.rotate`).
    func rotate(_ v: inout [Float], heads: Int, position: Int) {
        DecoderMath.rotate(
            &v, heads: heads, headDim: model.headDim, position: position, inverseFrequencies: inverseFrequencies)
    }

    static func rmsNorm(_ x: [Float], _ w: [Float], _ eps: Float) -> [Float] { DecoderMath.rmsNorm(x, w, eps) }

    /// `W x + b` for a row-major `[out, in]` matrix.
    static func linear(_ w: [Float], _ x: [Float], bias: [Float]? = nil) -> [Float] {
        let n = x.count, rows = w.count / n
        return (0..<rows).map { o in
            var s: Float = 0
            let row = o * n
            for i in 0..<n { s += w[row + i] * x[i] }
            return s + (bias?[o] ?? 0)
        }
    }
}
