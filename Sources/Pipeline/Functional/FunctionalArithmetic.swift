/// The arithmetic a functional run computes in (`fidelity.functional.arithmetic`, docs/MODEL.md, "The AiM MAC's
/// arithmetic").
///
/// - `aim`: what the public sources fix about the AiM MAC unit. Weights, K and V are BF16 in the banks; vectors
///   are rounded to BF16 when written to the global buffer; one MAC16 sums its 16 products and the MAC register's
///   value exactly (in binary64 here) and rounds the result once to BF16, the register's 16 bits; RD_MAC returns
///   that BF16 value. The HUB (the module's processor) works in 32-bit floats: it adds the partial sums of a
///   GEMV's DRAM-row chunks, and it computes norms, RoPE, softmax and SiLU. Activations, partial sums and the KV
///   written to DRAM leave the HUB as BF16.
/// - `fp32`: the same placement and order of operations with every value a 32-bit float and every sum an fp32
///   sum: the arithmetic of CENT's own functional check and of the reference decoder, for comparison.
public enum FunctionalArithmetic: String, Sendable, Hashable, Codable, CaseIterable {
    case aim
    case fp32

    /// A value as it is stored in a bank, written to the global buffer, or sent between modules.
    @inlinable
    public func stored(_ x: Float) -> Float { self == .aim ? BF16.round(x) : x }

    /// Bytes of one value on the wire (an activation or partial-sum element).
    public var wireBytes: Int { self == .aim ? 2 : 4 }

    /// One output row's dot product over one DRAM-row chunk (`count` weights and inputs, both already stored):
    /// WR_BIAS clears the MAC register, each MAC16 adds 16 products, RD_MAC reads the register.
    @inlinable
    public func chunkDot(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int) -> Float {
        switch self {
        case .fp32:
            var s: Float = 0
            for i in 0..<count { s += w[i] * x[i] }
            return s
        case .aim:
            var register: Float = 0
            var i = 0
            while i < count {
                let end = min(i + 16, count)
                var s = Double(register)
                while i < end {
                    s += Double(w[i]) * Double(x[i])
                    i += 1
                }
                register = BF16.round(Float(s))
            }
            return register
        }
    }
}

/// bfloat16: the upper 16 bits of an IEEE binary32 value.
public enum BF16 {
    /// `x` rounded to the nearest BF16 value, ties to even (as PyTorch's `.to(torch.bfloat16)`); NaN and ±∞ stay.
    @inlinable
    public static func round(_ x: Float) -> Float {
        guard x.isFinite else { return x }
        let bits = x.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return Float(bitPattern: rounded & 0xFFFF_0000)
    }

    /// The 16 bits of a value that is already BF16 (`round`'s results).
    @inlinable
    public static func bits(_ x: Float) -> UInt16 { UInt16(truncatingIfNeeded: x.bitPattern >> 16) }

    @inlinable
    public static func value(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
}
