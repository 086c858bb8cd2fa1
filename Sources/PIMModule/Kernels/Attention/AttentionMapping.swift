import Workload

/// QKᵀ (scores) or SV (weighted values) of an attention operator.
public enum AttentionPhase: Sendable, Hashable {
    case score, value

    /// The GEMV a channel runs for a slice of `tokens` tokens of one (request, KV head) pair: QKᵀ with the slice's
    /// tokens as rows, head_dim as columns and the GQA group's query heads as inputs (they share the open K rows);
    /// SV with head_dim rows over the slice's tokens (V is stored transposed: a dimension's tokens along a row) and
    /// the group's score vectors as inputs.
    public func slice(tokens: Int, group: Int, headDim: Int) -> GEMVShape {
        self == .score
            ? GEMVShape(rows: tokens, columns: headDim, batch: group)
            : GEMVShape(rows: headDim, columns: tokens, batch: group)
    }
}

/// Consecutive channels that each work on a slice of the same number of tokens in one unit.
public struct ChannelRun: Sendable, Hashable {
    public var first: Int
    public var count: Int
    public var tokens: Int

    public init(first: Int, count: Int, tokens: Int) {
        self.first = first
        self.count = count
        self.tokens = tokens
    }

    public var channels: Range<Int> { first..<(first + count) }
}

/// Channels that start a piece of an attention operator together, each on one slice of one (request, KV head)
/// pair (channels in no run are idle), `repeats` times in a row with the same slice sizes.
public struct AttentionUnit: Sendable, Hashable {
    public var runs: [ChannelRun]
    public var repeats: Int

    public init(runs: [ChannelRun], repeats: Int = 1) {
        self.runs = runs
        self.repeats = repeats
    }

    /// The most tokens any channel of the unit works on.
    public var longestSlice: Int { runs.map(\.tokens).max() ?? 0 }
}

/// How an attention operator's (request, KV head) pairs are spread over a module's channels, and the GEMV a
/// channel runs for its slice of a pair (docs/MAPPING.md §3). One mapping per file beside this one, named by
/// `AttentionPartitioning`; the backends (`ChannelBackend`) time whatever units a mapping gives them.
public protocol AttentionMapping: Sendable {
    /// The name topology files and kernel-store keys use (`fidelity.partitioning`).
    var name: String { get }
    /// Whether a unit's channels wait for each other before the next unit starts (they work on one pair together);
    /// otherwise each channel goes on with its own next slice and the busiest channel decides.
    var lockStep: Bool { get }
    /// Whether every channel of a unit reads the same query vectors in QKᵀ (one broadcast WR_GB).
    var broadcastsQuery: Bool { get }
    /// Whether a pair's SV partial outputs from several channels are reduced on the HUB.
    var reducesOverChannels: Bool { get }
    /// The operator's units in program order.
    func units(contexts: [Int], kvHeads: Int, channels: Int) -> [AttentionUnit]
    /// The GEMV a channel runs for a slice of `tokens` tokens of one pair (before `KernelTimer.canonical`).
    func slice(_ phase: AttentionPhase, tokens: Int, group: Int, headDim: Int) -> GEMVShape
}

extension AttentionMapping {
    /// Every mapping's slices have the same shapes (`AttentionPhase.slice`).
    public func slice(_ phase: AttentionPhase, tokens: Int, group: Int, headDim: Int) -> GEMVShape {
        phase.slice(tokens: tokens, group: group, headDim: headDim)
    }
}

/// The attention partitionings by name (`fidelity.partitioning` in topology files, `--partitioning` on the command
/// line): the attention mappings of lolpim's command model, and CENT's own lowering. A new mapping is a file beside
/// this one and a case here.
public enum AttentionPartitioning: String, Sendable, Hashable, Codable, CaseIterable {
    /// Token-parallel (`TokenParallelMapping`).
    case tokenParallel = "tcp"
    /// Head-first (`HeadFirstMapping`).
    case headFirst = "hfp"
    /// CENT's own code: not an attention mapping of the command model but CENT's lowering of the whole layer,
    /// its lock-step blocks and its near-memory costs (`CENTCostModel`, docs/MAPPING.md §13).
    case cent = "cent"

    /// The partitionings that are attention mappings of the command model.
    public static let attentionMappings: [AttentionPartitioning] = [.tokenParallel, .headFirst]

    /// The mapping's rules (nil for `cent`, which `CENTCostModel` times as a whole stage).
    public var mapping: (any AttentionMapping)? {
        switch self {
        case .tokenParallel: TokenParallelMapping()
        case .headFirst: HeadFirstMapping()
        case .cent: nil
        }
    }
}

/// A contiguous token range of one (request, KV head) pair given to one channel.
public struct AttentionSlice: Sendable, Hashable {
    public var request: Int
    public var head: Int
    public var firstToken: Int
    public var tokens: Int
}

extension AttentionMapping {
    /// The slices each channel handles, in the order it handles them: the mapping's units listed pair by pair
    /// (units cover the pairs in request-major, head-minor order; a pair's tokens go to its channels in channel
    /// order).
    public func assign(contexts: [Int], kvHeads: Int, channels: Int) -> [[AttentionSlice]] {
        var perChannel = Array(repeating: [AttentionSlice](), count: channels)
        var pairs = contexts.indices.lazy.flatMap { r in (0..<kvHeads).lazy.map { (request: r, head: $0) } }
            .makeIterator()
        for unit in units(contexts: contexts, kvHeads: kvHeads, channels: channels) {
            for _ in 0..<unit.repeats {
                if lockStep {
                    // The unit's channels share one pair.
                    guard let pair = pairs.next() else { return perChannel }
                    var first = 0
                    for run in unit.runs {
                        for c in run.channels {
                            perChannel[c].append(
                                AttentionSlice(
                                    request: pair.request, head: pair.head, firstToken: first, tokens: run.tokens))
                            first += run.tokens
                        }
                    }
                } else {
                    // One pair per channel.
                    for run in unit.runs {
                        for c in run.channels {
                            guard let pair = pairs.next() else { return perChannel }
                            perChannel[c].append(
                                AttentionSlice(
                                    request: pair.request, head: pair.head, firstToken: 0, tokens: run.tokens))
                        }
                    }
                }
            }
        }
        return perChannel
    }
}
