import PIMModule
import Workload

/// A cluster description: what a topology file says, resolved (presets expanded, defaults filled) and
/// validated. Everything the simulated results depend on is here; the coordinator sends it to every worker.
public struct Topology: Sendable, Codable, Equatable {
    /// Label used in outputs.
    public var name: String
    /// Seed of every random draw (context lengths).
    public var seed: UInt64
    public var model: ModelConfig
    public var cluster: ClusterSpec
    public var links: LinkSet
    public var parallelism: Parallelism
    public var workload: WorkloadSpec
    public var fidelity: FidelitySpec
    public var host: HostSpec
    /// Nodes, switches and the network between nodes (`network:`); nil: every module's links are its own
    /// (`links`). With a network, `links` holds the module and host ports' rates and the switch's latency.
    public var network: NetworkSpec?

    public struct ClusterSpec: Sendable, Codable, Equatable {
        /// Number of PIM modules; one worker process each.
        public var modules: Int
        public var kind: ModuleKind
        public var module: ModuleConfig

        public init(
            modules: Int, kind: ModuleKind, module: ModuleConfig
        ) {
            self.modules = modules
            self.kind = kind
            self.module = module
        }
    }

    /// What a module holds besides its PIM channels (`cluster.kind`).
    public enum ModuleKind: String, Sendable, Codable, CaseIterable {
        /// CENT-like: PIM channels and a HUB processor for what PIM does not run.
        case pimOnly = "pim-only"
        /// NeuPIMs-like: PIM channels beside an NPU that runs the FC layers (`cluster.npu_*`).
        case xpuPIM = "xpu-pim"
    }

    public struct LinkSet: Sendable, Codable, Equatable {
        /// Host ↔ first and last stage.
        public var host: LinkSpec
        /// Module ↔ module (consecutive pipeline stages).
        public var module: LinkSpec
        /// Between the members of a tensor-parallel group (the all-reduce traffic). Each module has a TP
        /// port of its own besides its pipeline ports, so the two kinds of traffic do not contend.
        public var tp: LinkSpec

        public init(
            host: LinkSpec, module: LinkSpec, tp: LinkSpec
        ) {
            self.host = host
            self.module = module
            self.tp = tp
        }
    }

    public struct Parallelism: Sendable, Codable, Equatable {
        /// Micro-batches in flight; the batch is split into this many groups of requests.
        public var microBatches: Int
        /// Layers held by each pipeline stage, in order; sums to the model's layers. Its length is the
        /// pipeline-parallel degree.
        public var layersPerStage: [Int]
        /// Tensor-parallel degree: modules per pipeline stage, splitting each layer's heads and FFN.
        public var tp: Int = 1
        /// How a tensor-parallel group all-reduces (`parallelism.collective`).
        public var collective: CollectiveAlgorithm = .direct

        public init(
            microBatches: Int, layersPerStage: [Int], tp: Int = 1, collective: CollectiveAlgorithm = .direct
        ) {
            self.microBatches = microBatches
            self.layersPerStage = layersPerStage
            self.tp = tp
            self.collective = collective
        }

        /// Pipeline-parallel degree.
        public var pp: Int { layersPerStage.count }
    }

    public struct WorkloadSpec: Sendable, Codable, Equatable {
        /// Most requests decoding at once (memory may admit fewer).
        public var batchSize: Int
        public var context: ContextSource
        /// Tokens each request generates.
        public var output: OutputLength
        /// Requests in the run.
        public var requests: Int
        public var arrival: ArrivalProcess
        /// Requests read from a trace file (arrival, context, output), replacing the synthetic ones.
        public var trace: [RequestSpec]?
        public var batching: BatchingPolicy
        public var allocation: AllocationScheme
        /// T_max: tokens the static scheme reserves per request.
        public var maxContext: Int
        /// DPA chunk size, bytes.
        public var chunkBytes: Int64
        /// Host time per DPA intervention (request start, new chunk, request end), picoseconds.
        public var hostInterventionPs: Picoseconds
        /// Whether each admitted request's prompt KV travels from the host over every module's host link
        /// before its first step (`prefill_kv: transfer`, the default) or is already in place (`resident`).
        public var prefillKVTransfer: Bool = true

        public init(
            batchSize: Int, context: ContextSource, output: OutputLength, requests: Int, arrival: ArrivalProcess,
            trace: [RequestSpec]? = nil, batching: BatchingPolicy, allocation: AllocationScheme, maxContext: Int,
            chunkBytes: Int64, hostInterventionPs: Picoseconds, prefillKVTransfer: Bool = true
        ) {
            self.batchSize = batchSize
            self.context = context
            self.output = output
            self.requests = requests
            self.arrival = arrival
            self.trace = trace
            self.batching = batching
            self.allocation = allocation
            self.maxContext = maxContext
            self.chunkBytes = chunkBytes
            self.hostInterventionPs = hostInterventionPs
            self.prefillKVTransfer = prefillKVTransfer
        }
    }

    /// How the coordinator forms batches.
    public enum BatchingPolicy: String, Sendable, Codable, CaseIterable {
        /// Fill a batch up to capacity, run it to completion, then form the next.
        case `static`
        /// Admit waiting requests whenever memory frees, at every micro-batch step (iteration-level).
        case continuous
    }

    public enum FidelityLevel: String, Sendable, Codable, CaseIterable {
        /// Closed-form: max(bytes / bandwidth, flops / compute) per operator.
        case roofline
        /// AiM command streams timed cycle by cycle against the timing table.
        case command
    }

    public struct FidelitySpec: Sendable, Codable, Equatable {
        public var level: FidelityLevel
        /// PIM efficiency for the roofline model; nil = derived from the timing table.
        public var pimEfficiency: Double?
        public var processorEfficiency: Double
        /// Command fidelity: the channel controller's scheduling policy.
        public var scheduling: SchedulingPolicy = .dcs
        /// Command fidelity: how attention is spread over channels.
        public var partitioning: AttentionPartitioning = .tokenParallel
        /// Command fidelity: output-buffer entries of the pingpong / dcs controller.
        public var obufEntries: Int = 8
        /// `partitioning: cent`: how CENT places blocks on devices; nil: by the stage's tp (`CENTMode.default`).
        public var centMode: CENTMode?
        /// `partitioning: cent`, model-parallel mode: whether the scores crossing a group's devices are charged.
        public var centScoreMoves: CENTScoreMoves = .free
        /// Functional runs (`functional: true`): the modules also compute the model's numbers, in this arithmetic
        /// (`arithmetic`, default `aim`); nil: timing only.
        public var functional: FunctionalArithmetic?

        /// Why a functional run of `model` over groups of `tp` modules cannot run with these settings, or nil.
        public func functionalProblem(model: ModelConfig, tp: Int) -> String? {
            if model.checkpoint == nil {
                return "a functional run computes a checkpoint's numbers; give model.checkpoint: DIR"
            }
            // The cent partitioning's model-parallel mode may split heads unevenly; a functional run needs them even.
            if tp > 1, [model.queryHeads, model.kvHeads, model.ffn].contains(where: { $0 % tp != 0 }) {
                return "a functional run splits the heads, KV heads and FFN rows evenly over tp \(tp) modules; "
                    + "\(model.name) has \(model.queryHeads), \(model.kvHeads) and \(model.ffn)"
            }
            return nil
        }

        /// The cost model this fidelity stands for. Under DPA, the command model also pays for chunk edges
        /// that fall inside DRAM rows (`ChunkLayout`). Command-level kernel timings come from `store` when it
        /// has them; `inFlight` lets simulators of one process wait for each other's kernels. `model` is the
        /// whole model (only `cent` reads it: CENT's trace divides it over a group of `tp` itself);
        /// `layersPerModule` is the most layers a stage has, which the `cent` partitioning lays out as CENT's
        /// blocks, and `groupLink` the link a stage's modules share (`links.tp`), which its model-parallel mode's
        /// transfers cross.
        public func costModel(
            module: ModuleConfig, model: ModelConfig, tp: Int = 1, layersPerModule: Int = 1,
            groupLink: LinkSpec? = nil, workload: WorkloadSpec? = nil,
            store: (any KernelTimingStore)? = nil, inFlight: KernelsInFlight? = nil,
            centReplays: CENTReplays = CENTReplays()
        ) -> any OpCostModel {
            let pim: any OpCostModel
            switch level {
            case .roofline:
                pim = RooflineCostModel(
                    module: module, pimEfficiency: pimEfficiency, processorEfficiency: processorEfficiency)
            case .command:
                let chunks = workload.flatMap {
                    $0.allocation == .dpa ? ChunkLayout(module: module, chunkBytes: $0.chunkBytes) : nil
                }
                if let mapping = partitioning.mapping {
                    pim = CommandCostModel(
                        module: module, scheduling: scheduling, mapping: mapping,
                        obufEntries: obufEntries, processorEfficiency: processorEfficiency,
                        chunkLayout: chunks, store: store, inFlight: inFlight)
                } else {
                    // `cent`: CENT's own lowering and block placement (its scheduling is the AiM controller's); CENT's
                    // trace divides the whole model over the group itself.
                    let link = groupLink.map { CENTLink(bytesPerSecond: $0.bytesPerSecond, latencyPs: $0.latencyPs) }
                    pim = CENTCostModel(
                        module: module, model: model, blocks: layersPerModule, mode: centMode ?? .default(tp: tp),
                        tp: tp, groupLink: link, scoreMoves: centScoreMoves, replays: centReplays, store: store)
                }
            }
            // An xPU+PIM module runs the weight GEMVs on its NPU.
            return module.npu.map { XPUPIMCostModel(pim: pim, npu: $0, module: module) } ?? pim
        }

        public init(
            level: FidelityLevel, pimEfficiency: Double? = nil, processorEfficiency: Double,
            scheduling: SchedulingPolicy = .dcs, partitioning: AttentionPartitioning = .tokenParallel,
            obufEntries: Int = 8
        ) {
            self.level = level
            self.pimEfficiency = pimEfficiency
            self.processorEfficiency = processorEfficiency
            self.scheduling = scheduling
            self.partitioning = partitioning
            self.obufEntries = obufEntries
        }
    }

    public struct HostSpec: Sendable, Codable, Equatable {
        /// Host time per micro-batch step (sampling launch, scheduling), picoseconds.
        public var stepOverheadPs: Picoseconds
        /// Additional host time per request of the micro-batch (sampling, embedding lookup), picoseconds.
        public var perRequestPs: Picoseconds

        public init(
            stepOverheadPs: Picoseconds, perRequestPs: Picoseconds
        ) {
            self.stepOverheadPs = stepOverheadPs
            self.perRequestPs = perRequestPs
        }
    }

    /// Pipeline stages (the pipeline-parallel degree); each is a group of `parallelism.tp` modules.
    public var stages: Int { parallelism.pp }

    public init(
        name: String, seed: UInt64, model: ModelConfig, cluster: ClusterSpec, links: LinkSet, parallelism: Parallelism,
        workload: WorkloadSpec, fidelity: FidelitySpec, host: HostSpec, network: NetworkSpec? = nil
    ) {
        self.name = name
        self.seed = seed
        self.model = model
        self.cluster = cluster
        self.links = links
        self.parallelism = parallelism
        self.workload = workload
        self.fidelity = fidelity
        self.host = host
        self.network = network
    }
}

/// A point-to-point link: bandwidth in one direction and one-way latency.
public struct LinkSpec: Sendable, Codable, Hashable {
    /// Bytes per second in each direction.
    public var bytesPerSecond: Double
    /// One-way latency, picoseconds.
    public var latencyPs: Picoseconds

    public init(bytesPerSecond: Double, latencyPs: Picoseconds) {
        self.bytesPerSecond = bytesPerSecond
        self.latencyPs = latencyPs
    }

    /// Default: a CXL 3.0 switch between PCIe Gen5 ports (docs/REFERENCE.md §4.6): the x4 device port, 16 GB/s per
    /// direction, bounds every path; 600 ns one way through the switch (an assumption: the paper gives none).
    public static let cxlDefault = LinkSpec(bytesPerSecond: 16e9, latencyPs: 600_000)

    public func transferTime(bytes: Int64) -> Picoseconds {
        Time.transfer(bytes: bytes, bytesPerSecond: bytesPerSecond)
    }
}

extension Topology.WorkloadSpec {
    /// The mean prompt length of the workload (of the trace, when there is one), tokens.
    public var meanPromptTokens: Double {
        trace.map { t in Double(t.map(\.promptTokens).reduce(0, +)) / Double(max(t.count, 1)) } ?? context.meanLength
    }
}

/// The all-reduce algorithm of a tensor-parallel group (`parallelism.collective`; docs/MODEL.md, "Tensor
/// parallelism").
public enum CollectiveAlgorithm: String, Sendable, Codable, CaseIterable {
    /// Reduce-scatter then all-gather, each in one phase: every member sends its chunk of bytes / tp to every
    /// other member directly, in rotated order. A phase costs latency + (tp − 1) chunk transfers.
    case direct
    /// The ring: 2 (tp − 1) steps; in each, every member sends one chunk of bytes / tp to the next member and
    /// receives one from the previous, and forwards (reduced) only after receiving. A step costs latency + one
    /// chunk transfer, so the ring pays 2 (tp − 1) latencies where direct pays 2, for the same bytes per member.
    case ring
    /// For groups that span nodes (`network:`): every member sends its whole partial sum to its node's leader
    /// (the node's first member), the leaders all-reduce directly between nodes (reduce-scatter then all-gather
    /// of bytes / leaders chunks), and each leader sends the result to its node's other members: 4 phases, and
    /// only (leaders − 1) chunks per leader cross the NICs in each of the two phases between nodes.
    case hierarchical
}
