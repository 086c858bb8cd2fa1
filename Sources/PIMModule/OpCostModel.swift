import Workload

/// Turns an operator's work into time on one module. Implementations: `RooflineCostModel` (fast, closed
/// form) and `CommandCostModel` (AiM command streams).
public protocol OpCostModel: Sendable {
    func cost(of op: DecodeOp) -> OpCost
}

extension OpCostModel {
    public func latency(of op: DecodeOp) -> Picoseconds { cost(of: op).latency }
}

/// Commands issued, by kind (indexed by `AiMCommandKind.rawValue`), summed over a module's channels.
public struct CommandCounts: Sendable, Equatable, Codable {
    public var values: [Int64]

    public init() { values = Array(repeating: 0, count: AiMCommandKind.allCases.count) }
    public init(_ values: [Int64]) { self.values = values }

    public subscript(kind: AiMCommandKind) -> Int64 {
        get { values[kind.rawValue] }
        set { values[kind.rawValue] = newValue }
    }

    public static func + (a: CommandCounts, b: CommandCounts) -> CommandCounts {
        CommandCounts(zip(a.values, b.values).map { $0 + $1 })
    }

    public static func * (a: CommandCounts, n: Int64) -> CommandCounts { CommandCounts(a.values.map { $0 * n }) }

    /// `self = self + other * times`, in place (a stage adds thousands of operators per micro-batch).
    public mutating func add(_ other: CommandCounts, times: Int64 = 1) {
        guard values.count == other.values.count else {
            self = self + other * times
            return
        }
        for i in values.indices { values[i] += other.values[i] * times }
    }

    /// Counts by command name, for results.json.
    public var byName: [String: Int64] {
        Dictionary(uniqueKeysWithValues: AiMCommandKind.allCases.map { ("\($0)", values[$0.rawValue]) })
    }
}

/// What one operator costs a module: its time, the DRAM commands it takes, and the HUB processor's work.
public struct OpCost: Sendable, Equatable {
    public var latency: Picoseconds
    public var commands: CommandCounts
    /// Floating-point operations on the HUB processor (softmax, norms, element-wise work, reductions).
    public var hubFlops: Int64
    /// Time each channel is busy with the operator's commands, indexed by channel (empty: the operator
    /// runs on the HUB processor alone). At most `latency`; the rest of the operator's time the channel
    /// waits for the busiest channel or for the HUB.
    public var channelBusy: [Picoseconds]

    public init(
        latency: Picoseconds, commands: CommandCounts = CommandCounts(), hubFlops: Int64 = 0,
        channelBusy: [Picoseconds] = []
    ) {
        self.latency = latency
        self.commands = commands
        self.hubFlops = hubFlops
        self.channelBusy = channelBusy
    }

    /// Two operators one after the other.
    public static func + (a: OpCost, b: OpCost) -> OpCost {
        OpCost(
            latency: a.latency + b.latency, commands: a.commands + b.commands, hubFlops: a.hubFlops + b.hubFlops,
            channelBusy: sum(a.channelBusy, b.channelBusy))
    }
}

/// Element-wise sum of two per-channel time lists (an empty list counts as zeros).
func sum(_ a: [Picoseconds], _ b: [Picoseconds], times: Int64 = 1) -> [Picoseconds] {
    var total = a
    accumulate(b, times: times, into: &total)
    return total
}

/// `total = sum(total, b, times: times)`, in place where the lengths agree (a stage adds thousands of operators).
func accumulate(_ b: [Picoseconds], times: Int64, into total: inout [Picoseconds]) {
    if b.isEmpty { return }
    if total.isEmpty {
        total = b.map { $0 * times }
    } else if total.count != b.count {
        total = zip(total, b).map { $0 + $1 * times }
    } else {
        for i in total.indices { total[i] += b[i] * times }
    }
}

/// The time a stage spends on one micro-batch, with the breakdown by operator kind.
public struct StageCost: Sendable, Equatable {
    public var total: Picoseconds = 0
    public var byKind: [OpKind: Picoseconds] = [:]
    public var bytesRead: Int64 = 0
    public var bytesWritten: Int64 = 0
    public var flops: Int64 = 0
    public var commands = CommandCounts()
    public var hubFlops: Int64 = 0
    /// The commands and HUB flops of the attention operators alone (`OpKind.isAttention`), for attention energy.
    public var attentionCommands = CommandCounts()
    public var attentionHubFlops: Int64 = 0
    /// Per-channel busy time by operator kind (see `OpCost.channelBusy`), for the timeline's channel tracks.
    public var channelBusy: [OpKind: [Picoseconds]] = [:]
    /// Time after the module's work that delays the micro-batch's departure without keeping the module (not in
    /// `total`): the `cent` partitioning's embedding trace, which CENT charges to latency alone.
    public var afterModulePs: Picoseconds = 0

    public init() {}

    public mutating func add(_ op: DecodeOp, cost: OpCost, times: Int64 = 1) {
        total += cost.latency * times
        byKind[op.kind, default: 0] += cost.latency * times
        bytesRead += op.bytesRead * times
        bytesWritten += op.bytesWritten * times
        flops += op.flops * times
        commands.add(cost.commands, times: times)
        hubFlops += cost.hubFlops * times
        if op.kind.isAttention {
            attentionCommands.add(cost.commands, times: times)
            attentionHubFlops += cost.hubFlops * times
        }
        if !cost.channelBusy.isEmpty {
            accumulate(cost.channelBusy, times: times, into: &channelBusy[op.kind, default: []])
        }
    }
}

/// A cost model that times a stage's micro-batch as a whole rather than operator by operator (the `cent`
/// partitioning: CENT's lock-step blocks, `CENTCostModel`).
public protocol StageCostModel: OpCostModel {
    /// The cost of `layers` layers (plus the LM head when `includesLMHead`) for one micro-batch.
    func stageCost(step: DecodeStep, layers: Int, contexts: [Int], includesLMHead: Bool) -> StageCost
    /// Whether `stageCost` for these contexts would only look up what was already timed (so there is no slow part
    /// to do on another thread first).
    func isTimed(contexts: [Int], includesLMHead: Bool) -> Bool
}

extension OpCostModel {
    /// Cost of `layers` identical layers (plus the LM head when `includesLMHead`) for one micro-batch.
    public func stageCost(step: DecodeStep, layers: Int, contexts: [Int], includesLMHead: Bool) -> StageCost {
        var cost = StageCost()
        for entry in step.stageOps(contexts: contexts, layers: layers, lmHead: includesLMHead) {
            cost.add(entry.op, cost: self.cost(of: entry.op), times: Int64(entry.times))
        }
        return cost
    }
}
