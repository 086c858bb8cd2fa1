import PIMModule
import Workload

/// A baseline system as the decode loop sees it: the time of one step for the running requests, how much KV
/// memory there is, how much a request takes, and the energy a step spends.
public protocol DecodeSystem: Sendable {
    var name: String { get }
    func step(contexts: [Int]) -> MultiGPUSystem.StepTime
    /// KV bytes the system holds (all devices together).
    var kvCapacityBytes: Int64 { get }
    /// KV bytes a request of `tokens` tokens takes (all devices together).
    func kvBytes(tokens: Int) -> Int64
    /// Dynamic energy of one step, joules: all of it, and the attention operators' share.
    func stepEnergy(contexts: [Int]) -> StepEnergy
    /// Memory of all devices together, bytes.
    var memoryBytes: Int64 { get }
    /// Power every device draws whatever it does (idle board power), watts, all devices together.
    var staticPowerW: Double { get }
}

/// Dynamic energy of one decode step, joules.
public struct StepEnergy: Sendable, Equatable {
    public var totalJ = 0.0
    /// The attention operators' share (`OpKind.isAttention`).
    public var attentionJ = 0.0

    /// Adds `times` × each operator's bytes at `perByte(op)` J/B and its flops at the ALU's energy.
    mutating func add(_ ops: [(DecodeOp, Double)], perByte: (DecodeOp) -> Double) {
        for (op, times) in ops {
            let joules =
                times
                * (Double(op.bytesRead + op.bytesWritten) * perByte(op)
                    + Double(op.flops) * BaselineEnergy.aluJPerOp)
            totalJ += joules
            if op.kind.isAttention { attentionJ += joules }
        }
    }

    static func * (e: StepEnergy, n: Double) -> StepEnergy {
        StepEnergy(totalJ: e.totalJ * n, attentionJ: e.attentionJ * n)
    }
    static func + (a: StepEnergy, b: StepEnergy) -> StepEnergy {
        StepEnergy(totalJ: a.totalJ + b.totalJ, attentionJ: a.attentionJ + b.attentionJ)
    }
}

/// Energy figures of docs/REFERENCE.md §7.1 (AttAcc): data movement per byte and ALU work per operation.
public enum BaselineEnergy {
    /// GPU HBM access: (0.11 + 0.44 + 1.01 + 1.23 + 0.5 + 0.3) × 8 pJ per byte.
    public static let gpuMemoryJPerByte = (0.11 + 0.44 + 1.01 + 1.23 + 0.5 + 0.3) * 8e-12
    /// HBM-PIM bank-level access: (0.11 + 0.44) × 8 pJ per byte.
    public static let pimMemoryJPerByte = (0.11 + 0.44) * 8e-12
    /// One ALU operation, 0.32 pJ (AttAcc's PIM figure, used for the GPUs too: docs/REFERENCE.md §7.1 gives no other).
    public static let aluJPerOp = 0.32e-12
}

extension MultiGPUSystem: DecodeSystem {
    public var name: String { "\(count) × \(gpu.name)" }
    public var kvCapacityBytes: Int64 { kvCapacityBytesPerGPU * Int64(count) }
    public func kvBytes(tokens: Int) -> Int64 { kvBytesPerGPU(tokens: tokens) * Int64(count) }
    public var memoryBytes: Int64 { gpu.memoryBytes * Int64(count) }
    public var staticPowerW: Double { gpu.idlePowerW * Double(count) }

    /// Every operator of one GPU's shard: the layers' (× layers) and the LM head's (once).
    func shardOps(contexts: [Int]) -> [(DecodeOp, Double)] {
        DecodeStep(model: shard).stageOps(contexts: contexts, layers: model.layers, lmHead: true).map {
            ($0.op, Double($0.times))
        }
    }

    /// Every operator's bytes at the GPU memory's energy and its flops at the ALU's, on every GPU.
    public func stepEnergy(contexts: [Int]) -> StepEnergy {
        guard !contexts.isEmpty else { return StepEnergy() }
        var perGPU = StepEnergy()
        perGPU.add(shardOps(contexts: contexts)) { _ in BaselineEnergy.gpuMemoryJPerByte }
        return perGPU * Double(count)
    }
}

extension GPUPIMSystem: DecodeSystem {
    public var name: String { "\(fc.count) × \(fc.gpu.name) + \(devices) HBM-PIM devices" }
    public func kvBytes(tokens: Int) -> Int64 { Int64(tokens) * Int64(model.layers) * model.kvBytesPerTokenPerLayer }
    public var memoryBytes: Int64 { fc.memoryBytes + Int64(devices) * deviceBytes }
    public var staticPowerW: Double { fc.staticPowerW + Double(devices) * deviceStaticPowerW }

    /// The GPUs' weight layers as in `MultiGPUSystem`, the KV streamed at the PIM banks' energy.
    public func stepEnergy(contexts: [Int]) -> StepEnergy {
        guard !contexts.isEmpty else { return StepEnergy() }
        var perGPU = StepEnergy()
        perGPU.add(fc.shardOps(contexts: contexts)) {
            $0.kind.isAttention ? BaselineEnergy.pimMemoryJPerByte : BaselineEnergy.gpuMemoryJPerByte
        }
        return perGPU * Double(fc.count)
    }
}

/// Decodes a request stream on a baseline system with continuous batching: arrived requests are admitted
/// in arrival order while their final KV (prompt + output, in pages) fits beside the running ones (never
/// over-committed, so nothing is preempted) and `maxBatch` allows; every step decodes one token of every
/// running request and takes `step(contexts:)`; finished requests leave at the end of their last step.
/// Prompts are already in the KV cache (prefill happened elsewhere, as for the PIM runs; no KV transfer).
/// Energy is the steps' dynamic energy plus the system's static power over the whole run.
public struct BaselineDecodeRun: Sendable {
    public let system: any DecodeSystem
    public let requests: [RequestSpec]
    public var maxBatch: Int

    public init(system: any DecodeSystem, requests: [RequestSpec], maxBatch: Int) {
        self.system = system
        self.requests = requests
        self.maxBatch = max(1, maxBatch)
    }

    public struct Result: Sendable, Equatable {
        public var makespanPs: Picoseconds
        public var generatedTokens: Int64
        /// Requests that can never fit, alone, or generate nothing (they are skipped).
        public var rejected: Int
        public var throughputTokensPerS: Double
        /// Median time per output token: the step time each token took, the median over all tokens.
        public var timePerOutputTokenP50Ps: Picoseconds
        /// Time-weighted mean of running requests.
        public var meanEffectiveBatch: Double
        public var peakEffectiveBatch: Int
        /// Dynamic energy plus static energy (`staticPowerW` × makespan), joules.
        public var energyJ: Double
        public var staticEnergyJ: Double
        public var energyPerTokenJ: Double
        /// Attention's dynamic energy plus the static energy over the time attention took, joules.
        public var attentionEnergyJ: Double
        public var attentionStaticEnergyJ: Double
        /// Time-weighted mean of the KV bytes the running requests hold over the KV capacity.
        public var kvMeanUsedFraction: Double
        /// Where the step time went, summed over the run.
        public var time: MultiGPUSystem.StepTime
    }

    public func run() -> Result {
        let fits = requests.filter {
            $0.outputTokens > 0 && system.kvBytes(tokens: $0.finalTokens) <= system.kvCapacityBytes
        }
        var waiting = fits.sorted { ($0.arrivalPs, $0.id) < ($1.arrivalPs, $1.id) }[...]
        var running: [(request: RequestSpec, generated: Int)] = []
        var committed: Int64 = 0
        var now: Picoseconds = 0
        var tokens: Int64 = 0
        var energy = StepEnergy()
        var batchArea = 0.0, kvArea = 0.0
        var peak = 0
        var stepTimes: [(time: Picoseconds, tokens: Int)] = []
        var total = MultiGPUSystem.StepTime()
        while !waiting.isEmpty || !running.isEmpty {
            while let next = waiting.first, next.arrivalPs <= now, running.count < maxBatch,
                committed + system.kvBytes(tokens: next.finalTokens) <= system.kvCapacityBytes
            {
                committed += system.kvBytes(tokens: next.finalTokens)
                running.append((next, 0))
                waiting.removeFirst()
            }
            if running.isEmpty {
                now = max(now, waiting.first!.arrivalPs)
                continue
            }
            let contexts = running.map { $0.request.promptTokens + $0.generated + 1 }
            let t = system.step(contexts: contexts)
            total.fc += t.fc
            total.attention += t.attention
            total.other += t.other
            total.communication += t.communication
            energy = energy + system.stepEnergy(contexts: contexts)
            batchArea += Double(running.count) * Double(t.total)
            let held = contexts.reduce(Int64(0)) { $0 + system.kvBytes(tokens: $1) }
            kvArea += Double(held) * Double(t.total)
            peak = max(peak, running.count)
            stepTimes.append((t.total, running.count))
            now += t.total
            tokens += Int64(running.count)
            for i in running.indices { running[i].generated += 1 }
            for r in running where r.generated >= r.request.outputTokens {
                committed -= system.kvBytes(tokens: r.request.finalTokens)
            }
            running.removeAll { $0.generated >= $0.request.outputTokens }
        }
        // Median step time over tokens: each step's time counts once per token it produced.
        let sorted = stepTimes.sorted { $0.time < $1.time }
        var seen = 0
        let p50 =
            sorted.first {
                seen += $0.tokens; return seen * 2 >= Int(tokens)
            }?.time ?? 0
        let staticJ = system.staticPowerW * Time.seconds(now)
        let attentionStaticJ = system.staticPowerW * Time.seconds(total.attention)
        let capacity = Double(max(system.kvCapacityBytes, 1))
        return Result(
            makespanPs: now, generatedTokens: tokens, rejected: requests.count - fits.count,
            throughputTokensPerS: now > 0 ? Double(tokens) / Time.seconds(now) : 0,
            timePerOutputTokenP50Ps: p50,
            meanEffectiveBatch: now > 0 ? batchArea / Double(now) : 0, peakEffectiveBatch: peak,
            energyJ: energy.totalJ + staticJ, staticEnergyJ: staticJ,
            energyPerTokenJ: tokens > 0 ? (energy.totalJ + staticJ) / Double(tokens) : 0,
            attentionEnergyJ: energy.attentionJ + attentionStaticJ,
            attentionStaticEnergyJ: attentionStaticJ,
            kvMeanUsedFraction: now > 0 ? kvArea / Double(now) / capacity : 0, time: total)
    }
}
