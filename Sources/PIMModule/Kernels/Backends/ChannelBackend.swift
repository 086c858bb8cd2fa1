/// How a module's channels are timed at command level: the timing rules its kernels obey, the output buffer the
/// lowering may use, and the simulator that runs a kernel. One implementation per backend, each in a file beside
/// this one (Ramulator 2's interface and implementations); `SchedulingPolicy.backend` chooses one by name:
/// - `AiMControllerBackend` (`static`): the public AiM simulator's controller, timing table and single MAC register
///   per bank; kernels are AiM instruction programs, attention operators whole programs over every channel.
/// - `CommandEngineBackend` (`pingpong`, `dcs`): lolpim's channel engine under a `CommandSchedule`, with the
///   LoL-PIM output buffer; attention is the channels' kernels, each channel on its own slices.
public protocol ChannelBackend: Sendable {
    /// The scheduling policy this backend runs (it names the backend in the kernel store's keys).
    var policy: SchedulingPolicy { get }
    /// The timing rules its kernels are simulated under.
    var table: TimingTable { get }
    /// Output-buffer entries per bank the GEMV lowering may use.
    var obufEntries: Int { get }
    /// Whether its kernels are AiM instruction programs, whose text format (`--emit-aim`) then says exactly what
    /// it times; the other backends reorder commands inside the controller, which that format cannot express.
    var runsAiMPrograms: Bool { get }

    /// One GEMV on one channel, cycle by cycle, refreshing from cycle 0 when `refresh`.
    func simulate(_ shape: GEMVShape, order: LoopOrder, lowering: GEMVLowering, refresh: Bool) -> KernelTiming

    /// The commands one GEMV issues on channel `channel`, with their cycles.
    func trace(
        _ shape: GEMVShape, order: LoopOrder, lowering: GEMVLowering, refresh: Bool, channel: Int
    ) -> [IssuedCommand]

    /// One attention operator over every channel of the module, as `mapping` spreads it (refresh included when
    /// `timer.refresh`): its cycles, commands, each channel's busy cycles and the HUB's additions.
    func attention(_ op: AttentionOperator, mapping: any AttentionMapping, timer: KernelTimer) -> AttentionTiming
}

/// One attention operator of a decode step on one module: QKᵀ or SV of every (request, KV head) pair.
public struct AttentionOperator: Sendable, Hashable {
    public var phase: AttentionPhase
    /// Tokens each request's attention covers.
    public var contexts: [Int]
    public var kvHeads: Int
    /// Query heads per KV head (the GQA group).
    public var group: Int
    public var headDim: Int

    public init(phase: AttentionPhase, contexts: [Int], kvHeads: Int, group: Int, headDim: Int) {
        self.phase = phase
        self.contexts = contexts
        self.kvHeads = kvHeads
        self.group = group
        self.headDim = headDim
    }
}

extension AttentionOperator {
    /// HUB additions of one channel's SV slice whose GEMV is `slice`, when it is longer than one DRAM row: it leaves
    /// one partial sum per input chunk, chunks − 1 additions per output (head_dim × group outputs).
    public func chunkAdditions(_ slice: GEMVShape, _ lowering: GEMVLowering) -> Int64 {
        guard phase == .value, slice.columns > 0 else { return 0 }
        return Int64(lowering.geometry(slice).chunks - 1) * Int64(headDim * group)
    }

    /// HUB additions that merge the channels' SV partial outputs of each pair, when the mapping splits a pair's
    /// tokens over all `channels` channels: channels − 1 per output.
    public func reductionAdditions(_ mapping: any AttentionMapping, channels: Int) -> Int64 {
        guard phase == .value, mapping.reducesOverChannels else { return 0 }
        return Int64(contexts.count * kvHeads * group * headDim) * Int64(channels - 1)
    }
}

/// What an attention operator costs on a module's channels, before the HUB's additions are timed.
public struct AttentionTiming: Sendable, Equatable {
    public var cycles: Int64
    /// Commands by kind (`AiMCommandKind.rawValue`).
    public var counts: [Int64]
    /// Cycles each channel works.
    public var busy: [Int64]
    /// Additions on the HUB: the partial sums of SV slices longer than one DRAM row of tokens, and (when the
    /// mapping splits a pair's tokens over channels) the channels' partial outputs.
    public var hubAdditions: Int64
}

extension SchedulingPolicy {
    /// The backend that times kernels under this policy on `module`, with `obufEntries` output-buffer entries
    /// where the policy has a buffer of its own (`pingpong`, `dcs`; at least 2).
    public func backend(module: ModuleConfig, obufEntries: Int) -> any ChannelBackend {
        switch self {
        case .static: AiMControllerBackend(module: module)
        case .pingpong:
            CommandEngineBackend(module: module, policy: self, schedule: PingPongSchedule(), obufEntries: obufEntries)
        case .dcs: CommandEngineBackend(module: module, policy: self, schedule: DCSSchedule(), obufEntries: obufEntries)
        }
    }
}
