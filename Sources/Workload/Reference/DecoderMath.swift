import Foundation

/// The element-wise arithmetic of a Llama-family decoder step in 32-bit floats, as transformers computes it: the
/// reference decoder's, and the HUB's in functional runs (the module's processor computes norms, RoPE, SiLU and
/// exponentials in fp32; docs/MODEL.md, "Functional runs"). Matrix products and attention are not here: the
/// reference and the functional mode each compute those their own way.
public enum DecoderMath {
    /// `x / sqrt(mean(x²) + ε) · w`.
    public static func rmsNorm(_ x: [Float], _ w: [Float], _ eps: Float) -> [Float] {
        let meanSquare = x.reduce(Float(0)) { $0 + $1 * $1 } / Float(x.count)
        let r = 1 / (meanSquare + eps).squareRoot()
        return zip(x, w).map { $0 * r * $1 }
    }

    /// RoPE on each of `heads` heads of `v` (`headDim` elements each): the pair (i, i + d/2) turned by
    /// position × `inverseFrequencies[i]` (transformers' `rotate_half`).
    public static func rotate(
        _ v: inout [Float], heads: Int, headDim d: Int, position: Int, inverseFrequencies: [Float]
    ) {
        let half = d / 2
        for i in 0..<half {
            let angle = Float(position) * inverseFrequencies[i]
            let c = Float(Foundation.cos(Double(angle))), s = Float(Foundation.sin(Double(angle)))
            for head in 0..<heads {
                let a = v[head * d + i], b = v[head * d + i + half]
                v[head * d + i] = a * c - b * s
                v[head * d + i + half] = b * c + a * s
            }
        }
    }

    /// e^x, through binary64.
    @inlinable
    public static func exp(_ x: Float) -> Float { Float(Foundation.exp(Double(x))) }

    /// SwiGLU's `silu(g) · u`.
    @inlinable
    public static func swiGLU(_ g: Float, _ u: Float) -> Float { g / (1 + exp(-g)) * u }
}
