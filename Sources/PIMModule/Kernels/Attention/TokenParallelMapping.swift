import Workload

/// Token-parallel (TCP, called ITPP in the paper's first version; docs/REFERENCE.md §2.2): one KV head's tokens
/// are split into contiguous ranges over all channels, the first `tokens mod channels` channels one token more
/// (`EvenSplit`); QKᵀ scores are concatenated, SV partial sums are reduced once on the HUB. All channels work on
/// the same (request, KV head) pair in lock step, so a request's KV heads are one unit repeated.
public struct TokenParallelMapping: AttentionMapping {
    public init() {}

    public var name: String { AttentionPartitioning.tokenParallel.rawValue }
    public var lockStep: Bool { true }
    public var broadcastsQuery: Bool { true }
    public var reducesOverChannels: Bool { true }

    public func units(contexts: [Int], kvHeads: Int, channels: Int) -> [AttentionUnit] {
        contexts.map { tokens in
            let small = tokens / channels, extra = tokens % channels
            var runs: [ChannelRun] = []
            if extra > 0 { runs.append(ChannelRun(first: 0, count: extra, tokens: small + 1)) }
            if small > 0 { runs.append(ChannelRun(first: extra, count: channels - extra, tokens: small)) }
            return AttentionUnit(runs: runs, repeats: kvHeads)
        }
    }
}
