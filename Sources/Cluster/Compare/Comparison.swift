import Baselines
import Foundation
import PIMModule
import Workload
import Yams

/// `lolpim compare`: the same model and request stream on the baselines and on the PIM system with the
/// paper's ideas added one by one, each PIM row at its best tensor × pipeline split.
///
/// Rows: multi-GPU on A100s and on H100s, GPU-PIM (AttAcc-like), then PIM at `command` fidelity: CENT-like
/// (head-first partitioning, static scheduling, static allocation), + token-parallel partitioning, + DCS,
/// + DPA (LoL-PIM). Every PIM variant × valid split is a full multi-process run (one resumable sweep); the GPU
/// rows come from the `Baselines` models over the same requests. Every row is capped at the topology's
/// `workload.batch_size` and admits requests as its memory allows. Every system starts with each request's
/// prompt KV in place (`prefill_kv: resident`): prefill is not part of the comparison.
public struct Comparison {
    public let topologyFile: String
    public let topology: Topology
    public let plan: PipelinePlan
    /// GPUs of the GPU rows (and AttAcc devices of the GPU-PIM row).
    public var gpus: Int
    public var outputDirectory: String
    public var transport: TransportKind = .ipc
    public var progress = true
    public var registrationTimeoutMs = 60_000
    /// The kernel-timing store every run uses.
    public var kernelStore: KernelStoreChoice = .off
    /// Largest tensor-parallel degree the PIM rows try (collectives cost wall-clock time: see README).
    public var maxTP = 8
    /// The xPU+PIM row's NPU bandwidth, GB/s (nil: the module's derived default).
    public var npuBandwidthGbps: Double?

    /// 16 hex digits of an FNV-1a hash of the topology file: the runs' CSV is named after it, so that an edited
    /// topology never reuses the runs of the old one.
    static func fingerprint(_ file: String) throws -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in try Data(contentsOf: URL(fileURLWithPath: file)) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    public init(topologyFile: String, topology: Topology, outputDirectory: String, gpus: Int? = nil) throws {
        self.topologyFile = topologyFile
        self.topology = topology
        plan = try PipelinePlan(topology: topology)
        self.outputDirectory = outputDirectory
        self.gpus = gpus ?? Self.memoryMatchedGPUs(topology)
        if let problem = MultiGPUSystem(gpu: .a100, count: self.gpus, model: topology.model).problems.first {
            throw RuntimeError.refused("\(self.gpus) GPUs cannot split \(topology.model.name): \(problem); choose --gpus")
        }
    }

    /// The smallest power of two of 80 GB GPUs with at least the PIM system's memory (HARDWARE.md §5:
    /// 2 GPUs for the 128 GB system of 7B models, 8 for the 512 GB system of 72B models).
    public static func memoryMatchedGPUs(_ t: Topology) -> Int {
        let pim = Int64(t.cluster.modules) * t.cluster.module.capacityBytes
        var n = 1
        while Int64(n) * GPUSpec.a100.memoryBytes < pim { n *= 2 }
        return n
    }

    /// One PIM configuration of the ladder.
    public struct Variant: Sendable {
        public var name: String
        /// Short name for chart axes.
        public var label: String
        public var partitioning: AttentionPartitioning
        public var scheduling: SchedulingPolicy
        public var allocation: AllocationScheme
        /// An xPU+PIM system (NeuPIMs-like) of half as many 32 GB modules instead of the topology's PIM-only one.
        public var xpu = false
    }

    public static let ladder: [Variant] = [
        Variant(name: "xPU+PIM (NeuPIMs-like, hfp, static sched., static alloc.)", label: "xPU+PIM",
                partitioning: .headFirst, scheduling: .static, allocation: .static, xpu: true),
        Variant(name: "CENT-like PIM (hfp, static scheduling, static allocation)", label: "CENT-like",
                partitioning: .headFirst, scheduling: .static, allocation: .static),
        Variant(name: "+ token-parallel partitioning", label: "+tcp", partitioning: .tokenParallel, scheduling: .static,
                allocation: .static),
        Variant(name: "+ DCS scheduling", label: "+dcs", partitioning: .tokenParallel, scheduling: .dcs, allocation: .static),
        Variant(name: "+ DPA allocation (LoL-PIM)", label: "+dpa (LoL-PIM)", partitioning: .tokenParallel, scheduling: .dcs,
                allocation: .dpa),
    ]

    /// One row of the comparison.
    public struct Row: Sendable, Equatable {
        public var system: String
        /// Short name for chart axes.
        public var label: String
        /// How it is split: "8 GPUs tp 8" or "tp 2 × pp 4"; the error for a row that could not run.
        public var configuration: String
        public var throughputTokensPerS: Double?
        public var timePerOutputTokenP50Ps: Picoseconds?
        public var meanEffectiveBatch: Double?
        public var energyPerTokenJ: Double?
        /// throughput / the A100 row's and the H100 row's.
        public var speedupOverA100: Double?
        public var speedupOverH100: Double?
    }

    public func run() throws -> [Row] {
        var rows = gpuRows()
        rows += try pimRows()
        let a100 = rows[0].throughputTokensPerS, h100 = rows[1].throughputTokensPerS
        for i in rows.indices {
            guard let t = rows[i].throughputTokensPerS else { continue }
            rows[i].speedupOverA100 = a100.flatMap { $0 > 0 ? t / $0 : nil }
            rows[i].speedupOverH100 = h100.flatMap { $0 > 0 ? t / $0 : nil }
        }
        return rows
    }

    func gpuRows() -> [Row] {
        let model = topology.model
        let systems: [(String, String, any DecodeSystem)] = [
            ("multi-GPU A100-80GB", "A100", MultiGPUSystem(gpu: .a100, count: gpus, model: model)),
            ("multi-GPU H100-80GB", "H100", MultiGPUSystem(gpu: .h100, count: gpus, model: model)),
            ("GPU-PIM (AttAcc-like)", "GPU-PIM", GPUPIMSystem(gpus: gpus, model: model)),
        ]
        return systems.map { name, label, system in
            let r = BaselineDecodeRun(system: system, requests: plan.requests, maxBatch: topology.workload.batchSize).run()
            guard r.generatedTokens > 0 else {
                return Row(system: name, label: label, configuration: "\(system.name): the model or a request does not fit")
            }
            let skipped = r.rejected > 0 ? " (\(r.rejected) requests do not fit, skipped)" : ""
            return Row(system: name, label: label, configuration: "\(system.name), tp \(gpus)" + skipped,
                       throughputTokensPerS: r.throughputTokensPerS, timePerOutputTokenP50Ps: r.timePerOutputTokenP50Ps,
                       meanEffectiveBatch: r.meanEffectiveBatch, energyPerTokenJ: r.energyPerTokenJ)
        }
    }

    /// Every valid split of every variant, as one sweep; the best split of each variant.
    func pimRows() throws -> [Row] {
        var points: [[Node?]] = []
        var owner: [(variant: Int, tp: Int, pp: Int)] = []
        var invalid: [Int: String] = [:]
        for (v, variant) in Self.ladder.enumerated() {
            var t = topology
            t.fidelity.level = .command
            t.fidelity.partitioning = variant.partitioning
            t.fidelity.scheduling = variant.scheduling
            t.workload.allocation = variant.allocation
            // cluster.modules, kind, preset, npu_bandwidth_gbps: left as the base file has them, except for xPU+PIM.
            var cluster: [Node?] = [nil, nil, nil, nil]
            if variant.xpu {
                // Memory-matched: 32 GB xPU+PIM modules, half as many (HARDWARE.md §3: 4 for 8, 16 for 32).
                let modules = max(1, topology.cluster.modules / 2)
                t.cluster = Topology.ClusterSpec(modules: modules, kind: "xpu-pim", module: ModuleConfig.neupims32)
                t.cluster.module.npu = NPUSpec(memoryBandwidth: npuBandwidthGbps.map { $0 * 1e9 })
                cluster = [Node(String(modules)), Node("xpu-pim"), Node("neupims-32ch"),
                           npuBandwidthGbps.map { Node(String($0)) }]
            }
            let valid = ParallelismPlanner.candidates(for: t).filter { $0.isValid && $0.tp <= maxTP }
            if valid.isEmpty { invalid[v] = ParallelismPlanner.candidates(for: t).first?.problem ?? "no split" }
            for c in valid {
                let fidelity = [Node("command"), Node(variant.partitioning.rawValue), Node(variant.scheduling.rawValue)]
                points.append(cluster + fidelity + [Node(variant.allocation.rawValue), Node("resident")]
                              + ParallelismPlanner.fields(tp: c.tp, pp: c.pp))
                owner.append((v, c.tp, c.pp))
            }
        }
        let csv = outputDirectory + "/compare-runs-\(try Self.fingerprint(topologyFile)).csv"
        let spec = SweepSpec(file: topologyFile, baseFile: topologyFile, output: csv, transport: transport,
                             fields: ["cluster.modules", "cluster.kind", "cluster.preset", "cluster.npu_bandwidth_gbps",
                                      "fidelity.level", "fidelity.partitioning", "fidelity.scheduling", "workload.allocation",
                                      "workload.prefill_kv", "parallelism.tp", "parallelism.pp", "parallelism.layers_per_stage"],
                             points: points)
        var runner = SweepRunner(spec: spec)
        runner.progress = progress
        runner.registrationTimeoutMs = registrationTimeoutMs
        runner.kernelStore = kernelStore
        let recorded = try runner.runAndCollect()
        return Self.ladder.indices.map { v in
            let variant = Self.ladder[v]
            var best: (row: [String: String], tp: Int, pp: Int)?
            for i in points.indices where owner[i].variant == v {
                guard let row = recorded[i],
                      let t = row["throughput_tokens_per_s"].flatMap(Double.init) else { continue }
                if best == nil || t > Double(best!.row["throughput_tokens_per_s"]!)! { best = (row, owner[i].tp, owner[i].pp) }
            }
            guard let best else {
                return Row(system: variant.name, label: variant.label, configuration: invalid[v].map { "cannot run: \($0)" } ?? "every split failed (see \(csv))")
            }
            let modules = variant.xpu ? max(1, topology.cluster.modules / 2) : topology.cluster.modules
            return Row(system: variant.name, label: variant.label, configuration: "\(modules) modules, tp \(best.tp) × pp \(best.pp)",
                       throughputTokensPerS: Double(best.row["throughput_tokens_per_s"]!),
                       timePerOutputTokenP50Ps: best.row["time_per_output_token_p50_ps"].flatMap { Picoseconds($0) },
                       meanEffectiveBatch: best.row["mean_effective_batch_requests"].flatMap(Double.init),
                       energyPerTokenJ: best.row["energy_per_token_j"].flatMap(Double.init))
        }
    }
}
