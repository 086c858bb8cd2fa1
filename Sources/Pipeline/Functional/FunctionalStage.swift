import PIMModule
import Workload

/// What one module (member `member` of stage `stage`'s tensor-parallel group) computes in a functional run
/// (`fidelity.functional`, docs/MODEL.md, "Functional runs"): its share of the checkpoint's weights placed in its
/// banks by the GEMV mapping (`PlacedMatrix`), its requests' K and V in the bytes its KV allocator gives them
/// (`KVPlacement`), and every operator in the run's arithmetic (`FunctionalArithmetic`).
///
/// A micro-batch is computed token round by token round: round r takes the r-th token of every request that has
/// one (a request on its first step brings its whole prompt and the step's token; the others one token) through
/// the stage's layers. Each layer is the attention half (norm, QKV, RoPE, K/V written, attention by the
/// configured partitioning, O) and the FFN half, each ending in the all-reduce of the group's partial sums; the
/// last stage ends with the final norm and its share of the LM head, gathered as an all-reduce of zero-padded
/// logits. With tp = 1 there is nothing to reduce.
public struct FunctionalStage: Sendable {
    public let arithmetic: FunctionalArithmetic
    public let member: Int
    let tp: Int
    let model: ModelConfig
    let eps: Float
    /// The member's heads, KV heads and FFN rows; its vocabulary rows (`vocabFirst ..< vocabFirst + vocabRows`).
    let heads: Int, kvHeads: Int, ffn: Int, vocabFirst: Int, vocabRows: Int
    /// The attention partitioning's mapping; nil for `cent`, whose own split between PIM and the near-memory
    /// units `centAttention` follows.
    let mapping: (any AttentionMapping)?
    let channels: Int
    let module: ModuleConfig
    let layers: [Layer]
    let head: LMHead?
    let inverseFrequencies: [Float]
    public let kv: KVPlacement
    public private(set) var store: BankStore

    struct Layer: Sendable {
        var inputNorm: [Float], postNorm: [Float]
        var qkv: PlacedMatrix, o: PlacedMatrix, gateUp: PlacedMatrix, down: PlacedMatrix
        var qkvBias: [Float]?
    }

    struct LMHead: Sendable {
        var norm: [Float]
        var matrix: PlacedMatrix
    }

    /// Reads the member's share of `checkpoint` and places it in the module's banks.
    public init(
        plan: PipelinePlan, stage: StagePlan, member: Int, checkpoint: HFCheckpoint, arithmetic: FunctionalArithmetic
    ) throws {
        let topology = plan.topology, m = checkpoint.model
        guard let architecture = m.architecture else {
            throw FunctionalError("\(checkpoint.directory): config.json gives no architecture")
        }
        if let problem = topology.fidelity.functionalProblem(model: topology.model, tp: stage.tp) {
            throw FunctionalError(problem)
        }
        let mapping = topology.fidelity.partitioning.mapping
        if let window = architecture.slidingWindow {
            throw FunctionalError("sliding-window attention (\(window) tokens) has no functional mode")
        }
        self.arithmetic = arithmetic
        self.member = member
        self.mapping = mapping
        tp = stage.tp
        model = m
        eps = Float(architecture.rmsNormEps)
        let module = topology.cluster.module
        self.module = module
        channels = module.channels
        let heads = m.queryHeads / stage.tp, kvHeads = m.kvHeads / stage.tp, ffn = m.ffn / stage.tp
        self.heads = heads
        self.kvHeads = kvHeads
        self.ffn = ffn
        let vocabShare = (m.vocab + stage.tp - 1) / stage.tp
        let vocabFirst = min(m.vocab, member * vocabShare)
        let vocabRows = min(m.vocab, vocabFirst + vocabShare) - vocabFirst
        self.vocabFirst = vocabFirst
        self.vocabRows = vocabRows
        inverseFrequencies = try ReferenceDecoder.inverseFrequencies(
            headDim: m.headDim, architecture: architecture, file: checkpoint.directory)
        var store = BankStore(module: module)
        var nextRow = 0
        func place(_ weights: [Float], rows: Int, columns: Int) -> PlacedMatrix {
            let matrix = PlacedMatrix(rows: rows, columns: columns, module: module, baseRow: nextRow)
            matrix.place(weights, in: &store, arithmetic: arithmetic)
            nextRow += matrix.dramRows
            return matrix
        }
        let d = m.headDim, h = m.hidden
        let q = (member * heads * d)..<((member + 1) * heads * d)
        let k = (member * kvHeads * d)..<((member + 1) * kvHeads * d)
        let f = (member * ffn)..<((member + 1) * ffn)
        var layers: [Layer] = []
        for l in stage.firstLayer..<(stage.firstLayer + stage.layers) {
            let p = "model.layers.\(l)."
            func rows(_ name: String, _ range: Range<Int>) throws -> [Float] {
                try checkpoint.read(p + name, elements: (range.lowerBound * h)..<(range.upperBound * h))
            }
            func columns(_ name: String, _ range: Range<Int>, of width: Int) throws -> [Float] {
                let all = try checkpoint.read(p + name)
                return (0..<(all.count / width)).flatMap { r in
                    all[(r * width + range.lowerBound)..<(r * width + range.upperBound)]
                }
            }
            let qkvRows = q.count + 2 * k.count
            let qkv =
                try rows("self_attn.q_proj.weight", q) + rows("self_attn.k_proj.weight", k)
                + rows("self_attn.v_proj.weight", k)
            let bias: [Float]? =
                architecture.qkvBias
                ? try checkpoint.read(p + "self_attn.q_proj.bias", elements: q)
                    + checkpoint.read(p + "self_attn.k_proj.bias", elements: k)
                    + checkpoint.read(p + "self_attn.v_proj.bias", elements: k) : nil
            let gateUp = try rows("mlp.gate_proj.weight", f) + rows("mlp.up_proj.weight", f)
            layers.append(
                Layer(
                    inputNorm: try checkpoint.read(p + "input_layernorm.weight"),
                    postNorm: try checkpoint.read(p + "post_attention_layernorm.weight"),
                    qkv: place(qkv, rows: qkvRows, columns: h),
                    o: place(
                        try columns("self_attn.o_proj.weight", q, of: m.queryHeads * d), rows: h, columns: q.count),
                    gateUp: place(gateUp, rows: 2 * ffn, columns: h),
                    down: place(try columns("mlp.down_proj.weight", f, of: m.ffn), rows: h, columns: ffn),
                    qkvBias: bias))
        }
        self.layers = layers
        if stage.includesLMHead {
            let name = architecture.tiedEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight"
            let weights = try checkpoint.read(name, elements: (vocabFirst * h)..<((vocabFirst + vocabRows) * h))
            head = LMHead(
                norm: try checkpoint.read("model.norm.weight"),
                matrix: place(weights, rows: vocabRows, columns: h))
        } else {
            head = nil
        }
        let needed = Int64(stage.layers * 2 * kvHeads * d * 2)
        guard stage.memory.kvBytesPerToken >= needed else {
            throw FunctionalError(
                "stage \(stage.index) allocates \(stage.memory.kvBytesPerToken) KV bytes per token; its layers' K and "
                    + "V need \(needed) (a bug)")
        }
        kv = KVPlacement(
            module: module, baseRow: nextRow, bytesPerToken: stage.memory.kvBytesPerToken, kvHeads: kvHeads,
            headDim: d)
        self.store = store
    }

    /// Values per token this stage receives and sends on (the hidden size).
    public var hidden: Int { model.hidden }
    /// Whether the stage ends in logits (`vocab` values per request) instead of hidden states.
    public var producesLogits: Bool { head != nil }

    /// Tokens an entry brings: its whole context on its first step (the prompt, then the step's token), else one.
    public static func tokens(_ entry: MicroBatchHeader.Entry) -> Int { entry.isFirst ? Int(entry.context) : 1 }

    /// Computes a micro-batch: `inputs[e]` holds entry e's tokens' hidden states end to end
    /// (`tokens(entry) × hidden` values). Returns, by entry, the same tokens' hidden states after the stage's
    /// layers, or on the last stage the logits of the entry's last token. `allReduce(index, partial, exact)` returns
    /// the group's sum of this member's partial and the others' (`sum`); `exact` partials travel as fp32, the
    /// others as stored values. It is not called with tp = 1.
    public mutating func compute(
        entries: [MicroBatchHeader.Entry], inputs: [[Float]], allocator: any KVAllocator,
        allReduce: (Int, [Float], Bool) throws -> [Float]
    ) throws -> [[Float]] {
        let h = model.hidden
        let counts = entries.map(Self.tokens)
        var states = inputs
        var exchanges = 0
        func reduce(_ partials: [[Float]], exact: Bool = false) throws -> [[Float]] {
            guard tp > 1 else { return partials }
            let flat = partials.flatMap { exact ? $0 : $0.map(arithmetic.stored) }
            let total = try allReduce(exchanges, flat, exact)
            exchanges += 1
            let width = partials.first?.count ?? 0
            return partials.indices.map { Array(total[($0 * width)..<(($0 + 1) * width)]) }
        }
        for round in 0..<(counts.max() ?? 0) {
            let active = entries.indices.filter { round < counts[$0] }
            for (l, layer) in layers.enumerated() {
                var partials: [[Float]] = []
                for e in active {
                    let x = Array(states[e][(round * h)..<((round + 1) * h)])
                    let position = Int(entries[e].context) - counts[e] + round
                    partials.append(
                        try attentionHalf(
                            x, layer: layer, index: l, request: Int(entries[e].request), position: position,
                            allocator: allocator))
                }
                try residual(&states, reduce(partials), active: active, round: round)
                partials = active.map { e in
                    let x = Array(states[e][(round * h)..<((round + 1) * h)])
                    let post = DecoderMath.rmsNorm(x, layer.postNorm, eps)
                    let gu = layer.gateUp.multiply(post, store: store, arithmetic: arithmetic)
                    let activated = (0..<ffn).map { DecoderMath.swiGLU(gu[$0], gu[ffn + $0]) }
                    return layer.down.multiply(activated, store: store, arithmetic: arithmetic)
                }
                try residual(&states, reduce(partials), active: active, round: round)
            }
        }
        guard let head else { return states }
        let shards = entries.indices.map { e in
            let last = Array(states[e][((counts[e] - 1) * h)..<(counts[e] * h)])
            let logits = head.matrix.multiply(
                DecoderMath.rmsNorm(last, head.norm, eps), store: store, arithmetic: arithmetic)
            guard tp > 1 else { return logits }
            var padded = [Float](repeating: 0, count: model.vocab)
            padded.replaceSubrange(vocabFirst..<(vocabFirst + vocabRows), with: logits)
            return padded
        }
        return try reduce(shards, exact: true)
    }

    /// Adds the reduced outputs to the residual stream of the round's tokens (stored values).
    private func residual(_ states: inout [[Float]], _ outputs: [[Float]], active: [Int], round: Int) {
        let h = model.hidden
        for (j, e) in active.enumerated() {
            for i in 0..<h { states[e][round * h + i] = arithmetic.stored(states[e][round * h + i] + outputs[j][i]) }
        }
    }

    /// Norm, QKV, RoPE, the token's K and V written, attention over the request's tokens so far, O: this member's
    /// partial sum of the attention output.
    private mutating func attentionHalf(
        _ x: [Float], layer: Layer, index l: Int, request: Int, position: Int, allocator: any KVAllocator
    ) throws -> [Float] {
        let d = model.headDim
        let normed = DecoderMath.rmsNorm(x, layer.inputNorm, eps)
        var y = layer.qkv.multiply(normed, store: store, arithmetic: arithmetic)
        if let bias = layer.qkvBias { for i in y.indices { y[i] += bias[i] } }
        var q = Array(y[0..<(heads * d)])
        var k = Array(y[(heads * d)..<((heads + kvHeads) * d)])
        let v = y[((heads + kvHeads) * d)...].map(arithmetic.stored)
        DecoderMath.rotate(&q, heads: heads, headDim: d, position: position, inverseFrequencies: inverseFrequencies)
        DecoderMath.rotate(&k, heads: kvHeads, headDim: d, position: position, inverseFrequencies: inverseFrequencies)
        k = k.map(arithmetic.stored)
        for g in 0..<kvHeads {
            try kv.write(
                k[(g * d)..<((g + 1) * d)], request: request, token: position, layer: l, kind: 0, head: g,
                allocator: allocator, store: &store)
            try kv.write(
                v[(g * d)..<((g + 1) * d)], request: request, token: position, layer: l, kind: 1, head: g,
                allocator: allocator, store: &store)
        }
        let attended = try attention(q, request: request, tokens: position + 1, layer: l, allocator: allocator)
        return layer.o.multiply(attended, store: store, arithmetic: arithmetic)
    }

    /// The group's sum of the members' partials, member by member in order (the same on every member).
    public static func sum(_ partials: [[Float]]) -> [Float] {
        var total = partials[0]
        for p in partials.dropFirst() { for i in total.indices { total[i] += p[i] } }
        return total
    }
}
