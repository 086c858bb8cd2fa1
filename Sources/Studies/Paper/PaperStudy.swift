import Cluster
import Foundation
import PIMModule
import Pipeline
import Workload
import Yams

/// `lolpim paper`: the LoL-PIM paper's evaluation regenerated as lolpim's own figures (docs/VALIDATION.md §6).
/// Every part is a `Comparison` (resumable sweeps) or a kernel timing, on topologies derived from the shipped
/// comparison files:
/// (a) both ladders on the four models × their two datasets at the paper's system sizes; (b) TP vs PP on the
/// two 7B models (the LoL-PIM row's split stage of (a)); (c) scalability over 128 → 1024 GB and over 256 → 1M
/// tokens on 512 GB (CENT's code, CENT-like, LoL-PIM, NeuPIMs-like); (d) DCS vs ping-pong MAC utilisation of
/// attention for MHA and GQA (g = 2, 4, 8); (e) KV capacity utilisation, static vs DPA, per dataset (from (a));
/// (f) LoL-PIM against the A100 and GPU-PIM rows (from (a)).
public struct PaperStudy {
    /// Where the shipped comparison topologies are (`<model>-<dataset>.yaml`).
    public var topologyDirectory = "Topologies/compare"
    public var outputDirectory = "results/paper"
    /// Shrinks every workload (a few requests, two decode steps, short prompts) and the scaling ranges.
    public var quick = false
    /// How every run is carried out; inproc by default (results are identical over every transport, and inproc
    /// spares the socket copies).
    public var runs = RunOptions(transport: .inproc)
    public var maxTP = 8
    /// How the configuration searches of (a) and (c) rank their candidates (`Comparison.Ranking`); nil runs every
    /// one in full. `lolpim paper` ranks by default (`--full-search` turns it off).
    public var ranking: Comparison.Ranking?

    public init() {}

    /// The models and their datasets (docs/REFERENCE.md §5.1–5.2), as the shipped comparison files name them.
    public static let studies: [(model: String, datasets: [String])] = [
        ("llm-7b-32k", ["qmsum", "musique"]), ("llm-7b-128k-gqa", ["multifieldqa", "loogle-sd"]),
        ("llm-72b-32k", ["qmsum", "musique"]), ("llm-72b-128k-gqa", ["multifieldqa", "loogle-sd"]),
    ]

    /// Whether `topology` is one of the set-ups of the ladders (a) as the shipped comparison file in `directory`
    /// holds it (its name aside): the set-ups on which a ranked search was shown to choose as the full search
    /// (docs/VALIDATION.md §6, "Ranked searches"), so `lolpim compare` ranks them by default.
    public static func isLadderSetUp(_ topology: Topology, directory: String = "Topologies/compare") -> Bool {
        studies.contains { study in
            study.datasets.contains { dataset in
                guard var shipped = try? TopologyLoader.load(path: "\(directory)/\(study.model)-\(dataset).yaml")
                else { return false }
                shipped.name = topology.name
                return shipped == topology
            }
        }
    }

    /// One comparison of the study: what it varies and its rows.
    public struct Part: Sendable {
        public var name: String
        public var model: String
        public var dataset: String
        /// The value the scaling studies vary: system memory (GiB) or context (tokens); 0 for (a).
        public var x: Int
        public var rows: [Comparison.Row]
    }

    /// DCS against ping-pong on one attention shape (d).
    public struct MACPoint: Sendable {
        public var label: String
        public var group: Int
        public var pingPong: Double
        public var dcs: Double
    }

    public struct Outcome: Sendable {
        public var ladders: [Part] = []
        public var memoryScaling: [Part] = []
        public var contextScaling: [Part] = []
        public var macUtilisation: [MACPoint] = []
        public var seconds = 0.0
        public var quick = false
    }

    /// The systems of the scalability study: both CENT rungs, LoL-PIM and NeuPIMs-like.
    static let scalingRungs = [Ladder.centCode, Ladder.pimOnly[0], Ladder.pimOnly[3], Ladder.xpuPIM[0]]

    var datasets: [(model: String, dataset: String)] {
        Self.studies.flatMap { study in (quick ? [study.datasets[0]] : study.datasets).map { (study.model, $0) } }
    }
    var memoryModules: [Int] { quick ? [8, 16] : [8, 16, 32, 64] }
    var contexts: [Int] { quick ? [256, 4096] : [256, 4096, 16384, 65536, 262_144, 1_048_512] }

    /// The workload overrides of `--quick`, as topology fields and values.
    var quickFields: [(String, Node)] {
        quick
            ? [
                ("workload.requests", Node("4")), ("workload.batch_size", Node("4")),
                ("parallelism.micro_batches", Node("1")),
                ("workload.decode_steps", Node("2")), ("workload.context", Node("2048")),
            ] : []
    }

    public func run() throws -> Outcome {
        let start = Date()
        var outcome = Outcome(quick: quick)
        let ladders = datasets
        let total = ladders.count + memoryModules.count + contexts.count + 1
        var step = 0
        func announce(_ what: String) {
            step += 1
            if runs.progress { FileHandle.standardError.write(Data("paper: \(step)/\(total) \(what)\n".utf8)) }
        }
        for (model, dataset) in ladders {
            let name = "\(model)-\(dataset)"
            announce("(a) ladders, \(name)")
            let file = try derive(base: "\(name).yaml", name: "a-\(name)", quickFields)
            outcome.ladders.append(
                Part(
                    name: name, model: model, dataset: dataset, x: 0,
                    rows: try compare(file, name: "a-\(name)")))
        }
        for modules in memoryModules {
            let gib = modules * 16
            announce("(c) \(gib) GB system")
            let requests = quick ? 4 : 4 * modules
            // More modules than the model has layers need tensor parallelism to form a pipeline at all (1,024 GB:
            // 64 modules, 32 layers); the search then tries every split from there.
            let layers = ModelConfig.presets["llm-7b-128k-gqa"]?.layers ?? 32, tp = (modules + layers - 1) / layers
            let fields =
                [("cluster.modules", Node(String(modules)))]
                + (tp > 1 ? [("parallelism.tp", Node(String(tp)))] : [])
                + [
                    ("workload.requests", Node(String(requests))),
                    ("workload.batch_size", Node(String(requests))), ("parallelism.micro_batches", Node("1")),
                ]
                + quickFields.filter {
                    !["workload.requests", "workload.batch_size", "parallelism.micro_batches"].contains($0.0)
                }
            let file = try derive(base: "llm-7b-128k-gqa-multifieldqa.yaml", name: "c-memory-\(gib)gb", fields)
            outcome.memoryScaling.append(
                Part(
                    name: "\(gib) GB", model: "llm-7b-128k-gqa", dataset: "multifieldqa",
                    x: gib, rows: try compare(file, name: "c-memory-\(gib)gb", scaling: true)))
        }
        for tokens in contexts {
            announce("(c) \(tokens)-token contexts on 512 GB")
            let model = try Yams.compose(yaml: "{preset: llm-72b-128k-gqa, max_context: 1048576}")!
            // Every request has the same length, so T_max is that length: static allocation reserves no more
            // than the requests use, and the study isolates partitioning and scheduling (docs/VALIDATION.md §6).
            let requests = quick ? "2" : "16", steps = quick ? 2 : 32
            let fields: [(String, Node)] = [
                ("model", model), ("workload.context", Node(String(tokens))),
                ("workload.decode_steps", Node(String(steps))),
                ("workload.max_context", Node(String(tokens + steps))),
                ("workload.requests", Node(requests)), ("workload.batch_size", Node(requests)),
                ("parallelism.micro_batches", Node("1")),
            ]
            let file = try deriveFitting(
                base: "llm-72b-128k-gqa-multifieldqa.yaml", name: "c-context-\(tokens)",
                fields)
            outcome.contextScaling.append(
                Part(
                    name: "\(tokens) tokens", model: "llm-72b-128k-gqa", dataset: "fixed",
                    x: tokens,
                    rows: try compare(
                        file, name: "c-context-\(tokens)",
                        scaling: true)))
        }
        announce("(d) DCS vs ping-pong MAC utilisation")
        outcome.macUtilisation = macUtilisation()
        outcome.seconds = Date().timeIntervalSince(start)
        return outcome
    }

    /// A topology derived from a shipped comparison file, written under `<output>/topologies/`.
    func derive(base: String, name: String, _ fields: [(String, Node)]) throws -> String {
        let baseFile = topologyDirectory + "/" + base
        guard FileManager.default.fileExists(atPath: baseFile) else {
            throw RuntimeError.refused(
                "\(baseFile) not found: run lolpim paper from the repository root or give "
                    + "--topologies DIR")
        }
        let spec = SweepSpec(
            file: baseFile, baseFile: baseFile, output: "", transport: runs.transport,
            fields: ["name"] + fields.map(\.0), points: [])
        let text = try spec.topologyText(for: [Node(name)] + fields.map { Optional($0.1) })
        let directory = outputDirectory + "/topologies"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/\(name).yaml"
        if (try? String(contentsOfFile: file, encoding: .utf8)) != text {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        return file
    }

    /// `derive`, with the smallest tensor-parallel degree (1, 2, 4, … up to `maxTP`) at which one request fits
    /// in a module (a 1M-token context does not at tp 1 on 512 GB); the field is set only when above 1. The
    /// search then tries every split from there.
    func deriveFitting(base: String, name: String, _ fields: [(String, Node)]) throws -> String {
        var tp = 1
        while true {
            let tpField = tp > 1 ? [("parallelism.tp", Node(String(tp)))] : []
            let file = try derive(base: base, name: name, fields + tpField)
            do {
                _ = try PipelinePlan(topology: TopologyLoader.load(path: file))
                return file
            } catch  where tp < maxTP {
                tp *= 2
            }
        }
    }

    func compare(_ file: String, name: String, scaling: Bool = false) throws -> [Comparison.Row] {
        var comparison = try Comparison(
            topologyFile: file, topology: TopologyLoader.load(path: file),
            outputDirectory: outputDirectory + "/runs/" + name)
        comparison.runs = runs
        // Ranked: shown to choose as the full search on every row of (a) and (c) (docs/VALIDATION.md §6).
        comparison.ranking = ranking
        comparison.maxTP = quick ? min(maxTP, 2) : maxTP
        // Both ladders, CENT's own rung at the start of the PIM-only one.
        comparison.rungs = Ladder.compared
        if scaling {
            comparison.rungs = Self.scalingRungs
            comparison.baselines = false
        }
        return try comparison.run()
    }

    /// (d): MAC utilisation of one module's attention (QKᵀ and SV over one request, token-parallel, `cent-32ch`)
    /// under ping-pong buffering and DCS, for MHA (32 KV heads) and GQA with 32 query heads in groups of 2, 4, 8.
    func macUtilisation() -> [MACPoint] {
        let module = ModuleConfig.cent32
        let store = runs.kernelStore.store
        let tokens = quick ? 2048 : 16384
        return [1, 2, 4, 8].map { group in
            func utilisation(_ policy: SchedulingPolicy) -> Double {
                let model = CommandCostModel(
                    module: module, scheduling: policy, mapping: TokenParallelMapping(),
                    store: store)
                let shape = OpShape.attention(contexts: [tokens], queryHeads: 32, kvHeads: 32 / group, headDim: 128)
                var macs: Int64 = 0, time: Picoseconds = 0
                for kind in [OpKind.attentionScore, .attentionValue] {
                    let cost = model.cost(of: DecodeOp(kind, .pim, flops: 0, shape: shape))
                    macs += cost.commands[.mac16]
                    time += cost.latency
                }
                return module.macUtilisation(mac16: macs, timePs: Double(time))
            }
            return MACPoint(
                label: group == 1 ? "MHA" : "GQA g = \(group)", group: group,
                pingPong: utilisation(.pingpong), dcs: utilisation(.dcs))
        }
    }
}
