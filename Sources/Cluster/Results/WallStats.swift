import Histogram

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

/// Durations in nanoseconds, in an HdrHistogram (hdrhistogram-swift): 1 µs to 1 hour, two significant
/// digits (every recorded value is within 1 % of its bucket's), so percentiles are real quantiles of the
/// samples to that precision, and histograms of several processes merge exactly.
public struct LatencyHistogram: Codable, Sendable, Equatable {
    public private(set) var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1_000,
        highestTrackableValue: 3_600_000_000_000,
        numberOfSignificantValueDigits: .two)
    public private(set) var sumNs: Int64 = 0

    public init() {}

    public var count: Int64 { Int64(clamping: histogram.totalCount) }

    /// Records one duration; negative ones (clocks of two hosts a little apart) count as 0, longer than an
    /// hour as an hour.
    public mutating func record(ns: Int64) {
        let value = UInt64(min(max(ns, 0), 3_600_000_000_000))
        _ = histogram.record(value)
        sumNs &+= Int64(value)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
        sumNs &+= other.sumNs
    }

    public var meanNs: Double { count == 0 ? 0 : Double(sumNs) / Double(count) }
    public var maxNs: Int64 { count == 0 ? 0 : Int64(histogram.max) }

    /// The duration at `percentile` (0…100) of the samples, ns; 0 when empty.
    public func percentileNs(_ percentile: Double) -> Int64 {
        count == 0 ? 0 : Int64(histogram.valueAtPercentile(percentile))
    }
}
