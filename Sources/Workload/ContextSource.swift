/// Where each request's prompt (context) length comes from.
public enum ContextSource: Sendable, Hashable, Codable {
    /// Every request has the same prompt length (tokens).
    case fixed(Int)
    /// Lengths drawn from a dataset's length statistics, seeded.
    case dataset(Dataset)

    /// The prompt lengths of `count` requests. Deterministic for a given seed.
    public func lengths(count: Int, seed: UInt64) -> [Int] {
        switch self {
        case .fixed(let tokens):
            return Array(repeating: tokens, count: count)
        case .dataset(let dataset):
            var generator = SplitMix64(seed: seed)
            return dataset.sample(count: count, using: &generator)
        }
    }

    /// The longest prompt this source can produce (tokens).
    public var maxLength: Int {
        switch self {
        case .fixed(let tokens): return tokens
        case .dataset(let dataset): return dataset.max
        }
    }

    /// The mean prompt length of this source (tokens).
    public var meanLength: Double {
        switch self {
        case .fixed(let tokens): return Double(tokens)
        case .dataset(let dataset): return dataset.mean
        }
    }

    public var label: String {
        switch self {
        case .fixed(let tokens): return "fixed \(tokens) tokens"
        case .dataset(let d): return "\(d.name) (mean \(Int(d.mean)), std \(Int(d.std)), \(d.min)…\(d.max) tokens)"
        }
    }
}
