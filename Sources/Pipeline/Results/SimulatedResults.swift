import PIMModule

/// The `simulated` section of results.json (docs/RESULTS.md): what depends only on the topology and the seed.
/// Keys carry their unit as a suffix: `_ps` picoseconds, `_bytes`, `_per_s`, `_fraction` (0…1).
public struct SimulatedResults: Codable, Sendable, Equatable {
    /// Simulated time from the start until the last token was sampled.
    public var makespanPs: Picoseconds
    /// Tokens generated (requests × decode steps completed).
    public var generatedTokens: Int64
    /// generated_tokens / makespan.
    public var throughputTokensPerS: Double
    /// Time between consecutive tokens of a request (the first token: from the start of the run).
    public var tokenLatency: LatencySummary
    /// 1 − Σ stage busy / (stages × makespan): the fraction of module time spent not computing.
    public var pipelineBubbleFraction: Double
    public var stages: [StageResult]
    public var links: [LinkResult]
    public var host: HostResult
    public var capacity: CapacityResult
    /// Energy of all modules by component (see EnergyModel), joules.
    public var energy: EnergyResult
    /// energy.total_j / generated_tokens.
    public var energyPerTokenJ: Double
    public var requests: RequestsResult
    public var kv: KVResult
    public var allocation: AllocationResult
    /// The attention operators (K/V append, QKᵀ, softmax, SV) of all modules: time and energy.
    public var attention: AttentionResult
    /// Mean over modules of `stages[].mac_utilisation_fraction`.
    public var macUtilisationFraction: Double
    /// Links by class, shared links and exposed communication; only with `network:` (absent otherwise).
    public var network: NetworkResult? = nil
}

/// What attention (`OpKind.isAttention`) cost the whole system.
public struct AttentionResult: Codable, Sendable, Equatable {
    /// Σ over modules of the time each spent in attention operators.
    public var timePs: Picoseconds
    /// time_ps / modules / generated tokens: attention time per token of the mean module (the modules work
    /// in parallel, so this is the share of a token's time the system spends in attention).
    public var timePerTokenPs: Double
    /// Energy of the attention operators' commands and HUB work, plus background and refresh energy over the
    /// time the modules spent in attention (`EnergyModel` with busy = elapsed = attention time), joules.
    public var energy: EnergyResult
    /// energy.total_j / generated_tokens.
    public var energyPerTokenJ: Double
    /// energy.background_j / energy.total_j (0 without attention).
    public var backgroundFraction: Double
}

public struct RequestsResult: Codable, Sendable, Equatable {
    public var total: Int
    public var admitted: Int
    public var finished: Int
    /// Most requests that had arrived and waited for admission at once.
    public var maxQueued: Int
    /// Time-weighted mean of the requests decoding at once, over the makespan.
    public var meanEffectiveBatch: Double
    public var peakEffectiveBatch: Int
    /// Per finished request: admission to last token.
    public var endToEndDecode: LatencySummary
    /// Per finished request with more than one output token: (last token − first token) / (outputs − 1).
    public var timePerOutputToken: LatencySummary
}

public struct KVResult: Codable, Sendable, Equatable {
    /// Time-weighted means over the makespan of KV bytes holding tokens (used) and reserved or allocated,
    /// both over the KV capacity of all modules (capacity minus weights).
    public var meanUsedFraction: Double
    public var meanAllocatedFraction: Double
    public var peakUsedFraction: Double
    public var peakAllocatedFraction: Double
    /// Bytes of prefilled KV sent from the host for admitted requests.
    public var prefillTransferBytes: Int64
    /// Samples at scheduling decisions (at most 256, evenly thinned): [time_ps, active requests,
    /// used fraction, allocated fraction].
    public var series: [[Double]]
}

public struct AllocationResult: Codable, Sendable, Equatable {
    public var scheme: String
    public var chunkBytes: Int64
    /// Host interventions by kind (request_start, new_chunk, request_end), summed over modules.
    public var events: [String: Int64]
    /// Host time spent on them.
    public var hostInterventionPs: Picoseconds
    /// Largest VA→PA table (entries over all requests) of any module.
    public var peakTranslationEntries: Int
}

public struct EnergyResult: Codable, Sendable, Equatable {
    public var activationJ: Double
    public var macJ: Double
    public var ioJ: Double
    public var refreshJ: Double
    public var backgroundJ: Double
    public var hubJ: Double
    public var totalJ: Double

    public init(_ b: EnergyModel.Breakdown) {
        activationJ = b.activationJ
        macJ = b.macJ
        ioJ = b.ioJ
        refreshJ = b.refreshJ
        backgroundJ = b.backgroundJ
        hubJ = b.hubJ
        totalJ = b.totalJ
    }
}

public struct LatencySummary: Codable, Sendable, Equatable {
    public var count: Int
    public var meanPs: Picoseconds
    public var p50Ps: Picoseconds
    public var p99Ps: Picoseconds
    public var maxPs: Picoseconds

    /// Nearest-rank percentiles of integer samples; the mean is rounded to the nearest picosecond.
    public init(samples: [Picoseconds]) {
        let sorted = samples.sorted()
        count = sorted.count
        func rank(_ p: Double) -> Picoseconds {
            sorted.isEmpty ? 0 : sorted[max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
        }
        let total = sorted.reduce(0, +)
        meanPs = sorted.isEmpty ? 0 : Picoseconds((Double(total) / Double(sorted.count)).rounded())
        p50Ps = rank(0.5)
        p99Ps = rank(0.99)
        maxPs = sorted.last ?? 0
    }
}

public struct StageResult: Codable, Sendable, Equatable {
    public var stage: Int
    /// The module's worker rank and its member index in the stage's tensor-parallel group (0 without TP).
    public var rank: Int
    public var tpMember: Int
    public var firstLayer: Int
    public var layers: Int
    public var lmHead: Bool
    public var microBatches: Int64
    /// Time the module computed.
    public var busyPs: Picoseconds
    /// makespan − busy.
    public var idlePs: Picoseconds
    /// busy / makespan.
    public var utilisationFraction: Double
    /// Time its ingress and egress ports spent transferring activations.
    public var ingressBusyPs: Picoseconds
    public var egressBusyPs: Picoseconds
    /// Tensor parallelism: bytes the module sent to its group over its TP port, the time that port spent
    /// sending, and the time the module waited in collectives for the other members' chunks.
    public var tpBytesSent: Int64
    public var tpBusyPs: Picoseconds
    public var collectiveWaitPs: Picoseconds
    /// Compute time by operator.
    public var opTimePs: [String: Picoseconds]
    public var dramBytesRead: Int64
    public var dramBytesWritten: Int64
    public var flops: Int64
    /// DRAM bytes read / (peak internal bandwidth × makespan).
    public var internalBandwidthFraction: Double
    /// MAC16 × nCCDL cycles / (channels × makespan cycles): how much of the time the MAC units work.
    public var macUtilisationFraction: Double
    /// DRAM commands by name, all channels.
    public var commands: [String: Int64]
    public var energy: EnergyResult
    public var memory: MemoryResult
}

public struct MemoryResult: Codable, Sendable, Equatable {
    public var capacityBytes: Int64
    public var weightBytes: Int64
    /// capacity − weights.
    public var kvCapacityBytes: Int64
    /// Peaks over the run of KV reserved/allocated and of KV holding tokens.
    public var peakKvAllocatedBytes: Int64
    public var peakKvUsedBytes: Int64
    /// (weights + peak KV allocated) / capacity.
    public var peakUsedFraction: Double
    public var peakRequests: Int
    public var peakTranslationEntries: Int
    /// Host interventions this module needed, by kind.
    public var allocationEvents: [String: Int64]
}

public struct LinkResult: Codable, Sendable, Equatable {
    /// "host->stage0", "stage0->stage1", …, "stageN->host".
    public var name: String
    public var bytes: Int64
    public var messages: Int64
    /// Time the sending port spent transferring.
    public var busyPs: Picoseconds
    /// busy / makespan.
    public var utilisationFraction: Double
}

public struct HostResult: Codable, Sendable, Equatable {
    /// Host time spent sampling and scheduling.
    public var busyPs: Picoseconds
}

public struct CapacityResult: Codable, Sendable, Equatable {
    public var totalBytes: Int64
    public var usedBytes: Int64
    public var usedFraction: Double
}
