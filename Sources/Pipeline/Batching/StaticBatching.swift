import Workload

/// Static batching: when every micro-batch is empty, admit waiting requests (arrived by now, in arrival order) up to
/// `batch_size` or memory, spread them over the micro-batches in contiguous groups, and run them to the end.
public struct StaticBatching: Batching {
    public init() {}

    public func admits(allIdle: Bool) -> Bool { allIdle }

    public func place(_ admitted: [Int], into members: inout [[Int]], open: [Int], allIdle: Bool) {
        guard allIdle else { return }
        var i = 0
        for (microBatch, count) in EvenSplit.sizes(admitted.count, parts: members.count).enumerated() {
            members[microBatch] += admitted[i..<(i + count)]
            i += count
        }
    }
}
