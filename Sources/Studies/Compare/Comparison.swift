import Baselines
import Cluster
import Foundation
import PIMModule
import Pipeline
import Workload
import Yams

/// `lolpim compare`: the same model and requests on GPUs, on GPU-PIM, and on both kinds of PIM system with
/// LoL-PIM's ideas added one by one; every system with about the PIM system's memory and every PIM row at the
/// best configuration its search finds (docs/COMPARE.md).
///
/// Rows: multi-GPU on A100s and on H100s, GPU-PIM (AttAcc-like), then the PIM-only ladder (CENT-like → + TCP →
/// + DCS → LoL-PIM) and the xPU+PIM ladder (NeuPIMs-like → … → LoL-PIM on xPU+PIM), all at `command` fidelity.
/// Every PIM configuration is a full multi-process run; each stage of the search is one resumable sweep. The
/// batch follows memory: every system admits the topology's requests (up to `workload.batch_size`) as its
/// memory allows. Every system starts with each request's prompt KV in place (`prefill_kv: resident`).
public struct Comparison {
    public let topologyFile: String
    public let topology: Topology
    public let plan: PipelinePlan
    public var outputDirectory: String
    /// Transport, progress, time-out and kernel-timing store of every run.
    public var runs = RunOptions()
    /// Largest tensor-parallel degree the PIM rows try.
    public var maxTP = 8
    /// The xPU+PIM rows' NPU bandwidth, GB/s (nil: derived from the module's channels).
    public var npuBandwidthGbps: Double?
    public var search: SearchMode = .staged
    /// GPUs of the GPU rows and of GPU-PIM (nil: memory-matched).
    public var gpus: Int?
    /// HBM-PIM devices of GPU-PIM (nil: memory-matched).
    public var pimDevices: Int?
    /// The PIM rows (default: both ladders). A ladder's baseline should come first for its speedups.
    public var rungs = Ladder.compared
    /// Whether the GPU and GPU-PIM rows are part of the comparison.
    public var baselines = true
    /// Ranked search (`Ranking`): each stage first runs its configurations on fewer decode steps, then only the best
    /// few in full. nil: every configuration runs in full.
    public var ranking: Ranking?

    /// How a ranked search saves runs (docs/COMPARE.md §2, "Ranked search"): every configuration of a stage runs
    /// with `steps` decode steps per request; the `confirmed` fastest of each row, and every one within `tolerance`
    /// of the fastest, run again in full; the row's best is the fastest full run. It applies to topologies whose
    /// requests decode a fixed number of tokens larger than `steps`; elsewhere every configuration runs in full.
    public struct Ranking: Sendable, Equatable {
        public var steps: Int
        public var confirmed: Int
        /// Configurations whose ranked throughput is at least (1 − tolerance) × the fastest's are confirmed too.
        public var tolerance: Double

        public init(steps: Int, confirmed: Int, tolerance: Double = 0.05) {
            self.steps = steps
            self.confirmed = confirmed
            self.tolerance = tolerance
        }

        /// The paper's: 4 decode steps, the fastest and every configuration within 5 % of it confirmed (shown to
        /// choose as the full search on every ladder of the page, docs/VALIDATION.md §6, "The run time").
        public static let paper = Ranking(steps: 4, confirmed: 1, tolerance: 0.05)
    }

    /// The ranking that applies to this topology, if any.
    var activeRanking: Ranking? {
        guard let ranking, case .fixed(let steps) = topology.workload.output, steps > ranking.steps,
            topology.workload.trace == nil
        else { return nil }
        return ranking
    }

    public init(topologyFile: String, topology: Topology, outputDirectory: String) throws {
        self.topologyFile = topologyFile
        self.topology = topology
        plan = try PipelinePlan(topology: topology)
        self.outputDirectory = outputDirectory
    }

    /// Memory of the topology's PIM-only system, bytes (the figure every other system is matched to).
    public var pimMemoryBytes: Int64 { Int64(topology.cluster.modules) * topology.cluster.module.capacityBytes }

    /// What a row measured. Optional figures do not apply to the row's kind (no MAC units, no pipeline).
    public struct Figures: Sendable, Equatable {
        public var throughputTokensPerS: Double
        public var timePerOutputTokenP50Ps: Picoseconds
        public var meanEffectiveBatch: Double
        public var energyPerTokenJ: Double
        public var attentionTimePerTokenPs: Double
        public var attentionEnergyPerTokenJ: Double
        public var attentionBackgroundFraction: Double
        public var macUtilisationFraction: Double?
        public var kvCapacityUtilisationFraction: Double
        public var pipelineBubbleFraction: Double?
    }

    /// One row of the comparison.
    public struct Row: Sendable, Equatable {
        public var system: String
        /// Short name for chart axes.
        public var label: String
        public var kind: SystemKind
        /// Memory of all the row's devices, bytes.
        public var memoryBytes: Int64
        /// Devices and the chosen configuration, in words.
        public var configuration: String
        public var tp: Int?
        public var pp: Int?
        public var microBatches: Int?
        public var subBatches: Int?
        /// Every configuration the row's search ran, in order, with its throughput (PIM rows).
        public var searched: [Trial] = []
        /// nil when the row could not run (`note` says why).
        public var figures: Figures?
        /// Why the row could not run, requests it skipped, or why its memory is above the PIM system's.
        public var note: String?
        /// Throughput over the row's own baseline (CENT-like, NeuPIMs-like; the A100 row for GPU rows), over
        /// the A100 row, the H100 row and GPU-PIM.
        public var speedupOverBaseline: Double?
        public var speedupOverA100: Double?
        public var speedupOverH100: Double?
        public var speedupOverGPUPIM: Double?

        init(system: String, label: String, kind: SystemKind, memoryBytes: Int64, configuration: String) {
            self.system = system
            self.label = label
            self.kind = kind
            self.memoryBytes = memoryBytes
            self.configuration = configuration
        }
    }

    /// One configuration a row's search ran: its throughput, tokens/s (nil: the run failed, or under a ranked search
    /// it was not among the confirmed), and under a ranked search its throughput on the ranking's few steps.
    public struct Trial: Sendable, Equatable {
        public var configuration: RunConfiguration
        public var throughputTokensPerS: Double?
        public var rankedThroughputTokensPerS: Double? = nil
    }

    /// Rows whose memory is above this multiple of the PIM system's say why.
    public static let memoryTolerance = 1.3

    public func run() throws -> [Row] {
        Self.withSpeedups(
            Self.withMemoryNotes(
                (baselines ? gpuRows() : []) + (try pimRows()),
                pimMemoryBytes: pimMemoryBytes))
    }

    /// Rows above `memoryTolerance` × the PIM system's memory, with a note that says so and why.
    static func withMemoryNotes(_ rows: [Row], pimMemoryBytes: Int64) -> [Row] {
        rows.map { row in
            guard Double(row.memoryBytes) > memoryTolerance * Double(pimMemoryBytes) else { return row }
            var row = row
            let ratio = String(format: "%.2f", Double(row.memoryBytes) / Double(pimMemoryBytes))
            let why = "memory \(ratio)× the PIM system's: fewer devices cannot hold the model or split it evenly"
            row.note = row.note.map { $0 + "; " + why } ?? why
            return row
        }
    }

    /// Each row's throughput over its baseline, the A100 row, the H100 row and GPU-PIM.
    static func withSpeedups(_ rows: [Row]) -> [Row] {
        func throughput(_ pick: (Row) -> Bool) -> Double? { rows.first(where: pick)?.figures?.throughputTokensPerS }
        let a100 = throughput { $0.label == "A100" }, h100 = throughput { $0.label == "H100" }
        let gpuPIM = throughput { $0.kind == .gpuPIM }
        // The PIM-only ladder's start (CENT-like) is the baseline of every PIM-only row, CENT's own rung included.
        let pimBaseline = throughput { $0.kind == .pimOnly && $0.system != Ladder.centCode.name }
        let xpuBaseline = throughput { $0.kind == .xpuPIM }
        func ratio(_ t: Double, _ over: Double?) -> Double? { over.flatMap { $0 > 0 ? t / $0 : nil } }
        return rows.map { row in
            var row = row
            guard let t = row.figures?.throughputTokensPerS else { return row }
            let baseline: Double? =
                switch row.kind {
                case .gpu, .gpuPIM: a100
                case .pimOnly: pimBaseline
                case .xpuPIM: xpuBaseline
                }
            row.speedupOverBaseline = ratio(t, baseline)
            row.speedupOverA100 = ratio(t, a100)
            row.speedupOverH100 = ratio(t, h100)
            row.speedupOverGPUPIM = ratio(t, gpuPIM)
            return row
        }
    }

    func gpuRows() -> [Row] {
        let model = topology.model
        let n = gpus ?? BaselineRows.memoryMatchedGPUs(model: model, memoryBytes: pimMemoryBytes)
        let sized = BaselineRows.memoryMatchedGPUPIM(model: model, memoryBytes: pimMemoryBytes)
        let attacc = GPUPIMSystem(gpus: gpus ?? sized.gpus, devices: pimDevices ?? sized.devices, model: model)
        let batch = topology.workload.batchSize
        return [
            BaselineRows.row(
                system: MultiGPUSystem(gpu: .a100, count: n, model: model), name: "multi-GPU A100-80GB",
                label: "A100", kind: .gpu, tp: n, requests: plan.requests, maxBatch: batch),
            BaselineRows.row(
                system: MultiGPUSystem(gpu: .h100, count: n, model: model), name: "multi-GPU H100-80GB",
                label: "H100", kind: .gpu, tp: n, requests: plan.requests, maxBatch: batch),
            BaselineRows.row(
                system: attacc, name: "GPU-PIM (AttAcc-like)", label: "GPU-PIM", kind: .gpuPIM,
                tp: attacc.fc.count, requests: plan.requests, maxBatch: batch),
        ]
    }

    // MARK: The PIM rows

    /// The topology fields a rung sets before its configuration's.
    static let rungFields = [
        "cluster.modules", "cluster.kind", "cluster.preset", "cluster.npu_bandwidth_gbps",
        "fidelity.level", "fidelity.partitioning", "fidelity.scheduling", "workload.allocation",
        "workload.prefill_kv",
    ]

    /// Modules of a rung's system: the topology's for PIM-only; half as many 32 GiB modules for xPU+PIM, so that
    /// both hold the same memory (docs/REFERENCE.md §4.4: 4 for 8, 16 for 32).
    func modules(_ rung: Rung) -> Int {
        rung.kind == .xpuPIM ? max(1, topology.cluster.modules / 2) : topology.cluster.modules
    }

    /// The topology of a rung's system and the sweep values that make it from the base file.
    func system(_ rung: Rung) -> (topology: Topology, fields: [Node?]) {
        var t = topology
        t.fidelity.level = .command
        t.fidelity.partitioning = rung.partitioning
        t.fidelity.scheduling = rung.scheduling
        t.workload.allocation = rung.allocation
        t.workload.prefillKVTransfer = false
        // cluster.modules, kind, preset, npu_bandwidth_gbps: left as the base file has them, except for xPU+PIM.
        var cluster: [Node?] = [nil, nil, nil, nil]
        if rung.kind == .xpuPIM {
            t.cluster = Topology.ClusterSpec(modules: modules(rung), kind: .xpuPIM, module: ModuleConfig.neupims32)
            t.cluster.module.npu = NPUSpec(memoryBandwidth: npuBandwidthGbps.map { $0 * 1e9 })
            cluster = [
                Node(String(modules(rung))), Node(Topology.ModuleKind.xpuPIM.rawValue), Node("neupims-32ch"),
                npuBandwidthGbps.map { Node(String($0)) },
            ]
        }
        let fidelity = [
            Node("command"), Node(rung.partitioning.rawValue), Node(rung.scheduling.rawValue),
            Node(rung.allocation.rawValue), Node("resident"),
        ]
        return (t, cluster + fidelity)
    }

    /// What one configuration's run gave: its figures, or nil when it failed.
    struct Outcome {
        var configuration: RunConfiguration
        var figures: Figures?
        /// Under a ranked search, the run on the ranking's few steps.
        var ranked: Figures? = nil
    }

    /// Runs the search of every rung; one row per rung at its fastest configuration.
    func pimRows() throws -> [Row] {
        let searches = rungs.map { ConfigurationSearch(topology: system($0).topology, maxTP: maxTP) }
        var visited: [[Outcome]] = Array(repeating: [], count: rungs.count)
        func best(_ r: Int) -> Outcome? {
            visited[r].filter { $0.figures != nil }.max {
                $0.figures!.throughputTokensPerS < $1.figures!.throughputTokensPerS
            }
        }
        // Each stage: the configurations every rung asks for, less those it already ran, as one sweep.
        func stage(_ name: String, _ number: Int, _ propose: (Int) -> [RunConfiguration]) throws {
            var entries: [(rung: Int, configuration: RunConfiguration)] = []
            for r in rungs.indices {
                let done = Set(visited[r].map(\.configuration))
                var seen = done
                for c in propose(r) where seen.insert(c).inserted { entries.append((r, c)) }
            }
            let stages = search == .staged ? 3 : 1
            let stage = SearchStage(
                name: name, label: "\(name) (\(number)/\(stages))", entries: entries, searches: searches,
                visited: visited)
            for (entry, outcome) in zip(entries, try stage.outcomes(of: self)) { visited[entry.rung].append(outcome) }
        }
        switch search {
        case .exhaustive:
            try stage("all", 1) { searches[$0].exhaustive() }
        case .staged:
            try stage("splits", 1) { searches[$0].splitStage() }
            try stage("micro-batches", 2) { r in
                best(r).map { searches[r].microBatchStage(best: $0.configuration) } ?? []
            }
            try stage("sub-batches", 3) { r in best(r).map { searches[r].subBatchStage(best: $0.configuration) } ?? [] }
        }
        return rungs.indices.map { r in
            let rung = rungs[r]
            var row = Row(
                system: rung.name, label: rung.label, kind: rung.kind,
                memoryBytes: Int64(modules(rung)) * searches[r].topology.cluster.module.capacityBytes,
                configuration: "\(modules(rung)) modules")
            row.searched = visited[r].map {
                Trial(
                    configuration: $0.configuration, throughputTokensPerS: $0.figures?.throughputTokensPerS,
                    rankedThroughputTokensPerS: $0.ranked?.throughputTokensPerS)
            }
            guard let chosen = best(r), let figures = chosen.figures else {
                row.note =
                    searches[r].problem.map { "cannot run: \($0)" }
                    ?? "every configuration failed (see the runs under \(outputDirectory))"
                return row
            }
            let c = chosen.configuration
            row.configuration = "\(modules(rung)) modules, \(c) (best of \(visited[r].count))"
            row.tp = c.tp
            row.pp = c.pp
            row.microBatches = c.microBatches
            row.subBatches = c.subBatches
            row.figures = figures
            return row
        }
    }

    /// 16 hex digits of an FNV-1a hash.
    static func fnv(_ bytes: some Sequence<UInt8>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// A hash of the topology file: the runs' CSVs are named after it, so that an edited topology never reuses
    /// the runs of the old one.
    static func fingerprint(_ file: String) throws -> String {
        fnv(try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    /// The runs' CSV of a stage: `<DIR>/compare-runs-<fingerprint>-<stage>.csv`.
    func runsCSV(_ stage: String) throws -> String {
        outputDirectory + "/compare-runs-\(try Self.fingerprint(topologyFile))-\(stage).csv"
    }

    /// Runs one stage's configurations as a sweep (skipping those a previous, interrupted comparison ran) and
    /// returns each one's figures, read from its results.json; nil for a run that failed.
    func runStage(
        _ name: String, _ label: String,
        _ entries: [(rung: Int, configuration: RunConfiguration)], decodeSteps: Int? = nil
    ) throws -> [Figures?] {
        guard !entries.isEmpty else { return [] }
        let steps = decodeSteps.map { [Node(String($0))] as [Node?] } ?? []
        let points = entries.map { system(rungs[$0.rung]).fields + $0.configuration.fields + steps }
        let spec = SweepSpec(
            file: topologyFile, baseFile: topologyFile, output: try runsCSV(name),
            transport: runs.transport,
            fields: Self.rungFields + ConfigurationSearch.fields
                + (decodeSteps == nil ? [] : ["workload.decode_steps"]),
            points: points)
        var runner = runs.configure(SweepRunner(spec: spec))
        runner.progressLabel = label
        runner.directoryName = { _, key in "point-" + Self.fnv(Array(key.utf8)) }
        let recorded = try runner.runAndCollect()
        return points.indices.map { i in
            guard recorded[i] != nil else { return nil }
            let file = runner.pointDirectory(index: i, key: spec.key(points[i])) + "/results.json"
            guard let data = FileManager.default.contents(atPath: file),
                let results = try? RunResults.decode(data), results.complete
            else { return nil }
            return Figures(results.simulated)
        }
    }
}

extension Comparison.Figures {
    /// The figures of a lolpim run.
    init(_ r: SimulatedResults) {
        self.init(
            throughputTokensPerS: r.throughputTokensPerS,
            timePerOutputTokenP50Ps: r.requests.timePerOutputToken.p50Ps,
            meanEffectiveBatch: r.requests.meanEffectiveBatch, energyPerTokenJ: r.energyPerTokenJ,
            attentionTimePerTokenPs: r.attention.timePerTokenPs,
            attentionEnergyPerTokenJ: r.attention.energyPerTokenJ,
            attentionBackgroundFraction: r.attention.backgroundFraction,
            macUtilisationFraction: r.macUtilisationFraction,
            kvCapacityUtilisationFraction: r.kv.meanUsedFraction,
            pipelineBubbleFraction: r.pipelineBubbleFraction)
    }
}
