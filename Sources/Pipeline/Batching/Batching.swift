/// When the batch scheduler admits waiting requests and which micro-batches they join: one policy per
/// file beside this one, chosen by `workload.batching` (`Topology.BatchingPolicy.batching`).
public protocol Batching: Sendable {
    /// Whether waiting requests may be admitted now: `allIdle` when no micro-batch is in flight and none holds a
    /// request.
    func admits(allIdle: Bool) -> Bool
    /// Puts the requests just admitted into micro-batches: `members[b]` lists micro-batch b's requests,
    /// `open` the micro-batches not in flight.
    func place(_ admitted: [Int], into members: inout [[Int]], open: [Int], allIdle: Bool)
}

extension Topology.BatchingPolicy {
    /// The policy's rules.
    public var batching: any Batching {
        switch self {
        case .static: StaticBatching()
        case .continuous: ContinuousBatching()
        }
    }
}
