/// One operator of a decode step with the work it implies: bytes it reads from and writes to PIM memory and
/// the floating-point operations it performs. A cost model turns this into time.
public struct DecodeOp: Sendable, Hashable {
    public var kind: OpKind
    public var unit: ComputeUnit
    /// Bytes read from the module's DRAM (weights or KV cache).
    public var bytesRead: Int64
    /// Bytes written into the module's DRAM (new K/V entries).
    public var bytesWritten: Int64
    /// Floating-point operations (a multiply-accumulate counts as 2).
    public var flops: Int64
    /// The operator's shape, for cost models that lower it to commands.
    public var shape: OpShape

    public init(
        _ kind: OpKind, _ unit: ComputeUnit, bytesRead: Int64 = 0, bytesWritten: Int64 = 0, flops: Int64,
        shape: OpShape = .elementwise
    ) {
        self.kind = kind
        self.unit = unit
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
        self.flops = flops
        self.shape = shape
    }
}

/// A weight matrix: `rows` outputs × `columns` inputs.
public struct Matrix: Sendable, Hashable, Codable {
    public var rows: Int
    public var columns: Int
    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }
}

/// What an operator computes, in the dimensions a command-level model needs.
public enum OpShape: Sendable, Hashable {
    /// y = W x for each of `batch` input vectors, for each matrix in turn (16-bit weights).
    case gemv([Matrix], batch: Int)
    /// Attention over each request's cache: `contexts` tokens per request, query heads sharing each of
    /// `kvHeads` KV heads in groups, `headDim` elements per head. Score = QKᵀ, value = S V.
    case attention(contexts: [Int], queryHeads: Int, kvHeads: Int, headDim: Int)
    /// The new token's K and V for `requests` requests × `kvHeads` heads of `headDim` elements (DRAM writes).
    case append(requests: Int, kvHeads: Int, headDim: Int)
    /// Element-wise or reduction work for the HUB's processor (softmax, norms, residuals, activations).
    case elementwise
}
