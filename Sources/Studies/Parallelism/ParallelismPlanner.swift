import Cluster
import Foundation
import Pipeline
import Workload
import Yams

/// Which (tp, pp) splits of a cluster can run a model: tp modules per pipeline stage (tensor parallelism)
/// and pp = modules / tp stages. A split is valid when tp divides the modules, the query heads, the KV heads
/// and the FFN size, pp does not exceed the layers, and every module holds its share of the weights and the
/// workload's longest request (`PipelinePlan`'s memory check) with the `auto` layer split.
public enum ParallelismPlanner {
    public struct Candidate: Sendable, Equatable {
        public var tp: Int
        public var pp: Int
        /// Why the split cannot run; nil when it can.
        public var problem: String?
        public var isValid: Bool { problem == nil }
    }

    /// Every split of `topology`'s modules, tp ascending, each valid or with its problem.
    public static func candidates(for topology: Topology) -> [Candidate] {
        let modules = topology.cluster.modules
        return (1...modules).filter { modules % $0 == 0 }.map { tp in
            let pp = modules / tp
            if let problem = topology.model.tensorParallelProblems(tp: tp).first {
                return Candidate(tp: tp, pp: pp, problem: problem)
            }
            if pp > topology.model.layers {
                return Candidate(tp: tp, pp: pp, problem: "\(pp) stages but only \(topology.model.layers) layers")
            }
            let t = split(topology, tp: tp)
            if let network = t.network, let (_, problem) = network.problem(modules: t.cluster.modules, tp: tp) {
                return Candidate(tp: tp, pp: pp, problem: "network: \(problem)")
            }
            do {
                _ = try PipelinePlan(topology: t)
                return Candidate(tp: tp, pp: pp, problem: nil)
            } catch {
                return Candidate(tp: tp, pp: pp, problem: "\(error)")
            }
        }
    }

    /// `topology` with `tp` modules per stage and the `auto` layer split over modules / tp stages.
    public static func split(_ topology: Topology, tp: Int) -> Topology {
        var t = topology
        let pp = t.cluster.modules / tp
        t.parallelism.tp = tp
        t.parallelism.layersPerStage = PipelinePlan.balancedSplit(
            model: t.model.sharded(tp: tp), stages: pp,
            meanTokens: t.workload.meanPromptTokens)
        // The stages go to the nodes as the default placement puts them (a topology file's `placement` is for
        // its own split).
        if let n = t.network {
            t.network?.stageNodes = NetworkSpec.defaultPlacement(
                stages: pp, tp: tp, nodes: n.nodes, modules: t.cluster.modules)
        }
        return t
    }

    /// The values a topology file needs for a split (for `SweepSpec` points): tp, pp, and an `auto` layer split.
    static func fields(tp: Int, pp: Int) -> [Node?] { [Node(String(tp)), Node(String(pp)), Node("auto")] }
}

/// `lolpim run --search-parallelism`: runs every valid split of a topology as a full multi-process run (a
/// sweep over `parallelism.tp`, resumable like any sweep) and picks the highest throughput.
public struct ParallelismSearch {
    public let topologyFile: String
    public let topology: Topology
    /// The sweep CSV; each split's topology and results go to `<csv name>-points/point-N`.
    public let output: String
    public var transport: TransportKind = .ipc
    public var progress = true
    public var registrationTimeoutMs = 60_000
    /// The kernel-timing store every run uses.
    public var kernelStore: KernelStoreChoice = .off

    public init(topologyFile: String, topology: Topology, output: String) {
        self.topologyFile = topologyFile
        self.topology = topology
        self.output = output
    }

    public struct Outcome: Sendable {
        public var candidates: [ParallelismPlanner.Candidate]
        /// Throughput of each valid split that ran, by tp (tokens/s); a failed run is absent.
        public var throughput: [Int: Double]
        public var best: ParallelismPlanner.Candidate?
        public var csv: String
    }

    public func run() throws -> Outcome {
        let candidates = ParallelismPlanner.candidates(for: topology)
        let valid = candidates.filter(\.isValid)
        let spec = SweepSpec(
            file: topologyFile, baseFile: topologyFile, output: output, transport: transport,
            fields: ["parallelism.tp", "parallelism.pp", "parallelism.layers_per_stage"],
            points: valid.map { ParallelismPlanner.fields(tp: $0.tp, pp: $0.pp) })
        var runner = SweepRunner(spec: spec)
        runner.progress = progress
        runner.registrationTimeoutMs = registrationTimeoutMs
        runner.kernelStore = kernelStore
        var throughput: [Int: Double] = [:]
        for (candidate, row) in zip(valid, try runner.runAndCollect()) {
            if let t = row?["throughput_tokens_per_s"].flatMap(Double.init) { throughput[candidate.tp] = t }
        }
        let best = valid.filter { throughput[$0.tp] != nil }.max { throughput[$0.tp]! < throughput[$1.tp]! }
        return Outcome(candidates: candidates, throughput: throughput, best: best, csv: output)
    }
}
