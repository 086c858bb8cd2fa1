/// The operator graph of one decode step for one micro-batch, per layer.
///
/// `contexts` holds, for each request of the micro-batch, the number of tokens its attention covers in this
/// step (prompt + tokens generated so far, including the one being generated, whose K/V is appended first).
/// FC weights are read once per micro-batch and multiplied with each request's vector (GEMV per request:
/// 2 flops per weight element per request). Attention reads each request's own K and V once per KV head;
/// the query heads of a GQA group each multiply them (flops scale with query heads, bytes with KV heads).
public struct DecodeStep: Sendable {
    public let model: ModelConfig

    public init(model: ModelConfig) { self.model = model }

    /// Flops an element-wise RMSNorm costs per element (square, accumulate, scale, gamma).
    public static let normFlopsPerElement: Int64 = 4
    /// Flops of a numerically stable softmax per score (max, subtract, exp, sum, divide).
    public static let softmaxFlopsPerElement: Int64 = 5
    /// Flops of SiLU(gate) ⊙ up per FFN element.
    public static let activationFlopsPerElement: Int64 = 5

    /// The operators of one transformer layer for a micro-batch.
    public func layerOps(contexts: [Int]) -> [DecodeOp] {
        let m = model
        let b = Int64(contexts.count)
        let h = Int64(m.hidden), e = Int64(m.bytesPerElement)
        let qDim = Int64(m.queryHeads * m.headDim), kvDim = Int64(m.kvHeads * m.headDim)
        let tokens = contexts.reduce(Int64(0)) { $0 + Int64($1) }
        let qkvWeights = (qDim + 2 * kvDim) * h
        let oWeights = qDim * h
        let ffnWeights = 3 * h * Int64(m.ffn)
        let attention = OpShape.attention(
            contexts: contexts, queryHeads: m.queryHeads, kvHeads: m.kvHeads,
            headDim: m.headDim)
        return [
            DecodeOp(.norm, .processor, bytesRead: 2 * h * e, flops: 2 * Self.normFlopsPerElement * b * h),
            DecodeOp(
                .qkvProjection, .pim, bytesRead: qkvWeights * e, flops: 2 * b * qkvWeights,
                shape: .gemv([Matrix(rows: Int(qDim + 2 * kvDim), columns: m.hidden)], batch: contexts.count)),
            DecodeOp(
                .kvAppend, .pim, bytesWritten: b * m.kvBytesPerTokenPerLayer, flops: 0,
                shape: .append(requests: contexts.count, kvHeads: m.kvHeads, headDim: m.headDim)),
            DecodeOp(.attentionScore, .pim, bytesRead: tokens * kvDim * e, flops: 2 * qDim * tokens, shape: attention),
            DecodeOp(.softmax, .processor, flops: Self.softmaxFlopsPerElement * Int64(m.queryHeads) * tokens),
            DecodeOp(.attentionValue, .pim, bytesRead: tokens * kvDim * e, flops: 2 * qDim * tokens, shape: attention),
            DecodeOp(
                .outputProjection, .pim, bytesRead: oWeights * e, flops: 2 * b * oWeights,
                shape: .gemv([Matrix(rows: m.hidden, columns: Int(qDim))], batch: contexts.count)),
            DecodeOp(.residual, .processor, flops: 2 * b * h),
            // Gate and up (2·ffn outputs from hidden inputs, fused), then down (hidden outputs from ffn inputs).
            DecodeOp(
                .ffn, .pim, bytesRead: ffnWeights * e, flops: 2 * b * ffnWeights,
                shape: .gemv(
                    [Matrix(rows: 2 * m.ffn, columns: m.hidden), Matrix(rows: m.hidden, columns: m.ffn)],
                    batch: contexts.count)),
            DecodeOp(.ffnActivation, .processor, flops: Self.activationFlopsPerElement * b * Int64(m.ffn)),
        ]
    }

    /// Final norm and LM head for a micro-batch (run by the last stage; sampling is the host's).
    public func lmHeadOps(batch: Int) -> [DecodeOp] {
        let b = Int64(batch), h = Int64(model.hidden), v = Int64(model.vocab), e = Int64(model.bytesPerElement)
        return [
            DecodeOp(.norm, .processor, bytesRead: h * e, flops: Self.normFlopsPerElement * b * h),
            DecodeOp(
                .lmHead, .pim, bytesRead: v * h * e, flops: 2 * b * v * h,
                shape: .gemv([Matrix(rows: model.vocab, columns: model.hidden)], batch: batch)),
        ]
    }

    /// Every operator one stage runs for a micro-batch, in order, with how many times: each layer operator once
    /// per layer (`layers` times), then, when the stage holds it, the final norm and the LM head once. The one
    /// walk over a stage's operators that the stage simulator, the cost models and the baselines share.
    public func stageOps(contexts: [Int], layers: Int, lmHead: Bool) -> [StageOp] {
        guard !contexts.isEmpty else { return [] }
        return layerOps(contexts: contexts).map { StageOp(op: $0, times: layers, inHead: false) }
            + (lmHead ? lmHeadOps(batch: contexts.count).map { StageOp(op: $0, times: 1, inHead: true) } : [])
    }
}

/// One operator of a stage's decode step and how many times the stage runs it (`DecodeStep.stageOps`).
public struct StageOp: Sendable, Equatable {
    public var op: DecodeOp
    public var times: Int
    /// Part of the final norm and LM head (run once, by the last stage), not of a layer.
    public var inHead: Bool
}
