import Synchronization
import Workload

/// `fidelity.partitioning: cent`: a stage timed the way CENT's own simulator times a device (docs/MAPPING.md §7,
/// docs/CENT-CODE.md). A module that holds k layers is k of CENT's blocks: each layer's weights and KV cache sit
/// on its own `C = channels // k` channels (`run_sim.py:58-59`), laid out and lowered as CENT's trace generator
/// does (`CENTProgram`: the reuse-GB GEMVs, K spread token by token over the block's banks, one KV head per channel
/// for V, the softmax's moves and scaling in PIM), and the k blocks run one command stream in lock-step, one
/// request each (`Llama.py:607-609`).
///
/// - A device step is CENT's trace for one block step, replayed on the public AiM simulator's rules
///   (`AiMTraceReplay`, no refresh: that simulator never refreshes), operator by operator (`CENTProgram.segments`,
///   each from idle channels), plus the near-memory units' analytic time for the k blocks in turn
///   (`CENTAnalytic.accParts`, `run_sim.py:166-180, 201`).
/// - A micro-batch's requests go to the blocks k at a time (a wave); a wave passes the module's k layers in k
///   device steps, every block advancing one request by one layer per step (CENT's steady pipeline), so a wave
///   costs k device steps at its longest context: one command stream serves every block of the step.
/// - The last stage's LM head is CENT's embedding trace (`CENTProgram.embeddingInstructions`), once per wave.
///
/// Replays are cached by their instruction streams (identical streams take identical time), so T values whose
/// streams agree (the softmax and SV streams change every 16 tokens) are replayed once per process.
public struct CENTCostModel: StageCostModel {
    public let module: ModuleConfig
    public let model: CENTModel
    public let commit: AiMSimulatorCommit
    /// The lolpim model `model` was taken from.
    let config: ModelConfig
    let replays: CENTReplays

    public init(module: ModuleConfig, model: ModelConfig, commit: AiMSimulatorCommit = .validated) {
        self.module = module
        self.model = CENTModel(model)
        self.commit = commit
        config = model
        replays = CENTReplays(replay: AiMTraceReplay(module: module, refresh: false, commit: commit))
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

    /// CENT's device for a module holding `layers` layers: that many blocks (at most one per channel), each on
    /// `channels // blocks` channels.
    public func device(layers: Int) -> CENTDevice {
        let blocks = min(max(layers, 1), module.channels)
        return CENTDevice(channelsPerBlock: module.channels / blocks, channels: module.channels)
    }

    /// An operator on its own: as in a module holding one layer (one block on every channel). Stages are timed as
    /// a whole (`stageCost`); this serves tools that cost single operators.
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
        let device = device(layers: layers)
        let blocks = min(max(layers, 1), module.channels)
        for start in stride(from: 0, to: contexts.count, by: blocks) {
            let wave = Array(contexts[start..<min(start + blocks, contexts.count)])
            let seqLen = max(wave.max() ?? 2, 2)
            for (kind, timing) in deviceStep(device: device, blocks: blocks, seqLen: seqLen) {
                cost.add(kind, timing, times: Int64(layers))
            }
            if includesLMHead {
                let program = CENTProgram(model: model, device: device, seqLen: seqLen).embeddingInstructions
                cost.add(.lmHead, replays.time(program, cyclePs: module.tCKps), times: 1)
            }
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

    /// One lock-step device step of `blocks` blocks at `seqLen` tokens, by operator kind: the trace's segments
    /// replayed, and the near-memory units' turns (RMSNorm with the norms, exp and sums with the softmax, the
    /// rotary embedding with QKV).
    func deviceStep(device: CENTDevice, blocks: Int, seqLen: Int) -> [(OpKind, CENTReplays.Timing)] {
        let program = CENTProgram(model: model, device: device, seqLen: seqLen)
        var step = program.segments.map { ($0.kind, replays.time($0.instructions, cyclePs: module.tCKps)) }
        let acc = CENTAnalytic.accParts(model: model, seqLen: seqLen)
        let psPerMs = 1e9
        for (kind, ms) in [(OpKind.norm, acc.rmsNorm), (.softmax, acc.softmax), (.qkvProjection, acc.rotary)] {
            let ps = Picoseconds((ms * psPerMs * Double(blocks)).rounded())
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
        commands = commands + timing.commands * times
        if kind.isAttention { attentionCommands = attentionCommands + timing.commands * times }
    }
}

/// The replays a `CENTCostModel` has made, by instruction stream (its length and a 64-bit hash of its
/// instructions), shared by the copies of the model a process makes.
final class CENTReplays: Sendable {
    struct Timing: Sendable {
        var latency: Picoseconds
        var commands: CommandCounts
    }

    struct Key: Hashable {
        var count: Int
        var hash: Int
    }

    let replay: AiMTraceReplay
    private let known = Mutex<[Key: Timing]>([:])

    init(replay: AiMTraceReplay) { self.replay = replay }

    /// The time of `instructions` from idle channels to the end of their last command (an EOC is added).
    func time(_ instructions: [AiMInstruction], cyclePs: Picoseconds) -> Timing {
        var hasher = Hasher()
        for instruction in instructions { hasher.combine(instruction) }
        let key = Key(count: instructions.count, hash: hasher.finalize())
        if let timing = known.withLock({ $0[key] }) { return timing }
        let report = replay.run(instructions + [AiMInstruction(.eoc)])
        let timing = Timing(latency: report.cycles * cyclePs, commands: report.commands)
        known.withLock { $0[key] = timing }
        return timing
    }
}
