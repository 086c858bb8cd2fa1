import Foundation
import PIMModule
import Pipeline

/// results.json (schema `lolpim-results/1`, documented in docs/RESULTS.md). Keys carry their
/// unit as a suffix: `_ps` picoseconds, `_bytes`, `_per_s`, `_fraction` (0…1), `_ns`, `_us`, `_seconds`.
/// The `simulated` section depends only on the topology and seed; `wallclock` describes this execution.
public struct RunResults: Codable, Sendable {
    public static let schemaVersion = "lolpim-results/1"
    public var schema = RunResults.schemaVersion
    /// False when the run stopped early; `error` says why and `simulated` holds what was gathered.
    public var complete: Bool
    public var error: String?
    public var topology: TopologyInfo
    public var simulated: SimulatedResults
    public var wallclock: WallclockResults
    /// A functional run's tokens and their agreement with the reference decoder; absent when timing only.
    public var functional: FunctionalResults?
}

public struct TopologyInfo: Codable, Sendable {
    public var name: String
    public var file: String
    public var model: String
    public var modules: Int
    public var modulePreset: String
    public var channelsPerModule: Int
    public var fidelity: String
    public var batchSize: Int
    public var microBatches: Int
    public var requests: Int
    /// Output tokens per request, in words ("64" or "normal mean 200 …").
    public var outputTokens: String
    public var context: String
    public var arrival: String
    public var batching: String
    public var allocation: String
    public var seed: UInt64
}

public struct WallclockResults: Codable, Sendable {
    /// Transport the processes used (inproc, ipc, tcp).
    public var transport: String
    public var libzmqVersion: String
    public var workers: Int
    /// From the coordinator's start to the results, seconds.
    public var runSeconds: Double
    /// From the coordinator's start until every worker was ready, seconds.
    public var setupSeconds: Double
    /// The simulator's own speed: simulated generated tokens per second of run time, and stage visits (one
    /// module handling one micro-batch) per second of run time.
    public var simulatedTokensPerWallSecond: Double
    public var stageVisitsPerWallSecond: Double
    /// Summed over the coordinator and the workers.
    public var messagesSent: Int64
    public var bytesSent: Int64
    /// Kernel-timing store lookups of all workers: answered by the store, and simulated instead (misses).
    /// Both 0 without a store or at roofline fidelity.
    public var kernelStoreHits: Int64
    public var kernelStoreMisses: Int64
    /// One-way wall-clock latency of data messages (HdrHistogram percentiles).
    public var dataMessageLatency: LatencyReport
}

public struct LatencyReport: Codable, Sendable {
    public var count: Int64
    public var meanUs: Double
    /// Percentiles of the samples (HdrHistogram, within 1 %).
    public var p50Us: Double
    public var p90Us: Double
    public var p99Us: Double
    public var p999Us: Double
    public var maxUs: Double

    public init(_ h: LatencyHistogram) {
        count = h.count
        meanUs = h.meanNs / 1000
        p50Us = Double(h.percentileNs(50)) / 1000
        p90Us = Double(h.percentileNs(90)) / 1000
        p99Us = Double(h.percentileNs(99)) / 1000
        p999Us = Double(h.percentileNs(99.9)) / 1000
        maxUs = Double(h.maxNs) / 1000
    }
}

extension RunResults {
    /// JSON with sorted keys and snake_case names; deterministic for equal values.
    public func encoded() throws -> Data {
        try Self.encoder.encode(self)
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }

    public static func decode(_ data: Data) throws -> RunResults {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(RunResults.self, from: data)
    }

    /// The bytes of the `simulated` section alone, as written; what the determinism invariant compares.
    public func simulatedSectionBytes() throws -> Data {
        try Self.encoder.encode(simulated)
    }

    public func write(to directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent("results.json")
        try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
        return path
    }
}

extension ResultsBuilder {
    /// The `topology` section of results.json: what the run was, in words.
    public func topologyInfo(file: String) -> TopologyInfo {
        let t = plan.topology
        return TopologyInfo(
            name: t.name, file: file, model: t.model.name, modules: t.cluster.modules,
            modulePreset: t.cluster.module.preset, channelsPerModule: t.cluster.module.channels,
            fidelity: t.fidelity.level.rawValue, batchSize: t.workload.batchSize,
            microBatches: t.parallelism.microBatches, requests: plan.requests.count,
            outputTokens: t.workload.trace != nil ? "from the trace" : t.workload.output.label,
            context: t.workload.trace != nil ? "trace (\(plan.requests.count) requests)" : t.workload.context.label,
            arrival: t.workload.trace != nil ? "trace" : t.workload.arrival.label,
            batching: t.workload.batching.rawValue, allocation: t.workload.allocation.rawValue, seed: t.seed)
    }
}
