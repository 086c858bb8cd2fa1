/// The operators of one decode step, as the time breakdown reports them.
public enum OpKind: String, CaseIterable, Sendable, Codable, Comparable {
    case norm = "norm"  // RMSNorm before attention and before the FFN
    case qkvProjection = "qkv_projection"  // x · [Wq Wk Wv]
    case kvAppend = "kv_append"  // write the new token's K and V into the cache
    case attentionScore = "attention_score"  // Q Kᵀ over the request's context
    case softmax = "softmax"
    case attentionValue = "attention_value"  // S V over the request's context
    case outputProjection = "output_projection"  // · Wo
    case residual = "residual"  // the two residual adds
    case ffn = "ffn"  // gate, up and down matrices
    case ffnActivation = "ffn_activation"  // SiLU(gate) ⊙ up
    case lmHead = "lm_head"  // vocab projection (last stage only; its norm counts as norm)

    /// The attention operators: the K/V append, QKᵀ, softmax and SV (what "attention time" and "attention energy"
    /// count in results and in `lolpim compare`).
    public var isAttention: Bool {
        switch self {
        case .kvAppend, .attentionScore, .softmax, .attentionValue: true
        default: false
        }
    }

    public static func < (a: OpKind, b: OpKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Which hardware runs an operator.
public enum ComputeUnit: String, Sendable, Codable {
    /// The near-bank MAC units of the PIM channels (GEMV and attention products).
    case pim
    /// The module's near-memory processor in the PIM HUB (softmax, norms, element-wise work).
    case processor
}
