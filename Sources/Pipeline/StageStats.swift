import PIMModule
import Workload

/// What one module (a stage's member) did over a run, in simulated time. Workers send it to the
/// coordinator at the end.
public struct StageStats: Sendable, Equatable, Codable {
    public var stage: Int
    /// The module's worker rank and its member index in the stage's tensor-parallel group.
    public var rank: Int
    public var member: Int
    public var firstLayer: Int
    public var layers: Int
    public var includesLMHead: Bool
    public var memory: MemoryPlan
    public var microBatches: Int64 = 0
    /// Time the module computed, picoseconds.
    public var busyPs: Picoseconds = 0
    /// Computing time by operator kind (raw values of `OpKind`), picoseconds.
    public var opTimePs: [String: Picoseconds] = [:]
    public var firstStartPs: Picoseconds?
    public var lastFinishPs: Picoseconds = 0
    /// Time spent in tensor-parallel collectives waiting for the other members' chunks, picoseconds.
    public var collectiveWaitPs: Picoseconds = 0
    /// Time the module was free and a micro-batch's activation was ready upstream but still on its way here
    /// (communication not hidden behind compute), picoseconds.
    public var exposedIngressPs: Picoseconds = 0
    /// The shared links (`network:`) this module's group times for its activations, by name: member 0's copy
    /// is the one reported; empty without a network or inside a node.
    public var sharedLinks: [String: PortStats] = [:]
    /// DRAM bytes the stage read and wrote, and the flops it performed.
    public var bytesRead: Int64 = 0
    public var bytesWritten: Int64 = 0
    public var flops: Int64 = 0
    /// DRAM commands of all the module's channels (estimated from bytes and flops at roofline fidelity).
    public var commands = CommandCounts()
    /// Flops of the HUB processor.
    public var hubFlops: Int64 = 0
    /// The attention operators' share of `commands` and `hubFlops` (`OpKind.isAttention`).
    public var attentionCommands = CommandCounts()
    public var attentionHubFlops: Int64 = 0
    /// KV allocation on this module: host interventions by kind, and peaks over the run.
    public var allocationEvents: [String: Int64] = [:]
    public var peakKvAllocatedBytes: Int64 = 0
    public var peakKvUsedBytes: Int64 = 0
    public var peakRequests: Int = 0
    /// Largest VA→PA table size (entries over all requests) under DPA.
    public var peakTranslationEntries: Int = 0
    /// The stage's two link ends at the end of the run.
    public var ingress: PortStats = .init()
    public var egress: PortStats = .init()
    /// The module's tensor-parallel port (both directions), zero without tensor parallelism.
    public var tpIngress: PortStats = .init()
    public var tpEgress: PortStats = .init()

    public init(stage: StagePlan, member: Int = 0) {
        self.stage = stage.index
        self.member = member
        rank = stage.firstRank + member
        firstLayer = stage.firstLayer
        layers = stage.layers
        includesLMHead = stage.includesLMHead
        memory = stage.memory
    }

    mutating func count(_ events: [AllocationEventKind]) {
        for e in events { allocationEvents[e.rawValue, default: 0] += 1 }
    }

    mutating func observe(_ allocator: any KVAllocator) {
        peakKvAllocatedBytes = max(peakKvAllocatedBytes, allocator.allocatedBytes)
        peakKvUsedBytes = max(peakKvUsedBytes, allocator.usedBytes)
        peakRequests = max(peakRequests, allocator.requests)
        if let dpa = allocator as? DPAAllocator {
            peakTranslationEntries = max(peakTranslationEntries, dpa.translationEntries)
        }
    }

    mutating func record(
        start: Picoseconds, finish: Picoseconds, cost: StageCost, ingress: Port, egress: Port,
        collective: CollectivePorts
    ) {
        microBatches += 1
        busyPs += cost.total
        for (kind, time) in cost.byKind { opTimePs[kind.rawValue, default: 0] += time }
        if firstStartPs == nil { firstStartPs = start }
        lastFinishPs = finish
        tpIngress = PortStats(collective.ingress)
        tpEgress = PortStats(collective.egress)
        collectiveWaitPs = collective.waitPs
        bytesRead += cost.bytesRead
        bytesWritten += cost.bytesWritten
        flops += cost.flops
        commands = commands + cost.commands
        hubFlops += cost.hubFlops
        attentionCommands = attentionCommands + cost.attentionCommands
        attentionHubFlops += cost.attentionHubFlops
        self.ingress = PortStats(ingress)
        self.egress = PortStats(egress)
    }

    /// The shared links' totals: the activations' copies and the collectives' (added where both cross a link).
    mutating func record(shared: [SharedLink: Port], collective: [SharedLink: Port]) {
        sharedLinks = [:]
        for (link, port) in shared { sharedLinks[link.description] = PortStats(port) }
        for (link, port) in collective { sharedLinks[link.description, default: PortStats()].add(PortStats(port)) }
    }
}

/// A port's totals: bytes, messages and the time it spent transferring.
public struct PortStats: Sendable, Equatable, Codable {
    public var bytes: Int64 = 0
    public var messages: Int64 = 0
    public var busyPs: Picoseconds = 0

    public init() {}

    mutating func add(_ other: PortStats) {
        bytes += other.bytes
        messages += other.messages
        busyPs += other.busyPs
    }

    public init(_ port: Port) {
        bytes = port.bytes
        messages = port.messages
        busyPs = port.busy
    }
}
