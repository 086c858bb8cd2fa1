import Workload

/// The accepted range of every numeric topology field, checked when the file is loaded (before anything is
/// allocated or multiplied). The bounds lie far beyond any system or workload lolpim is meant for; they exist
/// so that every product the model forms (bytes, cycles, picoseconds) stays inside 64-bit integers. Each is
/// listed in docs/TOPOLOGY.md ("Accepted ranges"), and a test holds the two in step. The bounds a request trace shares
/// with the topology (tokens per request, requests, arrival times) are `RequestTrace`'s, which reads traces.
public enum TopologyLimits {
    /// An integer field's range and unit.
    public struct IntRange: Sendable {
        public var key: String
        public var range: ClosedRange<Int>
        public var unit: String
    }

    /// A real-valued field's range and unit.
    public struct RealRange: Sendable {
        public var key: String
        public var range: ClosedRange<Double>
        public var unit: String
    }

    // Model dimensions: KV bytes per token per layer stay ≤ 2^26 and one request's KV ≤ 2^60 B.
    public static let layers = IntRange(key: "model.layers", range: 1...1024, unit: "layers")
    public static let hidden = IntRange(key: "model.hidden", range: 1...262_144, unit: "elements")
    public static let queryHeads = IntRange(key: "model.query_heads", range: 1...4096, unit: "heads")
    public static let kvHeads = IntRange(key: "model.kv_heads", range: 1...4096, unit: "heads")
    public static let headDim = IntRange(key: "model.head_dim", range: 1...4096, unit: "elements")
    public static let ffn = IntRange(key: "model.ffn", range: 1...1_048_576, unit: "elements")
    public static let vocab = IntRange(key: "model.vocab", range: 1...4_194_304, unit: "tokens")
    public static let contextTokens = IntRange(
        key: "model.max_context", range: 1...RequestTrace.maxTokens,
        unit: "tokens")

    // The cluster: 4,096 worker processes, 64 TiB per module, a command clock between 10 MHz and 1 THz.
    public static let modules = IntRange(key: "cluster.modules", range: 1...4096, unit: "modules")
    public static let channels = IntRange(key: "cluster.channels", range: 1...1024, unit: "channels")
    public static let banks = IntRange(key: "cluster.banks_per_channel", range: 1...1024, unit: "banks")
    public static let tCK = IntRange(key: "cluster.tck_ps", range: 1...100_000, unit: "ps")
    public static let subBatches = IntRange(key: "cluster.sub_batches", range: 1...1024, unit: "sub-batches")
    public static let capacityGiB = RealRange(key: "cluster.capacity_gib", range: 1e-3...65_536, unit: "GiB")
    public static let tflops = RealRange(key: "cluster.processor_tflops", range: 1e-6...1e6, unit: "TFLOP/s")
    public static let bandwidth = RealRange(key: "cluster.internal_bandwidth_gbps", range: 1e-3...1e7, unit: "GB/s")

    // Links: from 1 MB/s to 10 PB/s, at most one second one way.
    public static let linkBandwidth = RealRange(key: "links.*.bandwidth_gbps", range: 1e-3...1e7, unit: "GB/s")
    public static let latency = RealRange(key: "links.*.latency_ns", range: 0...1e9, unit: "ns")
    /// The network (`network:`): up to one node per module, NICs from 8 Mb/s to 80 Pb/s.
    public static let nodes = IntRange(key: "network.nodes", range: 1...4096, unit: "nodes")
    public static let hostNode = IntRange(key: "network.host_node", range: 0...4095, unit: "node index")
    public static let nicBandwidth = RealRange(key: "network.nic.bandwidth_gbit", range: 1e-3...1e8, unit: "Gb/s")
    /// Host costs (`host.*`, `workload.host_intervention_ns`): at most one second each.
    public static let hostTime = RealRange(key: "host.*_ns", range: 0...1e9, unit: "ns")

    // The workload: 65,536 requests at once, a million in a run, 16 Mi tokens per request.
    public static let batch = IntRange(key: "workload.batch_size", range: 1...65_536, unit: "requests")
    public static let requests = IntRange(
        key: "workload.requests", range: 1...RequestTrace.maxRequests,
        unit: "requests")
    public static let outputTokens = IntRange(
        key: "workload.decode_steps", range: 1...RequestTrace.maxTokens,
        unit: "tokens")
    /// The mean and standard deviation of `workload.output_tokens`: from 0 to the most output tokens.
    public static let outputMoments = RealRange(
        key: "workload.output_tokens",
        range: 0...Double(RequestTrace.maxTokens), unit: "tokens")
    public static let chunkKiB = IntRange(key: "workload.chunk_kib", range: 1...1_048_576, unit: "KiB")
    /// Poisson arrivals: from one request in about 11.6 days to a billion per second.
    public static let arrivalRate = RealRange(
        key: "workload.arrival.poisson_per_s", range: 1e-6...1e9,
        unit: "requests/s")
    /// A trace's arrival times and the last synthetic arrival: at most 10^6 s (11.6 days).
    public static let arrivalSeconds = RealRange(
        key: "workload.trace arrival_s",
        range: 0...RequestTrace.maxArrivalSeconds, unit: "s")

    public static let seed = IntRange(key: "seed", range: 0...Int.max, unit: "")
    public static let microBatches = IntRange(
        key: "parallelism.micro_batches", range: 1...65_536, unit: "micro-batches")
    public static let tp = IntRange(key: "parallelism.tp", range: 1...4096, unit: "modules")
    public static let obufEntries = IntRange(key: "fidelity.obuf_entries", range: 2...65_536, unit: "entries")
    public static let processorEfficiency = RealRange(
        key: "fidelity.processor_efficiency", range: 1e-9...1,
        unit: "")

    public static let integers: [IntRange] = [
        layers, hidden, queryHeads, kvHeads, headDim, ffn, vocab,
        contextTokens, modules, channels, banks, tCK, subBatches, batch,
        requests, outputTokens, chunkKiB, seed, microBatches, tp,
        obufEntries, nodes, hostNode,
    ]
    public static let reals: [RealRange] = [
        capacityGiB, tflops, bandwidth, linkBandwidth, latency, hostTime,
        arrivalRate, arrivalSeconds, outputMoments, processorEfficiency, nicBandwidth,
    ]
}
