import Workload

/// How attention work is spread over a module's channels (docs/REFERENCE.md §2.2).
public enum AttentionPartitioning: String, Sendable, Hashable, Codable, CaseIterable {
    /// Token-parallel (TCP, called ITPP in the paper's first version): one KV head's tokens are split into
    /// contiguous ranges over all channels; QKᵀ scores are concatenated, SV partial sums are reduced once in
    /// the HUB. All channels work on the same (request, head) in lock-step.
    case tokenParallel = "tcp"
    /// Head-first (HFP): each channel gets whole (request, KV head) pairs, round-robin by
    /// request × kv_heads + head; channels work independently, the busiest one decides.
    case headFirst = "hfp"

    /// A contiguous token range of one (request, KV head) pair given to one channel.
    public struct Slice: Sendable, Hashable {
        public var request: Int
        public var head: Int
        public var firstToken: Int
        public var tokens: Int
    }

    /// The slices each channel handles, in the order it handles them.
    public func assign(contexts: [Int], kvHeads: Int, channels: Int) -> [[Slice]] {
        var perChannel = Array(repeating: [Slice](), count: channels)
        for (request, tokens) in contexts.enumerated() {
            for head in 0..<kvHeads {
                switch self {
                case .tokenParallel:
                    var first = 0
                    for channel in 0..<channels {
                        let count = EvenSplit.share(tokens, parts: channels, index: channel)
                        if count > 0 {
                            perChannel[channel].append(
                                Slice(request: request, head: head, firstToken: first, tokens: count))
                        }
                        first += count
                    }
                case .headFirst:
                    let channel = (request * kvHeads + head) % channels
                    perChannel[channel].append(Slice(request: request, head: head, firstToken: 0, tokens: tokens))
                }
            }
        }
        return perChannel
    }
}
