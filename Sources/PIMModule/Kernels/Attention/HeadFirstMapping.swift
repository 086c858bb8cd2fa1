/// Head-first (HFP; docs/REFERENCE.md §2.2): each channel gets whole (request, KV head) pairs, pair p =
/// request × kv_heads + head on channel p mod channels. Channels work independently; the busiest one decides.
/// Units are waves: wave w holds pairs w × channels ..< (w + 1) × channels, one per channel.
public struct HeadFirstMapping: AttentionMapping {
    public init() {}

    public var name: String { AttentionPartitioning.headFirst.rawValue }
    public var lockStep: Bool { false }
    public var broadcastsQuery: Bool { false }
    public var reducesOverChannels: Bool { false }

    public func units(contexts: [Int], kvHeads: Int, channels: Int) -> [AttentionUnit] {
        let pairs = contexts.count * kvHeads
        return stride(from: 0, to: pairs, by: channels).map { firstPair in
            var runs: [ChannelRun] = []
            for c in 0..<min(channels, pairs - firstPair) {
                let tokens = contexts[(firstPair + c) / kvHeads]
                if let last = runs.last, last.tokens == tokens, last.first + last.count == c {
                    runs[runs.count - 1].count += 1
                } else {
                    runs.append(ChannelRun(first: c, count: 1, tokens: tokens))
                }
            }
            return AttentionUnit(runs: runs)
        }
    }
}
