import Foundation
import PIMModule
import Pipeline
import Workload
import Yams

/// Reads topology files (YAML) into validated `Topology` values. Every error names the file, the line and
/// column, the field, and what was expected. The keys are documented in docs/TOPOLOGY.md.
public enum TopologyLoader {
    /// Loads and validates a topology file, including that the model and its KV cache fit the modules.
    public static func load(path: String) throws -> Topology {
        try parse(document: YAMLMapping.readFile(path, what: "topology"), file: path)
    }

    /// Parses and validates topology YAML; `file` is only used in error messages.
    public static func parse(yaml: String, file: String) throws -> Topology {
        try parse(
            document: YAMLMapping.document(
                yaml: yaml, file: file, whenEmpty: "the file is empty; see Topologies/default.yaml"),
            file: file)
    }

    private static func parse(document: YAMLMapping, file: String) throws -> Topology {
        var doc = document
        let fileName = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let name = try doc.scalar("name") ?? identifier(from: fileName)
        guard isIdentifier(name) else {
            throw doc.error(
                "name",
                "expected a name of letters, digits, '.', '_' and '-' (at most 80, starting with "
                    + "a letter or digit; it names the output directory), found '\(YAMLMapping.clip(name))'")
        }
        let seed = try doc.int("seed", default: 1, within: TopologyLimits.seed)
        let model = try readModel(&doc)

        guard var clusterMap = try doc.mapping("cluster") else { throw doc.error("cluster", "required but missing") }
        let cluster = try readCluster(&clusterMap)
        var linksMap = try doc.mapping("links")
        let moduleLink = try readLink(&linksMap, "module")
        var links = Topology.LinkSet(
            host: try readLink(&linksMap, "host"), module: moduleLink,
            tp: try readLink(&linksMap, "tp", default: moduleLink))
        try linksMap?.rejectUnknownKeys()

        guard var workloadMap = try doc.mapping("workload") else { throw doc.error("workload", "required but missing") }
        let workload = try readWorkload(&workloadMap, model: model)

        var fidelityMap = try doc.mapping("fidelity")
        let fidelity = try readFidelity(&fidelityMap)

        var parallelMap = try doc.mapping("parallelism")
        let parallelism = try readParallelism(
            &parallelMap, modules: cluster.modules, model: model, evenShards: fidelity.partitioning != .cent,
            batchSize: workload.batchSize, meanTokens: workload.meanPromptTokens, within: doc)

        let network = try readNetwork(&doc, modules: cluster.modules, parallelism: parallelism)
        if let network {
            // The modules' and the host's ports on their switches stand where the private links stood.
            let routes = NetworkRoutes(spec: network, modules: cluster.modules, tp: parallelism.tp)
            links = Topology.LinkSet(host: routes.hostLink, module: routes.moduleLink, tp: routes.moduleLink)
        }

        if fidelity.functional != nil, let map = fidelityMap {
            if let problem = fidelity.functionalProblem(model: model, tp: parallelism.tp) {
                throw map.error("functional", problem)
            }
        }
        if fidelity.partitioning == .cent, let map = fidelityMap {
            try checkCENT(cluster: cluster, parallelism: parallelism, model: model, spec: fidelity, fidelity: map)
        }
        var hostMap = try doc.mapping("host")
        func nanoseconds(_ key: String, default value: Double) throws -> Picoseconds {
            Picoseconds(
                ((try hostMap?.double(key, default: nil, within: TopologyLimits.hostTime) ?? value) * 1000)
                    .rounded())
        }
        let host = Topology.HostSpec(
            stepOverheadPs: try nanoseconds("step_overhead_ns", default: 5_000),
            perRequestPs: try nanoseconds("per_request_ns", default: 100))
        try hostMap?.rejectUnknownKeys()
        try doc.rejectUnknownKeys()

        let topology = Topology(
            name: name, seed: UInt64(seed), model: model, cluster: cluster, links: links,
            parallelism: parallelism, workload: workload, fidelity: fidelity, host: host, network: network)
        let plan: PipelinePlan
        do {
            plan = try PipelinePlan(topology: topology)
        } catch {
            let problem = error
            let (line, column) =
                problem.field.hasPrefix("workload")
                ? workloadMap.line(of: "batch_size")
                : problem.field.hasPrefix("cluster") ? clusterMap.line(of: "modules") : doc.line(of: "model")
            throw TopologyError(file: file, line: line, column: column, field: problem.field, message: problem.message)
        }
        if let (field, message) = SimulatedTimeBudget(plan: plan).problem {
            let section = String(field.prefix { $0 != "." })
            let (line, column) = doc.line(of: section)
            throw TopologyError(file: file, line: line, column: column, field: field, message: message)
        }
        return topology
    }

    /// What `fidelity.partitioning: cent` needs (docs/MAPPING.md §13): a PIM-only module with CENT's bank layout,
    /// and one module per stage unless CENT's model-parallel mode spreads each block over the stage's modules.
    private static func checkCENT(
        cluster: Topology.ClusterSpec, parallelism: Topology.Parallelism, model: ModelConfig,
        spec: Topology.FidelitySpec, fidelity: YAMLMapping
    ) throws {
        if cluster.module.npu != nil {
            throw fidelity.error(
                "partitioning", "partitioning cent follows CENT's PIM-only device; it cannot run on an xpu-pim module")
        }
        if parallelism.tp > 1, spec.centMode == .pipelineParallel {
            throw fidelity.error(
                "cent_mode",
                "cent_mode pipeline-parallel puts CENT's lock-step blocks on one module per stage; it needs "
                    + "parallelism.tp: 1 (with tp > 1, use cent_mode: model-parallel or leave it out)")
        }
        if let problem = CENTCostModel.problem(module: cluster.module, model: model) {
            throw fidelity.error("partitioning", problem)
        }
    }

    /// Whether `name` can name a run: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 80 characters. It becomes a path
    /// component of the output directory, so no separator and no `..`.
    public static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 80, isWordScalar(first) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { isWordScalar($0) || "._-".unicodeScalars.contains($0) }
    }

    private static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
    }

    /// A file name made into an identifier: other characters become '-', cut to 80.
    static func identifier(from fileName: String) -> String {
        let mapped = String(
            String.UnicodeScalarView(
                fileName.unicodeScalars.prefix(80).map {
                    isWordScalar($0) || "._-".unicodeScalars.contains($0) ? $0 : "-"
                }))
        if let first = mapped.unicodeScalars.first, isWordScalar(first) { return mapped }
        return "t" + mapped.prefix(79)
    }

    // MARK: Sections

    /// `path` as written in the topology `file`: relative paths are relative to the file's directory.
    static func resolve(_ path: String, against file: String) -> String {
        path.hasPrefix("/")
            ? path : URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(path).path
    }

    private static func readModel(_ doc: inout YAMLMapping) throws -> ModelConfig {
        let presets = ModelConfig.presetNames.joined(separator: ", ")
        guard let node = doc.node("model") else {
            throw doc.error("model", "required: a preset (\(presets)) or a mapping")
        }
        if case .scalar(let s) = node {
            guard let preset = ModelConfig.presets[s.string] else {
                throw doc.error("model", "unknown model preset '\(s.string)'; expected one of: \(presets)")
            }
            return preset
        }
        var map = try YAMLMapping(file: doc.file, path: "model", node: node)
        var model: ModelConfig
        let sources = ["preset", "checkpoint", "config"].filter { map.node($0) != nil }
        if sources.count > 1 {
            throw map.error(
                sources[1], "give one of preset, checkpoint and config, not \(sources.joined(separator: " and "))")
        }
        // A checkpoint's dimensions are its tensors' shapes: only the name and the context limit may change.
        let fixed = sources.first == "checkpoint"
        if let presetName = try map.scalar("preset") {
            guard let preset = ModelConfig.presets[presetName] else {
                throw map.error("preset", "unknown model preset '\(presetName)'; expected one of: \(presets)")
            }
            model = preset
        } else if let path = try map.scalar("checkpoint") {
            do {
                let directory = resolve(path, against: doc.file)
                model = try HFCheckpoint(directory: directory).model
                model.checkpoint = directory
            } catch {
                throw map.error("checkpoint", error.description)
            }
        } else if let path = try map.scalar("config") {
            do {
                model = try HFConfig.load(path: resolve(path, against: doc.file))
            } catch {
                throw map.error("config", error.description)
            }
        } else {
            model = ModelConfig(
                name: "custom", layers: 0, hidden: 0, queryHeads: 0, kvHeads: 0, headDim: 0,
                ffn: 0, vocab: 0, maxContext: 0)
        }
        let explicit = model.layers == 0
        func dim(_ key: String, _ current: Int, _ limit: TopologyLimits.IntRange) throws -> Int {
            try map.int(key, default: explicit ? nil : current, within: limit)
        }
        model.name = try map.string("name", default: model.name)
        guard model.name.count <= 80, SafeText.clip(model.name, limit: 80) == model.name else {
            throw map.error(
                "name",
                "expected a label of at most 80 printable characters, "
                    + "found '\(YAMLMapping.clip(model.name))'")
        }
        if fixed,
            let key = ["layers", "hidden", "query_heads", "kv_heads", "head_dim", "ffn", "vocab"].first(where: {
                map.node($0) != nil
            })
        {
            throw map.error(
                key,
                "a checkpoint's dimensions come from its config.json and tensors; only name and "
                    + "max_context may be given beside it")
        }
        model.layers = try dim("layers", model.layers, TopologyLimits.layers)
        model.hidden = try dim("hidden", model.hidden, TopologyLimits.hidden)
        model.queryHeads = try dim("query_heads", model.queryHeads, TopologyLimits.queryHeads)
        model.kvHeads = try dim("kv_heads", model.kvHeads, TopologyLimits.kvHeads)
        model.headDim = try dim("head_dim", model.headDim, TopologyLimits.headDim)
        model.ffn = try dim("ffn", model.ffn, TopologyLimits.ffn)
        model.vocab = try dim("vocab", model.vocab, TopologyLimits.vocab)
        model.maxContext = try dim("max_context", model.maxContext, TopologyLimits.contextTokens)
        try map.rejectUnknownKeys()
        if let problem = model.problems.first { throw map.error("kv_heads", problem) }
        return model
    }

    private static func readCluster(_ map: inout YAMLMapping) throws -> Topology.ClusterSpec {
        let modules = try map.int("modules", default: nil, within: TopologyLimits.modules)
        let kindName = try map.string("kind", default: Topology.ModuleKind.pimOnly.rawValue)
        guard let kind = Topology.ModuleKind(rawValue: kindName) else {
            throw map.error(
                "kind",
                "unknown module kind '\(kindName)'; expected pim-only (CENT-like) or xpu-pim "
                    + "(NeuPIMs-like)")
        }
        let presetName = try map.string("preset", default: kind == .xpuPIM ? "neupims-32ch" : "cent-32ch")
        guard var module = ModuleConfig.presets[presetName] else {
            throw map.error(
                "preset",
                "unknown module preset '\(presetName)'; expected one of: "
                    + ModuleConfig.presetNames.joined(separator: ", "))
        }
        module.channels = try map.int("channels", default: module.channels, within: TopologyLimits.channels)
        module.banksPerChannel = try map.int(
            "banks_per_channel", default: module.banksPerChannel,
            within: TopologyLimits.banks)
        module.tCKps = Int64(try map.int("tck_ps", default: Int(module.tCKps), within: TopologyLimits.tCK))
        if let tflops = try map.double("processor_tflops", default: nil, within: TopologyLimits.tflops) {
            module.processorFLOPS = tflops * 1e12
        }
        if let gbps = try map.double("internal_bandwidth_gbps", default: nil, within: TopologyLimits.bandwidth) {
            module.internalBandwidthOverride = gbps * 1e9
        }
        if let gib = try map.double("capacity_gib", default: nil, within: TopologyLimits.capacityGiB) {
            module.capacityOverride = Int64(gib * 1_073_741_824)
        }
        if kind == .xpuPIM {
            var npu = NPUSpec()
            if let tflops = try map.double("npu_tflops", default: nil, within: TopologyLimits.tflops) {
                npu.flops = tflops * 1e12
            }
            if let gbps = try map.double("npu_bandwidth_gbps", default: nil, within: TopologyLimits.bandwidth) {
                npu.memoryBandwidth = gbps * 1e9
            }
            npu.subBatches = try map.int("sub_batches", default: npu.subBatches, within: TopologyLimits.subBatches)
            module.npu = npu
        } else {
            for key in ["npu_tflops", "npu_bandwidth_gbps", "sub_batches"] where map.node(key) != nil {
                throw map.error(key, "only an xpu-pim module has an NPU; set cluster.kind: xpu-pim")
            }
        }
        try map.rejectUnknownKeys()
        return Topology.ClusterSpec(modules: modules, kind: kind, module: module)
    }

    private static func readLink(
        _ links: inout YAMLMapping?, _ key: String, default base: LinkSpec = .cxlDefault
    ) throws -> LinkSpec {
        var spec = base
        guard var map = try links?.mapping(key) else { return spec }
        if let gbps = try map.double("bandwidth_gbps", default: nil, within: TopologyLimits.linkBandwidth) {
            spec.bytesPerSecond = gbps * 1e9
        }
        if let ns = try map.double("latency_ns", default: nil, within: TopologyLimits.latency) {
            spec.latencyPs = Picoseconds((ns * 1000).rounded())
        }
        try map.rejectUnknownKeys()
        return spec
    }

    private static func readWorkload(_ map: inout YAMLMapping, model: ModelConfig) throws -> Topology.WorkloadSpec {
        let batch = try map.int("batch_size", default: nil, within: TopologyLimits.batch)
        let trace = try readTrace(&map)
        let context = try readContext(&map, trace: trace)
        let output = try readOutput(&map, trace: trace)
        let requests = try map.int("requests", default: trace?.count ?? batch, within: TopologyLimits.requests)
        if let trace, requests != trace.count {
            throw map.error("requests", "the trace holds \(trace.count) requests; leave requests out or set it to that")
        }
        let arrival = try readArrival(&map, trace: trace)
        let batchingName = try map.string("batching", default: "static")
        guard let batching = Topology.BatchingPolicy(rawValue: batchingName) else {
            throw map.error("batching", "expected static or continuous, found '\(batchingName)'")
        }
        let allocationName = try map.string("allocation", default: "dpa")
        guard let allocation = AllocationScheme(rawValue: allocationName) else {
            throw map.error("allocation", "expected static or dpa, found '\(allocationName)'")
        }
        let maxContext = try map.int("max_context", default: model.maxContext, within: TopologyLimits.contextTokens)
        if maxContext > model.maxContext {
            throw map.error("max_context", "\(maxContext) tokens exceed the model's \(model.maxContext)-token context")
        }
        let chunkKiB = try map.int("chunk_kib", default: 1024, within: TopologyLimits.chunkKiB)
        let interventionNs =
            try map.double("host_intervention_ns", default: 1000, within: TopologyLimits.hostTime) ?? 1000
        let prefill = try map.string("prefill_kv", default: "transfer")
        guard ["transfer", "resident"].contains(prefill) else {
            throw map.error(
                "prefill_kv",
                "expected transfer (the prompt's KV travels over each module's host link) or "
                    + "resident (it is already in place), found '\(prefill)'")
        }
        try checkLongest(
            map, trace: trace, context: context, output: output, maxContext: maxContext, model: model)
        try map.rejectUnknownKeys()
        return Topology.WorkloadSpec(
            batchSize: batch, context: context, output: output, requests: requests,
            arrival: arrival, trace: trace, batching: batching, allocation: allocation,
            maxContext: maxContext, chunkBytes: Int64(chunkKiB) * 1024,
            hostInterventionPs: Picoseconds((interventionNs * 1000).rounded()),
            prefillKVTransfer: prefill == "transfer")
    }

    /// `workload.trace`: a request trace file, relative to the topology file's directory. It is read as a
    /// stream, line by line (a trace of any size takes constant memory beyond its requests).
    private static func readTrace(_ map: inout YAMLMapping) throws -> [RequestSpec]? {
        guard let path = try map.scalar("trace") else { return nil }
        let resolved =
            path.hasPrefix("/")
            ? path
            : URL(fileURLWithPath: map.file).deletingLastPathComponent().appendingPathComponent(path).path
        do {
            let lines = try LineReader(path: resolved, what: "request trace", maxLineBytes: 64 << 10)
            var reader = RequestTrace.Reader(file: resolved)
            while let line = try lines.next() { try reader.add(line) }
            return try reader.finish()
        } catch let error as RequestTrace.ParseError {
            throw TopologyError(file: error.file, line: error.line, field: error.field, message: error.message)
        } catch let error as InputFileError where error.line == nil {
            throw map.error("trace", "\(SafeText.clip(resolved, limit: 500)): \(error.message)")
        } catch let error as InputFileError {
            throw TopologyError(file: error.file, line: error.line, field: "", message: error.message)
        }
    }

    /// `workload.context`: a length in tokens or a dataset; required unless a trace gives the prompts.
    private static func readContext(_ map: inout YAMLMapping, trace: [RequestSpec]?) throws -> ContextSource {
        let datasets = Dataset.presetNames.joined(separator: ", ")
        guard let text = try map.scalar("context") else {
            guard trace != nil else {
                throw map.error("context", "required: a length in tokens or a dataset (\(datasets)), or give trace")
            }
            return .fixed(1)
        }
        guard trace == nil else { throw map.error("context", "give either context or trace, not both") }
        if let dataset = Dataset.presets[text] { return .dataset(dataset) }
        guard text.first?.isNumber == true || text.first == "-" else {
            throw map.error(
                "context",
                "expected a length in tokens or a dataset (\(datasets)), found '\(YAMLMapping.clip(text))'")
        }
        return .fixed(try map.int("context", default: nil, within: TopologyLimits.contextTokens))
    }

    /// Output lengths: `decode_steps` (fixed) or `output_tokens` (fixed or {mean, std, min, max}); a trace
    /// gives its own.
    private static func readOutput(_ map: inout YAMLMapping, trace: [RequestSpec]?) throws -> OutputLength {
        if trace != nil, map.has("decode_steps") || map.has("output_tokens") {
            throw map.error(
                map.has("decode_steps") ? "decode_steps" : "output_tokens",
                "a trace gives each request's output tokens; leave this out")
        }
        if let n = try map.optionalInt("decode_steps", within: TopologyLimits.outputTokens) {
            guard map.node("output_tokens") == nil else {
                throw map.error("output_tokens", "give either decode_steps or output_tokens, not both")
            }
            return .fixed(n)
        }
        guard let node = map.node("output_tokens") else {
            if let trace { return .fixed(trace.map(\.outputTokens).max() ?? 1) }
            throw map.error("decode_steps", "required: tokens each request generates (decode_steps or output_tokens)")
        }
        if case .scalar(let s) = node {
            guard let n = Int(s.string), TopologyLimits.outputTokens.range.contains(n) else {
                throw map.error(
                    "output_tokens",
                    "expected a number of tokens " + YAMLMapping.describe(TopologyLimits.outputTokens.range)
                        + " or {mean, std, min, max}")
            }
            return .fixed(n)
        }
        var o = try YAMLMapping(file: map.file, path: "workload.output_tokens", node: node)
        let mean = try o.double("mean", default: nil, within: TopologyLimits.outputMoments) ?? 0
        let std = try o.double("std", default: nil, within: TopologyLimits.outputMoments) ?? 0
        let low = try o.int("min", default: 1, within: TopologyLimits.outputTokens)
        let high = try o.int("max", default: nil, within: TopologyLimits.outputTokens)
        try o.rejectUnknownKeys()
        guard mean > 0, low <= high else { throw map.error("output_tokens", "needs mean > 0 and min ≤ max") }
        guard std > 0 || (Double(low)...Double(high)).contains(mean) else {
            throw map.error("output_tokens", "with std 0 the mean (\(mean)) must lie in min…max (\(low)…\(high))")
        }
        return .normal(mean: mean, std: std, min: low, max: high)
    }

    /// `workload.arrival`: `offline` (default) or `{poisson_per_s: RATE}`; a trace gives its own.
    private static func readArrival(_ map: inout YAMLMapping, trace: [RequestSpec]?) throws -> ArrivalProcess {
        guard let node = map.node("arrival") else { return .offline }
        let arrival: ArrivalProcess
        switch node {
        case .scalar(let s) where s.string == "offline": arrival = .offline
        case .mapping:
            var a = try YAMLMapping(file: map.file, path: "workload.arrival", node: node)
            let rate = try a.double("poisson_per_s", default: nil, within: TopologyLimits.arrivalRate)
            try a.rejectUnknownKeys()
            guard let rate else { throw map.error("arrival", "expected 'offline' or {poisson_per_s: RATE}") }
            arrival = .poisson(perSecond: rate)
        default: throw map.error("arrival", "expected 'offline' or {poisson_per_s: RATE}")
        }
        if trace != nil { throw map.error("arrival", "a trace gives its own arrival times; leave arrival out") }
        return arrival
    }

    /// Every request must fit the context limit (prompt + output).
    private static func checkLongest(
        _ map: YAMLMapping, trace: [RequestSpec]?, context: ContextSource, output: OutputLength, maxContext: Int,
        model: ModelConfig
    ) throws {
        let longest = trace.map { $0.map(\.finalTokens).max() ?? 0 } ?? (context.maxLength + output.maxLength)
        guard longest > maxContext else { return }
        throw map.error(
            trace != nil ? "trace" : "context",
            "requests of up to \(longest) tokens (prompt + output) exceed "
                + "\(maxContext == model.maxContext ? "the model's" : "max_context of") \(maxContext) tokens")
    }

    /// `evenShards`: the modules of a stage split heads and FFN evenly (every partitioning but `cent`, whose
    /// model-parallel mode splits the FC layers by rows, rounded up, as CENT's trace does).
    private static func readParallelism(
        _ map: inout YAMLMapping?, modules: Int, model: ModelConfig, evenShards: Bool,
        batchSize: Int, meanTokens: Double, within doc: YAMLMapping
    ) throws -> Topology.Parallelism {
        let microBatches =
            try map?.int(
                "micro_batches", default: min(modules, batchSize),
                within: TopologyLimits.microBatches) ?? min(modules, batchSize)
        let tp = try map?.int("tp", default: 1, within: TopologyLimits.tp) ?? 1
        guard modules % tp == 0 else {
            throw map!.error(
                "tp", "\(tp) does not divide cluster.modules (\(modules)); tp × pp must equal the modules")
        }
        if evenShards, let problem = model.tensorParallelProblems(tp: tp).first { throw map!.error("tp", problem) }
        let pp = modules / tp
        // `pipeline_stages` is the old name of `pp`.
        for key in ["pp", "pipeline_stages"] {
            if let stages = try map?.int(key, default: pp, within: TopologyLimits.modules), stages != pp {
                throw map!.error(key, "must equal cluster.modules / tp = \(modules) / \(tp) = \(pp)")
            }
        }
        if microBatches > batchSize {
            throw map!.error(
                "micro_batches",
                "\(microBatches) micro-batches need at least as many requests; "
                    + "workload.batch_size is \(batchSize)")
        }
        if pp > model.layers {
            throw doc.error(
                "cluster",
                "\(pp) pipeline stages (\(modules) modules / tp \(tp)) but the model has only "
                    + "\(model.layers) layers; each pipeline stage needs at least one layer")
        }
        var layers = PipelinePlan.balancedSplit(model: model.sharded(tp: tp), stages: pp, meanTokens: meanTokens)
        if let node = map?.node("layers_per_stage"), let m = map {
            if case .scalar(let s) = node, s.string == "auto" {
            } else if case .sequence(let seq) = node {
                layers = try seq.map { item -> Int in
                    guard case .scalar(let s) = item, let n = Int(s.string),
                        TopologyLimits.layers.range.contains(n)
                    else {
                        throw TopologyError(
                            file: m.file, line: item.mark?.line, column: item.mark?.column,
                            field: "parallelism.layers_per_stage",
                            message: "expected a positive number of layers, found \(item.kindName)")
                    }
                    return n
                }
                if layers.count != pp || layers.reduce(0, +) != model.layers {
                    throw m.error(
                        "layers_per_stage",
                        "expected \(pp) entries (one per pipeline stage) summing to "
                            + "\(model.layers) layers; found \(layers.count) summing to \(layers.reduce(0, +))")
                }
            } else {
                throw m.error("layers_per_stage", "expected 'auto' or a list of layer counts, found \(node.kindName)")
            }
        }
        let collectiveName = try map?.string("collective", default: "direct") ?? "direct"
        guard let collective = CollectiveAlgorithm(rawValue: collectiveName) else {
            throw map!.error(
                "collective", "expected direct, ring or hierarchical, found '\(YAMLMapping.clip(collectiveName))'")
        }
        try map?.rejectUnknownKeys()
        return Topology.Parallelism(microBatches: microBatches, layersPerStage: layers, tp: tp, collective: collective)
    }

    private static func readFidelity(_ map: inout YAMLMapping?) throws -> Topology.FidelitySpec {
        let levels = Topology.FidelityLevel.allCases.map(\.rawValue).joined(separator: ", ")
        let levelName = try map?.string("level", default: "roofline") ?? "roofline"
        guard let level = Topology.FidelityLevel(rawValue: levelName) else {
            throw map!.error("level", "unknown fidelity '\(levelName)'; expected one of: \(levels)")
        }
        var pim: Double? = nil
        if let text = try map?.scalar("pim_efficiency"), text != "auto" {
            guard let value = Double(text), value > 0, value <= 1 else {
                throw map!.error("pim_efficiency", "expected 'auto' or a fraction in (0, 1], found '\(text)'")
            }
            pim = value
        }
        let processor =
            try map?.double("processor_efficiency", default: nil, within: TopologyLimits.processorEfficiency)
            ?? RooflineCostModel.defaultProcessorEfficiency
        var spec = Topology.FidelitySpec(level: level, pimEfficiency: pim, processorEfficiency: processor)
        if let policy = try map?.choice("scheduling", as: SchedulingPolicy.self) { spec.scheduling = policy }
        if let partitioning = try map?.choice("partitioning", as: AttentionPartitioning.self) {
            spec.partitioning = partitioning
            // CENT's trace runs on the AiM controller: its scheduling is `static`.
            if partitioning == .cent {
                if map?.node("scheduling") != nil, spec.scheduling != .static {
                    throw map!.error(
                        "scheduling",
                        "partitioning cent replays CENT's trace on the AiM controller; set scheduling: static or "
                            + "leave it out")
                }
                spec.scheduling = .static
            }
        }
        // CENT's own settings apply to its partitioning only.
        spec.centMode = try map?.choice("cent_mode", as: CENTMode.self)
        spec.centScoreMoves = try map?.choice("cent_score_moves", as: CENTScoreMoves.self) ?? .free
        for key in ["cent_mode", "cent_score_moves"] where map?.node(key) != nil && spec.partitioning != .cent {
            throw map!.error(key, "\(key) applies to partitioning: cent only")
        }
        spec.obufEntries =
            try map?.int("obuf_entries", default: spec.obufEntries, within: TopologyLimits.obufEntries)
            ?? spec.obufEntries
        if let text = try map?.scalar("functional") {
            guard ["true", "false"].contains(text) else {
                throw map!.error("functional", "expected true or false, found '\(text)'")
            }
            if text == "true" { spec.functional = .aim }
        }
        if let arithmetic = try map?.choice("arithmetic", as: FunctionalArithmetic.self) {
            guard spec.functional != nil else {
                throw map!.error("arithmetic", "arithmetic applies to functional runs: add functional: true")
            }
            spec.functional = arithmetic
        }
        try map?.rejectUnknownKeys()
        return spec
    }
}
