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
    /// Dynamic energy of one step, joules.
    func stepEnergy(contexts: [Int]) -> Double
}

/// Energy figures of HARDWARE.md §6 (AttAcc): data movement per byte and ALU work per operation.
public enum BaselineEnergy {
    /// GPU HBM access: (0.11 + 0.44 + 1.01 + 1.23 + 0.5 + 0.3) × 8 pJ per byte.
    public static let gpuMemoryJPerByte = (0.11 + 0.44 + 1.01 + 1.23 + 0.5 + 0.3) * 8e-12
    /// HBM-PIM bank-level access: (0.11 + 0.44) × 8 pJ per byte.
    public static let pimMemoryJPerByte = (0.11 + 0.44) * 8e-12
    /// One ALU operation, 0.32 pJ (AttAcc's PIM figure, used for the GPUs too: HARDWARE.md gives no other).
    public static let aluJPerOp = 0.32e-12
}

extension MultiGPUSystem: DecodeSystem {
    public var name: String { "\(count) × \(gpu.name)" }
    public var kvCapacityBytes: Int64 { kvCapacityBytesPerGPU * Int64(count) }
    public func kvBytes(tokens: Int) -> Int64 { kvBytesPerGPU(tokens: tokens) * Int64(count) }

    /// Every operator's bytes at the GPU memory's energy and its flops at the ALU's, on every GPU.
    public func stepEnergy(contexts: [Int]) -> Double {
        guard !contexts.isEmpty else { return 0 }
        let step = DecodeStep(model: shard)
        let ops = step.layerOps(contexts: contexts).map { ($0, Double(model.layers)) }
            + step.lmHeadOps(batch: contexts.count).map { ($0, 1.0) }
        let perGPU = ops.reduce(0.0) { sum, item in
            sum + item.1 * (Double(item.0.bytesRead + item.0.bytesWritten) * BaselineEnergy.gpuMemoryJPerByte
                            + Double(item.0.flops) * BaselineEnergy.aluJPerOp)
        }
        return perGPU * Double(count)
    }
}

extension GPUPIMSystem: DecodeSystem {
    public var name: String { "\(fc.count) × \(fc.gpu.name) + \(devices) HBM-PIM devices" }
    public func kvBytes(tokens: Int) -> Int64 { Int64(tokens) * Int64(model.layers) * model.kvBytesPerTokenPerLayer }

    /// The GPUs' weight layers as in `MultiGPUSystem`, the KV streamed at the PIM banks' energy.
    public func stepEnergy(contexts: [Int]) -> Double {
        guard !contexts.isEmpty else { return 0 }
        let step = DecodeStep(model: fc.shard)
        let attention: Set<OpKind> = [.attentionScore, .attentionValue, .softmax, .kvAppend]
        var joules = 0.0
        for (op, times) in step.layerOps(contexts: contexts).map({ ($0, Double(model.layers)) })
            + step.lmHeadOps(batch: contexts.count).map({ ($0, 1.0) }) {
            let perByte = attention.contains(op.kind) ? BaselineEnergy.pimMemoryJPerByte : BaselineEnergy.gpuMemoryJPerByte
            joules += times * (Double(op.bytesRead + op.bytesWritten) * perByte + Double(op.flops) * BaselineEnergy.aluJPerOp)
        }
        return joules * Double(fc.count)
    }
}

/// Decodes a request stream on a baseline system with continuous batching: arrived requests are admitted
/// in arrival order while their final KV (prompt + output, in pages) fits beside the running ones (never
/// over-committed, so nothing is preempted) and `maxBatch` allows; every step decodes one token of every
/// running request and takes `step(contexts:)`; finished requests leave at the end of their last step.
/// Prompts are already in the KV cache (prefill happened elsewhere, as for the PIM runs; no KV transfer).
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
        public var energyJ: Double
        public var energyPerTokenJ: Double
        /// Where the step time went, summed over the run.
        public var time: MultiGPUSystem.StepTime
    }

    public func run() -> Result {
        let fits = requests.filter { $0.outputTokens > 0 && system.kvBytes(tokens: $0.finalTokens) <= system.kvCapacityBytes }
        var waiting = fits.sorted { ($0.arrivalPs, $0.id) < ($1.arrivalPs, $1.id) }[...]
        var running: [(request: RequestSpec, generated: Int)] = []
        var committed: Int64 = 0
        var now: Picoseconds = 0
        var tokens: Int64 = 0
        var energy = 0.0
        var batchArea = 0.0
        var peak = 0
        var stepTimes: [(time: Picoseconds, tokens: Int)] = []
        var total = MultiGPUSystem.StepTime()
        while !waiting.isEmpty || !running.isEmpty {
            while let next = waiting.first, next.arrivalPs <= now, running.count < maxBatch,
                  committed + system.kvBytes(tokens: next.finalTokens) <= system.kvCapacityBytes {
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
            energy += system.stepEnergy(contexts: contexts)
            batchArea += Double(running.count) * Double(t.total)
            peak = max(peak, running.count)
            stepTimes.append((t.total, running.count))
            now += t.total
            tokens += Int64(running.count)
            for i in running.indices { running[i].generated += 1 }
            for r in running where r.generated >= r.request.outputTokens { committed -= system.kvBytes(tokens: r.request.finalTokens) }
            running.removeAll { $0.generated >= $0.request.outputTokens }
        }
        // Median step time over tokens: each step's time counts once per token it produced.
        let sorted = stepTimes.sorted { $0.time < $1.time }
        var seen = 0
        let p50 = sorted.first { seen += $0.tokens; return seen * 2 >= Int(tokens) }?.time ?? 0
        return Result(makespanPs: now, generatedTokens: tokens, rejected: requests.count - fits.count,
                      throughputTokensPerS: now > 0 ? Double(tokens) / Time.seconds(now) : 0,
                      timePerOutputTokenP50Ps: p50,
                      meanEffectiveBatch: now > 0 ? batchArea / Double(now) : 0, peakEffectiveBatch: peak,
                      energyJ: energy, energyPerTokenJ: tokens > 0 ? energy / Double(tokens) : 0, time: total)
    }
}
