/// Wall-clock figures of one process: what it sent and received and how long data messages took to arrive.
/// These vary from run to run and live in the `wallclock` section of results.json, never in `simulated`.
public struct WallStats: Codable, Sendable, Equatable {
    public var messagesSent: Int64 = 0
    public var bytesSent: Int64 = 0
    public var messagesReceived: Int64 = 0
    public var bytesReceived: Int64 = 0
    /// One-way latency of received data messages (sender's wall clock to receiver's), nanoseconds.
    public var dataLatency = LatencyHistogram()
    /// Kernel-timing store lookups answered by the store (hits) and not (misses: the kernel was simulated).
    public var kernelStoreHits: Int64 = 0
    public var kernelStoreMisses: Int64 = 0

    public init() {}

    public mutating func sent(bytes: Int) {
        messagesSent += 1
        bytesSent += Int64(bytes)
    }

    public mutating func received(bytes: Int) {
        messagesReceived += 1
        bytesReceived += Int64(bytes)
    }

    public mutating func merge(_ other: WallStats) {
        messagesSent += other.messagesSent
        bytesSent += other.bytesSent
        messagesReceived += other.messagesReceived
        bytesReceived += other.bytesReceived
        dataLatency.merge(other.dataLatency)
        kernelStoreHits += other.kernelStoreHits
        kernelStoreMisses += other.kernelStoreMisses
    }
}

/// A histogram of durations in nanoseconds with power-of-two buckets: bucket i counts values in
/// [2^i, 2^(i+1)) ns (bucket 0 also holds 0). Percentiles are reported as the bucket's upper bound.
public struct LatencyHistogram: Codable, Sendable, Equatable {
    public var buckets: [Int64] = Array(repeating: 0, count: 48)
    public var count: Int64 = 0
    public var sumNs: Int64 = 0
    public var maxNs: Int64 = 0

    public init() {}

    public mutating func record(ns: Int64) {
        let value = max(ns, 0)
        let index = value <= 1 ? 0 : min(63 - value.leadingZeroBitCount, buckets.count - 1)
        buckets[index] += 1
        count += 1
        sumNs += value
        maxNs = max(maxNs, value)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for i in buckets.indices where i < other.buckets.count { buckets[i] += other.buckets[i] }
        count += other.count
        sumNs += other.sumNs
        maxNs = max(maxNs, other.maxNs)
    }

    public var meanNs: Double { count == 0 ? 0 : Double(sumNs) / Double(count) }

    /// Upper bound (ns) of the bucket holding the `fraction` quantile; 0 when empty.
    public func quantileNs(_ fraction: Double) -> Int64 {
        guard count > 0 else { return 0 }
        let rank = Int64((Double(count) * fraction).rounded(.up))
        var seen: Int64 = 0
        for (i, n) in buckets.enumerated() {
            seen += n
            if seen >= max(rank, 1) { return min(Int64(1) << (i + 1), maxNs) }
        }
        return maxNs
    }
}
