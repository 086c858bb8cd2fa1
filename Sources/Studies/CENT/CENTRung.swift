import Baselines
import Cluster
import Foundation
import PIMModule
import Pipeline
import Workload

/// One of CENT's published rows run through lolpim's own pipeline with `fidelity.partitioning: cent`
/// (docs/VALIDATION.md §7): CENT's set-up as a topology, simulated in this process.
///
/// - The model: CENT's dimensions of it (`CENTModel`, vocabulary 32,000).
/// - A pipeline-parallel row (pp = L, tp 1; `cent_mode: pipeline-parallel`): CENT's utilised devices,
///   `ceil(L / ceil(L / D))`, one pipeline stage each with `ceil(L / D)` layers but the last, which has what is
///   left (`run_sim.py:298-305`); one request per block, so `blocks × stages` requests in `stages` micro-batches of
///   `blocks`.
/// - A tensor-parallel row (pp × tp = D; `cent_mode: model-parallel`): all D devices as pp stages of tp modules,
///   the L layers spread as evenly as they go (CENT's `pp / token latency` assumes L / pp each,
///   `run_sim.py:202-204`); one request per stage, so pp requests in pp micro-batches of one.
/// - Every request has prompt `T − steps / 2`, so that the contexts of the `steps` decode steps centre on CENT's T.
/// - The links, the group's included: CENT's CXL model (`cxl_latency.py:4-12`, `run_sim.py:286`): 180 ns, and
///   `144 // D` lanes at 4 GiB/s each; the host's sampling is CENT's 0.15 ms per token (`utils.py:7`), once per
///   micro-batch.
///
/// Throughput is lolpim's (generated tokens over the makespan, fill and drain included); the time per output
/// token is the median over requests.
public struct CENTRung: Sendable {
    public var row: CENTPublishedRow
    /// Decode steps per request (the fill and drain of the pipeline weigh about stages / (steps × stages)).
    public var steps: Int = 48
    /// `fidelity.cent_score_moves` of a tensor-parallel row's run (MAPPING.md §13).
    public var scoreMoves: CENTScoreMoves = .free

    public init(row: CENTPublishedRow) { self.row = row }

    public struct Figures: Sendable, Equatable {
        public var throughputTokensPerS: Double
        public var tokenMs: Double
        public var energyPerTokenMJ: Double
    }

    /// Whether the row is one of CENT's pipeline-parallel rows (pp = L, tp 1), else a tensor-parallel one.
    static func isPipelineParallel(_ row: CENTPublishedRow, model: CENTModel) -> Bool {
        row.pp == model.layers && row.tp == 1
    }

    /// The topology of the row, as YAML (what `lolpim run` would take).
    public func yaml() throws -> String {
        guard let m = CENTModel.named(row.model) else { throw CENTTable.Failure.unknownModel(row.model) }
        let stages: Int, layers: [Int], requestsPerStage: Int, mode: CENTMode, tp: Int
        if Self.isPipelineParallel(row, model: m) {
            let blocks = (m.layers + row.devices - 1) / row.devices
            stages = (m.layers + blocks - 1) / blocks
            // CENT's split: `blocks` layers on every device but the last, which has what is left (run_sim.py:298-305).
            layers = (0..<stages).map { min(blocks, m.layers - $0 * blocks) }
            requestsPerStage = blocks
            mode = .pipelineParallel
            tp = 1
        } else {
            stages = row.pp
            layers = (0..<stages).map { m.layers / stages + ($0 < m.layers % stages ? 1 : 0) }
            requestsPerStage = 1
            mode = .modelParallel
            tp = row.tp
        }
        let split = layers.map(String.init).joined(separator: ", ")
        let gbps = Double(CENTAnalytic.lanes(devices: row.devices)) * 4 * 1.073741824
        let prompt = max(1, row.seqLen - steps / 2)
        let maxContext = prompt + steps + 1
        let link = "{bandwidth_gbps: \(gbps), latency_ns: 180}"
        return """
            name: cent-\(row.model)-pp\(row.pp)-tp\(row.tp)-T\(row.seqLen)
            seed: 1
            model: {name: \(m.name), layers: \(m.layers), hidden: \(m.dim), query_heads: \(m.heads), \
            kv_heads: \(m.kvHeads), head_dim: \(m.headDim), ffn: \(m.ffn), vocab: \(m.vocabulary), \
            max_context: \(maxContext)}
            cluster: {modules: \(stages * tp), kind: pim-only, preset: cent-32ch}
            links:
              host: \(link)
              module: \(link)
              tp: \(link)
            parallelism: {tp: \(tp), micro_batches: \(stages), layers_per_stage: [\(split)]}
            workload:
              requests: \(requestsPerStage * stages)
              batch_size: \(requestsPerStage * stages)
              context: \(prompt)
              decode_steps: \(steps)
              arrival: offline
              batching: static
              allocation: static
              max_context: \(maxContext)
              prefill_kv: resident
            fidelity: {level: command, partitioning: cent, cent_mode: \(mode.rawValue), \
            cent_score_moves: \(scoreMoves.rawValue)}
            host: {step_overhead_ns: 150000, per_request_ns: 0}

            """
    }

    /// Runs the row in this process; rows that share `caches` and `store` (one table's) time each piece of CENT's
    /// trace once.
    public func run(store: (any KernelTimingStore)? = nil, caches: ProcessCaches = ProcessCaches()) throws -> Figures {
        let file = "cent \(row.model) pp \(row.pp) tp \(row.tp) T=\(row.seqLen)"
        let topology = try TopologyLoader.parse(yaml: try yaml(), file: file)
        let plan = try PipelinePlan(topology: topology)
        let simulated = try SequentialRun(plan: plan, store: store, caches: caches).run().simulated
        return Figures(
            throughputTokensPerS: simulated.throughputTokensPerS,
            tokenMs: Double(simulated.tokenLatency.p50Ps) / 1e9,
            energyPerTokenMJ: simulated.energyPerTokenJ * 1000)
    }
}
