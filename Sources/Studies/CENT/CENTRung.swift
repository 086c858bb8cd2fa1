import Baselines
import Cluster
import Foundation
import PIMModule
import Pipeline
import Workload

/// One of CENT's published pipeline-parallel rows run through lolpim's own pipeline with
/// `fidelity.partitioning: cent` (docs/VALIDATION.md §7): CENT's set-up as a topology, simulated in this process.
///
/// - The model: CENT's dimensions of it (`CENTModel`, vocabulary 32,000).
/// - The modules: CENT's utilised devices, `ceil(L / ceil(L / D))`, one pipeline stage each with `ceil(L / D)`
///   layers but the last, which has what is left (`run_sim.py:298-305`).
/// - The requests: one per block, so `blocks × stages` requests in `stages` micro-batches of `blocks`, all of
///   prompt `T − steps / 2` so that the contexts of the `steps` decode steps centre on CENT's T.
/// - The links: CENT's CXL model (`cxl_latency.py:4-12`, `run_sim.py:286`): 180 ns, and `144 // D` lanes at
///   4 GiB/s each; the host's sampling is CENT's 0.15 ms per token (`utils.py:7`), once per micro-batch.
///
/// Throughput is lolpim's (generated tokens over the makespan, fill and drain included); the time per output
/// token is the median over requests.
public struct CENTRung: Sendable {
    public var row: CENTPublishedRow
    /// Decode steps per request (the fill and drain of the pipeline weigh about stages / (steps × stages)).
    public var steps: Int = 48

    public init(row: CENTPublishedRow) { self.row = row }

    public struct Figures: Sendable, Equatable {
        public var throughputTokensPerS: Double
        public var tokenMs: Double
        public var energyPerTokenMJ: Double
    }

    /// The topology of the row, as YAML (what `lolpim run` would take).
    public func yaml() throws -> String {
        guard let m = CENTModel.named(row.model) else { throw CENTTable.Failure.unknownModel(row.model) }
        let blocks = (m.layers + row.devices - 1) / row.devices
        let stages = (m.layers + blocks - 1) / blocks
        // CENT's split: `blocks` layers on every device but the last, which has what is left (run_sim.py:298-305).
        let split = (0..<stages).map { String(min(blocks, m.layers - $0 * blocks)) }.joined(separator: ", ")
        let lanes = 144 / row.devices
        let gbps = Double(lanes) * 4 * 1.073741824
        let prompt = max(1, row.seqLen - steps / 2)
        let maxContext = prompt + steps + 1
        return """
            name: cent-\(row.model)-T\(row.seqLen)
            seed: 1
            model: {name: \(m.name), layers: \(m.layers), hidden: \(m.dim), query_heads: \(m.heads), \
            kv_heads: \(m.kvHeads), head_dim: \(m.headDim), ffn: \(m.ffn), vocab: \(m.vocabulary), \
            max_context: \(maxContext)}
            cluster: {modules: \(stages), kind: pim-only, preset: cent-32ch}
            links:
              host: {bandwidth_gbps: \(gbps), latency_ns: 180}
              module: {bandwidth_gbps: \(gbps), latency_ns: 180}
            parallelism: {micro_batches: \(stages), layers_per_stage: [\(split)]}
            workload:
              requests: \(blocks * stages)
              batch_size: \(blocks * stages)
              context: \(prompt)
              decode_steps: \(steps)
              arrival: offline
              batching: static
              allocation: static
              max_context: \(maxContext)
              prefill_kv: resident
            fidelity: {level: command, partitioning: cent}
            host: {step_overhead_ns: 150000, per_request_ns: 0}

            """
    }

    /// Runs the row in this process.
    public func run() throws -> Figures {
        let topology = try TopologyLoader.parse(yaml: try yaml(), file: "cent \(row.model) T=\(row.seqLen)")
        let simulated = try SequentialRun(plan: try PipelinePlan(topology: topology)).run().simulated
        return Figures(
            throughputTokensPerS: simulated.throughputTokensPerS,
            tokenMs: Double(simulated.tokenLatency.p50Ps) / 1e9,
            energyPerTokenMJ: simulated.energyPerTokenJ * 1000)
    }
}
