import Testing
@testable import Baselines
import PIMModule
import Workload

/// A one-layer model and a GPU with round numbers, so the figures below can be checked by hand.
let tinyModel = ModelConfig(
    name: "tiny", layers: 1, hidden: 1024, queryHeads: 8, kvHeads: 8, headDim: 128, ffn: 4096,
    vocab: 1000, maxContext: 4096)
let roundGPU = GPUSpec(
    name: "round", peakFLOPS: 1e12, memoryBandwidth: 1e11, memoryBytes: 1 << 30, linkBytesPerSecond: 1e10,
    linkLatencyPs: 1000, computeEfficiency: 1, bandwidthEfficiency: 1)

@Suite("Multi-GPU baseline against hand-computed figures")
struct MultiGPUTests {
    @Test("one GPU, one request of 1000 tokens: every operator is bandwidth-bound at 100 GB/s")
    func oneGPU() {
        let t = MultiGPUSystem(gpu: roundGPU, count: 1, model: tinyModel).step(contexts: [1000])
        // QKV 6,291,456 B + O 2,097,152 B + FFN 25,165,824 B + LM head 2,048,000 B, at 1e11 B/s.
        #expect(t.fc == 62_914_560 + 20_971_520 + 251_658_240 + 20_480_000)
        // K and V reads 2 × 2,048,000 B; softmax 40,000 flops at 1e12; append 4,096 B.
        #expect(t.attention == 20_480_000 + 20_480_000 + 40_000 + 40_960)
        // Layer norm 4,096 B, residual 2,048 flops, activation 20,480 flops, final norm 2,048 B.
        #expect(t.other == 40_960 + 2_048 + 20_480 + 20_480)
        #expect(t.communication == 0)
    }

    @Test("two GPUs halve the streamed bytes and add two ring all-reduces per layer")
    func twoGPUs() {
        let one = MultiGPUSystem(gpu: roundGPU, count: 1, model: tinyModel).step(contexts: [1000])
        let two = MultiGPUSystem(gpu: roundGPU, count: 2, model: tinyModel)
        let t = two.step(contexts: [1000])
        // 2,048 B of activations: chunks of 1,024 B, 2 (n − 1) = 2 steps of 1 ns + 102.4 ns.
        #expect(two.allReduceTime(bytes: 2048) == 2 * (1000 + 102_400))
        #expect(t.communication == 2 * 206_800)
        #expect(t.attention < one.attention && t.fc < one.fc)
        #expect(abs(Double(t.fc) - Double(one.fc) / 2) < 30_000)  // norms and the vocabulary rounding stay whole
    }

    @Test("the batch is what the KV cache leaves room for, in 16-token pages")
    func capacity() {
        let system = MultiGPUSystem(gpu: roundGPU, count: 1, model: tinyModel)
        // Layer 33,558,528 B + LM head 2,050,048 B + input embedding 1000 × 1024 × 2 B.
        #expect(system.weightBytesPerGPU == 33_558_528 + 2_050_048 + 2_048_000)
        #expect(system.kvBytesPerGPU(tokens: 1000) == 1008 * 4096)
        #expect(system.kvCapacityBytesPerGPU == 966_367_641 - 37_656_576)
        #expect(system.maxBatch(tokens: 1000) == 224)
        // An 80 GB A100 cannot hold LLM-72B alone; eight hold it with room for 32K-token requests.
        let big = ModelConfig.presets["llm-72b-32k"]!
        #expect(MultiGPUSystem(gpu: .a100, count: 1, model: big).maxBatch(tokens: 32_768) == 0)
        #expect(MultiGPUSystem(gpu: .a100, count: 8, model: big).maxBatch(tokens: 32_768) > 0)
    }

    @Test("more GPUs than KV heads replicate one KV head per GPU; a count that splits no heads evenly is refused")
    func gqa() {
        let gqa = ModelConfig.presets["llm-72b-128k-gqa"]!
        let sixteen = MultiGPUSystem(gpu: .a100, count: 16, model: gqa)
        #expect(sixteen.shard.kvHeads == 1 && sixteen.shard.queryHeads == 4 && sixteen.problems.isEmpty)
        #expect(sixteen.kvBytesPerGPU(tokens: 16) == 16 * 80 * 2 * 128 * 2)
        #expect(
            MultiGPUSystem(gpu: .a100, count: 3, model: gqa).problems.first
                == "kv_heads (8) is not a multiple of tp (3)")
    }

    @Test("compute-bound operators follow peak × efficiency")
    func computeBound() {
        let gpu = GPUSpec.a100
        // 1 GFLOP and 1 KB: 1e9 / (312e12 × 0.8) s.
        #expect(gpu.time(flops: 1_000_000_000, bytes: 1000) == Time.picoseconds(seconds: 1e9 / (312e12 * 0.8)))
        #expect(gpu.time(flops: 0, bytes: 2_000_000_000) == Time.picoseconds(seconds: 2e9 / (2e12 * 0.85)))
    }
}
