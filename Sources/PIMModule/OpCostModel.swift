import Workload

/// Turns an operator's work into time on one module. Implementations: `RooflineCostModel` (fast, closed
/// form); the command-level AiM model comes beside it.
public protocol OpCostModel: Sendable {
    func latency(of op: DecodeOp) -> Picoseconds
}

/// The time a stage spends on one micro-batch, with the breakdown by operator kind.
public struct StageCost: Sendable, Equatable {
    public var total: Picoseconds = 0
    public var byKind: [OpKind: Picoseconds] = [:]
    public var bytesRead: Int64 = 0
    public var bytesWritten: Int64 = 0
    public var flops: Int64 = 0

    public init() {}

    public mutating func add(_ op: DecodeOp, latency: Picoseconds, times: Int64 = 1) {
        total += latency * times
        byKind[op.kind, default: 0] += latency * times
        bytesRead += op.bytesRead * times
        bytesWritten += op.bytesWritten * times
        flops += op.flops * times
    }
}

extension OpCostModel {
    /// Cost of `layers` identical layers (plus the LM head when `includesLMHead`) for one micro-batch.
    public func stageCost(step: DecodeStep, layers: Int, contexts: [Int], includesLMHead: Bool) -> StageCost {
        var cost = StageCost()
        guard !contexts.isEmpty else { return cost }
        for op in step.layerOps(contexts: contexts) {
            cost.add(op, latency: latency(of: op), times: Int64(layers))
        }
        if includesLMHead {
            for op in step.lmHeadOps(batch: contexts.count) { cost.add(op, latency: latency(of: op)) }
        }
        return cost
    }
}
