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

    public init(_ kind: OpKind, _ unit: ComputeUnit, bytesRead: Int64 = 0, bytesWritten: Int64 = 0, flops: Int64) {
        self.kind = kind
        self.unit = unit
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
        self.flops = flops
    }
}
