import Foundation

/// How the next token is chosen from a step's logits: the top logit (greedy, the default), or a draw from the
/// softmax restricted to the k most likely tokens and then to the smallest set of them whose probabilities reach
/// p (top-k, then top-p, as transformers' `TopKLogitsWarper` and `TopPLogitsWarper` apply them, temperature 1).
/// The draws come from a seeded generator, so a run is repeatable; the coordinator of a functional run and the
/// reference use the same rule (docs/MODEL.md, "Sampling").
public struct Sampling: Sendable, Equatable, Codable {
    /// Tokens kept by top-k; nil keeps every token. Greedy when both `topK` and `topP` are nil.
    public var topK: Int?
    /// Probability mass kept by top-p, in (0, 1]; nil keeps every token.
    public var topP: Double?
    /// Seed of the draws (each request draws from `seed` mixed with its index).
    public var seed: UInt64

    public static let greedy = Sampling(topK: nil, topP: nil, seed: 0)

    public init(topK: Int?, topP: Double?, seed: UInt64) {
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    public var isGreedy: Bool { topK == nil && topP == nil }

    /// Why the settings cannot be used, or nil.
    public var problem: String? {
        if let k = topK, k < 1 { return "top-k must be at least 1 (got \(k))" }
        if let p = topP, !(p > 0 && p <= 1) { return "top-p must be in (0, 1] (got \(p))" }
        return nil
    }

    /// The generator of request `request`'s draws.
    public func generator(request: Int) -> SplitMix64 {
        SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(request + 1))
    }

    /// The top logit's index (the lowest index among equals).
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }

    /// The next token from `logits`: greedy, or one draw from `random`.
    public func next(_ logits: [Float], using random: inout SplitMix64) -> Int {
        guard !isGreedy, !logits.isEmpty else { return Self.argmax(logits) }
        // Most likely first; ties by index, so that the order is the same on every machine.
        var order = logits.indices.sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        if let k = topK { order = Array(order.prefix(k)) }
        let top = Double(logits[order[0]])
        var weights = order.map { Foundation.exp(Double(logits[$0]) - top) }
        if let p = topP {
            let total = weights.reduce(0, +)
            var mass = 0.0, keep = 0
            // The smallest prefix whose mass reaches p (at least one token).
            while keep < weights.count {
                mass += weights[keep] / total
                keep += 1
                if mass >= p { break }
            }
            order = Array(order.prefix(keep))
            weights = Array(weights.prefix(keep))
        }
        let total = weights.reduce(0, +)
        let u = Double(random.next() >> 11) / Double(1 << 53) * total
        var cumulative = 0.0
        for (i, w) in weights.enumerated() {
            cumulative += w
            if u < cumulative { return order[i] }
        }
        return order[order.count - 1]
    }
}
