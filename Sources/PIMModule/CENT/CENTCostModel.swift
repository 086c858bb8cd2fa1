import Synchronization
import Workload

/// `fidelity.partitioning: cent`: a stage timed the way CENT's own simulator times a device (docs/MAPPING.md §13,
/// docs/CENT-CODE.md). Every module holds `blocks` of CENT's blocks, the most layers a stage has (CENT's
/// `blocks_per_device = ceil(L / D)`); each block is one layer on its own `C = channels // blocks` channels
/// (`run_sim.py:58-59`), its weights and KV cache laid out and lowered as CENT's trace generator does
/// (`CENTProgram`: the reuse-GB GEMVs, K spread token by token over the block's banks, one KV head per channel
/// for V, the softmax's moves and scaling in PIM), and the blocks run one command stream in lock-step, one
/// request each (`Llama.py:607-609`).
///
/// - A device step is CENT's trace for one block step, replayed on the public AiM simulator's rules
///   (`AiMTraceReplay`, no refresh: that simulator never refreshes), operator by operator (`CENTProgram.segments`,
///   each from idle channels), plus the near-memory units' analytic time for the blocks in turn
///   (`CENTAnalytic.accParts`, `run_sim.py:166-180, 201`).
/// - Every device step advances each block by one request (CENT's steady pipeline), so a micro-batch of b
///   requests through a stage of k layers keeps the module for max(b, k) device steps, each at the micro-batch's
///   longest context (one command stream serves every block of the step).
/// - The last stage's LM head is CENT's embedding trace (`CENTProgram.embeddingInstructions`), once per
///   `blocks` requests. CENT adds it to a token's latency but to no device's time (`run_sim.py:202-204`), so it
///   delays the micro-batch without keeping the module (`StageCost.afterModulePs`).
///
/// In CENT's model-parallel mode (`CENTMode.modelParallel`, a stage of `tp` modules) every block instead spans all
/// channels of the stage's modules: the trace is device 0's share (weight rows and K tokens over all the group's
/// banks, V and SV whole on every device), a module's layers run one after the other, so a micro-batch of b requests
/// through k layers keeps it for b·k device steps, and each step also waits for CENT's gathers and broadcasts of
/// every FC layer's outputs over the group's link (`CENTLink.blockTransfers`).
///
/// Each piece of the trace is timed once per what of T it depends on (`CENTProgram.ContextUse`), in the process
/// (`CENTReplays`) and in the kernel store.
public struct CENTCostModel: StageCostModel {
    public let module: ModuleConfig
    public let model: CENTModel
    /// CENT's blocks per device: the most layers any stage of the pipeline holds (pipeline-parallel), or 1.
    public let blocks: Int
    public let mode: CENTMode
    /// The modules of the stage (CENT's `FC_devices`) in model-parallel mode; 1 in pipeline-parallel mode.
    public let fcDevices: Int
    /// The group's link in model-parallel mode (its gathers and broadcasts); nil in pipeline-parallel mode.
    public let groupLink: CENTLink?
    /// Whether the scores crossing the group's devices are charged (CENT's code does not).
    public let scoreMoves: CENTScoreMoves
    public let commit: AiMSimulatorCommit
    /// The lolpim model `model` was taken from.
    let config: ModelConfig
    let replays: CENTReplays
    /// The store keys' rules (`rules(module:commit:)`).
    let rules: String

    /// Device steps recorded by earlier workers and runs (`KernelTimingStore`), when there is one.
    let store: (any KernelTimingStore)?

    /// `model` is the whole model (CENT's trace divides it over the group itself). `replays` may be shared by every
    /// cost model of a process (`ProcessCaches`); `store` by every process.
    public init(
        module: ModuleConfig, model: ModelConfig, blocks: Int, mode: CENTMode = .pipelineParallel, tp: Int = 1,
        groupLink: CENTLink? = nil, scoreMoves: CENTScoreMoves = .free, commit: AiMSimulatorCommit = .validated,
        replays: CENTReplays = CENTReplays(), store: (any KernelTimingStore)? = nil
    ) {
        self.store = store
        self.scoreMoves = scoreMoves
        self.module = module
        self.model = CENTModel(model)
        self.mode = mode
        switch mode {
        case .pipelineParallel:
            self.blocks = min(max(blocks, 1), module.channels)
            fcDevices = 1
            self.groupLink = nil
        case .modelParallel:
            self.blocks = 1
            fcDevices = max(tp, 1)
            self.groupLink = groupLink
        }
        self.commit = commit
        config = model
        self.replays = replays
        rules = Self.rules(module: module, commit: commit)
    }

    /// Why a module or model cannot take CENT's layout, or nil: CENT's trace assumes GDDR6-AiM banks (16 per
    /// channel, 2 KB rows read in 32 B bursts: `utils.py:21-27`) and head dimensions a bank-group multiple.
    public static func problem(module: ModuleConfig, model: ModelConfig) -> String? {
        if module.banksPerChannel != 16 || module.rowBytes != 2048 || module.columnBytes != 32 {
            return "partitioning cent lays data out as CENT's GDDR6-AiM device does (16 banks per channel, 2 KB rows,"
                + " 32 B columns); module \(module.preset) has \(module.banksPerChannel) banks, \(module.rowBytes) B"
                + " rows and \(module.columnBytes) B columns"
        }
        if model.headDim % 16 != 0 || model.hidden % 16 != 0 {
            return "partitioning cent needs the head dimension and the hidden size to be multiples of 16"
                + " (CENT spreads 16 dimensions over a channel's banks)"
        }
        return nil
    }

    /// CENT's device: `blocks` blocks of `channels // blocks` channels, or one block over the group's devices.
    public var device: CENTDevice {
        CENTDevice(channelsPerBlock: module.channels / blocks, channels: module.channels, fcDevices: fcDevices)
    }

    /// An operator on its own, in one layer of this module. Stages are timed as a whole (`stageCost`); this
    /// serves tools that cost single operators.
    public func cost(of op: DecodeOp) -> OpCost {
        var contexts = [2]
        if case .attention(let c, _, _, _) = op.shape { contexts = c }
        var cost = stageCost(
            step: DecodeStep(model: config), layers: 1, contexts: contexts, includesLMHead: op.kind == .lmHead)
        let latency = cost.byKind[op.kind] ?? 0
        cost.total = latency
        return OpCost(latency: latency, commands: cost.commands, hubFlops: cost.hubFlops)
    }

    public func stageCost(step: DecodeStep, layers: Int, contexts: [Int], includesLMHead: Bool) -> StageCost {
        var cost = StageCost()
        guard !contexts.isEmpty else { return cost }
        let seqLen = max(contexts.max() ?? 2, 2)
        let steps = Int64(mode == .pipelineParallel ? max(contexts.count, layers) : contexts.count * layers)
        for (kind, timing) in deviceStep(seqLen: seqLen) { cost.add(kind, timing, times: steps) }
        if includesLMHead {
            let runs = Int64((contexts.count + blocks - 1) / blocks)
            let head = embedding()
            cost.afterModulePs += head.latency * runs
            cost.commands = cost.commands + head.commands * runs
        }
        // Bytes, flops and HUB flops as the operators count them (for energy and utilisation figures).
        for entry in step.stageOps(contexts: contexts, layers: layers, lmHead: includesLMHead) {
            let times = Int64(entry.times)
            cost.bytesRead += entry.op.bytesRead * times
            cost.bytesWritten += entry.op.bytesWritten * times
            cost.flops += entry.op.flops * times
            if entry.op.unit == .processor {
                cost.hubFlops += entry.op.flops * times
                if entry.op.kind.isAttention { cost.attentionHubFlops += entry.op.flops * times }
            }
        }
        return cost
    }

    public func isTimed(contexts: [Int], includesLMHead: Bool) -> Bool {
        let stepKnown = replays.steps.kept(stepKey(seqLen: max(contexts.max() ?? 2, 2))) != nil
        return stepKnown && (!includesLMHead || replays.pieces.kept(embeddingKey) != nil)
    }

    /// The embedding trace's key (it depends on no T).
    var embeddingKey: KernelKey { storeKey(piece: "embedding", context: "none") }

    /// CENT's embedding trace on the device (no instruction of it depends on T; CENT writes it at T = 4096).
    func embedding() -> CENTReplays.Timing {
        timed(embeddingKey) {
            CENTProgram(model: model, device: device, seqLen: 4096).embeddingProgram
        }
    }

    /// The time of segment `index` of `program`, keyed by the context as far as the segment depends on it
    /// (`CENTProgram.ContextUse`): segments with the same key have the same instructions (tested).
    func piece(_ index: Int, of program: CENTProgram) -> CENTReplays.Timing {
        let context: String
        switch CENTProgram.pieces[index].context {
        case .none: context = "none"
        case .bursts: context = "bursts \((program.seqLen + 15) / 16)"
        case .scoreGroups:
            let groups = program.device.scoreGroups(seqLen: program.seqLen)
            context = "score-groups \(groups.count) last-channels \(groups.lastChannels.count)"
        case .appendBank: context = program.appendKey
        }
        return timed(storeKey(piece: String(index), context: context)) { program.segment(index).program }
    }

    /// The time of the instructions `key` names: from this process (kept, or another thread's replay of it under
    /// way, waited for), else the store, else replayed from idle channels (an EOC added; the public AiM simulator's
    /// rules at `commit`, no refresh: that simulator never refreshes) and recorded in both.
    func timed(_ key: KernelKey, _ instructions: () -> CENTInstructions) -> CENTReplays.Timing {
        replays.pieces.value(key) {
            if let stored = store?.timing(key) {
                return CENTReplays.Timing(latency: stored.cycles * module.tCKps, commands: CommandCounts(stored.counts))
            }
            var program = instructions()
            program.append(AiMInstruction(.eoc))
            let report = AiMTraceReplay(module: module, refresh: false, commit: commit).run(program)
            // A replayed piece has no GEMV loop order; the field is required and unused here.
            store?.record(
                key, KernelTiming(cycles: report.cycles, counts: report.commands.values, order: .rowStationary))
            return CENTReplays.Timing(latency: report.cycles * module.tCKps, commands: report.commands)
        }
    }

    /// The kernel-store key of one piece of a device step (a `CENTProgram.segments` index, or the embedding): the
    /// replay's rules and the module, CENT's model and device, and the context as the piece depends on it. Every
    /// worker of a run, and later runs, reuse it.
    func storeKey(piece: String, context: String) -> KernelKey {
        let m = model, d = device
        let kernel =
            "cent-step heads \(m.heads) kv-heads \(m.kvHeads) head-dim \(m.headDim) dim \(m.dim) ffn \(m.ffn) "
            + "vocab \(m.vocabulary) channels-per-block \(d.channelsPerBlock)"
            + (d.fcDevices > 1 ? " fc-devices \(d.fcDevices)" : "") + " context \(context) piece \(piece)"
        return KernelKey(context: rules, kernel: kernel)
    }

    /// The replay's rules and the module, as the store keys name them (made once: the timing's text is written by
    /// reflection, which costs more than a piece's look-up).
    static func rules(module: ModuleConfig, commit: AiMSimulatorCommit) -> String {
        [
            "cent \(Self.modelVersion)", "commit \(commit.rawValue)", "refresh false",
            "module \(module.preset) channels \(module.channels) banks \(module.banksPerChannel) "
                + "bank-bytes \(module.bankBytes) row-bytes \(module.rowBytes) tck-ps \(module.tCKps)",
            "timing \(module.timing)",
        ].joined(separator: "\n")
    }

    /// The version of the `cent` timing: bump it when CENT's port or its replay changes any piece's time, so that
    /// stores miss instead of answering with stale timings.
    public static let modelVersion = 3

    /// A device step of this model and module at `seqLen` tokens.
    func stepKey(seqLen: Int) -> CENTReplays.StepKey {
        CENTReplays.StepKey(
            model: model, module: module, device: device, link: groupLink, scoreMoves: scoreMoves, commit: commit,
            seqLen: seqLen)
    }

    /// One device step at `seqLen` tokens, by operator kind: the trace's segments replayed, the near-memory units'
    /// turns for every block (RMSNorm with the norms, exp and sums with the softmax, the rotary embedding with QKV;
    /// in model-parallel mode for all H heads and all T tokens, as CENT charges them), and in model-parallel mode
    /// the group's gathers and broadcasts with the FC layers whose outputs they move (and, with `scoreMoves`
    /// costed, the scores' with the softmax).
    func deviceStep(seqLen: Int) -> [(OpKind, CENTReplays.Timing)] {
        replays.steps.value(stepKey(seqLen: seqLen)) { makeDeviceStep(seqLen: seqLen) }
    }

    /// `deviceStep` made from its pieces.
    private func makeDeviceStep(seqLen: Int) -> [(OpKind, CENTReplays.Timing)] {
        let program = CENTProgram(model: model, device: device, seqLen: seqLen)
        var step = CENTProgram.pieces.indices.map { (CENTProgram.pieces[$0].kind, piece($0, of: program)) }
        let acc = CENTAnalytic.accParts(model: model, seqLen: seqLen)
        let psPerMs = 1e9
        for (kind, ms) in [(OpKind.norm, acc.rmsNorm), (.softmax, acc.softmax), (.qkvProjection, acc.rotary)] {
            let ps = Picoseconds((ms * psPerMs * Double(blocks)).rounded())
            step.append((kind, CENTReplays.Timing(latency: ps, commands: CommandCounts())))
        }
        var transfers = groupLink?.blockTransfers(model: model, fcDevices: fcDevices) ?? []
        if let link = groupLink, scoreMoves == .costed {
            transfers.append((.softmax, link.scoreTransfers(model: model, fcDevices: fcDevices, seqLen: seqLen)))
        }
        for (kind, ps) in transfers {
            step.append((kind, CENTReplays.Timing(latency: ps, commands: CommandCounts())))
        }
        return step
    }
}

extension StageCost {
    /// Adds `times` runs of a timed piece of a CENT device step under `kind`.
    mutating func add(_ kind: OpKind, _ timing: CENTReplays.Timing, times: Int64) {
        total += timing.latency * times
        byKind[kind, default: 0] += timing.latency * times
        commands.add(timing.commands, times: times)
        if kind.isAttention { attentionCommands.add(timing.commands, times: times) }
    }
}

/// The timings the `cent` partitioning's cost models have made in one process (`ProcessCaches`): trace pieces by
/// their kernel-store keys, and whole device steps by model, module, blocks, rules and context (a step is asked
/// for once per micro-batch; assembling it from its pieces' keys each time would rebuild eleven key texts). Both
/// are `SharedComputations`: the modules of a tensor-parallel group ask for the same step at the same moment, and
/// one replays it while the others wait for it.
public final class CENTReplays: Sendable {
    struct Timing: Sendable {
        var latency: Picoseconds
        var commands: CommandCounts
    }

    struct StepKey: Hashable, Sendable {
        var model: CENTModel
        var module: ModuleConfig
        var device: CENTDevice
        var link: CENTLink?
        var scoreMoves: CENTScoreMoves
        var commit: AiMSimulatorCommit
        var seqLen: Int
    }

    let steps = SharedComputations<StepKey, [(OpKind, Timing)]>(keeping: .max)
    let pieces = SharedComputations<KernelKey, Timing>(keeping: .max)

    public init() {}
}
