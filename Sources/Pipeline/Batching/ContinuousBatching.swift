/// Continuous batching: whenever a micro-batch comes back, free its finished requests and admit waiting requests
/// into it and into the other micro-batches not in flight, least loaded first, while memory and `batch_size` allow
/// (first come, first served: a request that does not fit blocks the ones behind it).
public struct ContinuousBatching: Batching {
    public init() {}

    public func admits(allIdle: Bool) -> Bool { true }

    public func place(_ admitted: [Int], into members: inout [[Int]], open: [Int], allIdle: Bool) {
        for r in admitted {
            guard let microBatch = open.min(by: { (members[$0].count, $0) < (members[$1].count, $1) }) else { return }
            members[microBatch].append(r)
        }
    }
}
