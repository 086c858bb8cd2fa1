import Testing
@testable import Baselines
import PIMModule
import Workload

@Suite("GPU-PIM (AttAcc-like) baseline against hand-computed figures")
struct GPUPIMTests {
    /// One GPU and one device of one stack streaming at 1e10 × 10 = 1e11 B/s.
    func system() -> GPUPIMSystem {
        var s = GPUPIMSystem(gpu: roundGPU, gpus: 1, model: tinyModel)
        s.stacksPerDevice = 1
        s.stackBandwidth = 1e10
        s.internalMultiplier = 10
        s.efficiency = 1
        s.stackBytes = 1 << 30
        return s
    }

    @Test("attention streams the KV at the devices' internal bandwidth; q, K, V go over, the output comes back")
    func step() {
        let t = system().step(contexts: [1000])
        let gpuOnly = MultiGPUSystem(gpu: roundGPU, count: 1, model: tinyModel).step(contexts: [1000])
        #expect(t.fc == gpuOnly.fc && t.other == gpuOnly.other)
        // 1000 tokens × 4,096 B of K and V at 1e11 B/s.
        #expect(t.attention == 40_960_000)
        // To PIM: (8 + 2 × 8) × 128 × 2 = 6,144 B; back: 8 × 128 × 2 = 2,048 B; 1e10 B/s and 1 ns each.
        #expect(t.communication == (1000 + 614_400) + (1000 + 204_800))
    }

    @Test("the KV lives on the PIM stacks: the batch is their capacity over a request's KV")
    func capacity() {
        // 1 GiB / (1000 tokens × 4,096 B).
        #expect(system().maxBatch(tokens: 1000) == (1 << 30) / 4_096_000)
        // AttAcc's default device: 5 stacks × 16 GiB; LLM-72B's weights still need the GPUs.
        let big = ModelConfig.presets["llm-72b-32k"]!
        #expect(GPUPIMSystem(gpus: 1, model: big).maxBatch(tokens: 32_768) == 0)
        #expect(
            GPUPIMSystem(gpus: 8, model: big).maxBatch(tokens: 32_768) == 8 * 5 * (16 << 30)
                / (32_768 * 80 * 2 * 64 * 128 * 2))
    }
}
