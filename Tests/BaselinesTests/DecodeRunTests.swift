import Testing
@testable import Baselines
import PIMModule
import Workload

@Suite("Baseline decode loop")
struct DecodeRunTests {
    let system = MultiGPUSystem(gpu: roundGPU, count: 1, model: tinyModel)
    let requests = (0..<3).map { RequestSpec(id: $0, arrivalPs: 0, promptTokens: 100, outputTokens: 2) }

    @Test("continuous batching: two at a time, the third when they finish; every token counted once")
    func batching() {
        let r = BaselineDecodeRun(system: system, requests: requests, maxBatch: 2).run()
        let steps = [
            system.step(contexts: [101, 101]), system.step(contexts: [102, 102]),
            system.step(contexts: [101]), system.step(contexts: [102]),
        ].map(\.total)
        #expect(r.generatedTokens == 6 && r.rejected == 0)
        #expect(r.makespanPs == steps.reduce(0, +))
        #expect(
            abs(r.meanEffectiveBatch - Double(2 * steps[0] + 2 * steps[1] + steps[2] + steps[3]) / Double(r.makespanPs))
                < 1e-12)
        #expect(r.peakEffectiveBatch == 2)
        #expect(abs(r.throughputTokensPerS - 6 / Time.seconds(r.makespanPs)) < 1e-9)
        // Four of the six tokens came from the two-request steps, which are the slower ones.
        #expect(
            r.timePerOutputTokenP50Ps == max(steps[0], steps[1]) || r.timePerOutputTokenP50Ps == min(steps[0], steps[1])
        )
    }

    @Test(
        "memory admits one request at a time when two final KV caches do not fit; a request that never fits is skipped")
    func capacity() {
        var small = system
        // Room for exactly one request of 102 tokens (7 pages of 16 tokens × 4,096 B), not two.
        small.reserveFraction = 1 - Double(small.weightBytesPerGPU + 7 * 16 * 4096 + 100) / Double(roundGPU.memoryBytes)
        #expect(
            small.kvCapacityBytes >= small.kvBytes(tokens: 102)
                && small.kvCapacityBytes < 2 * small.kvBytes(tokens: 102))
        let huge = RequestSpec(id: 9, arrivalPs: 0, promptTokens: 4000, outputTokens: 1)
        let r = BaselineDecodeRun(system: small, requests: requests + [huge], maxBatch: 8).run()
        #expect(r.peakEffectiveBatch == 1 && r.rejected == 1 && r.generatedTokens == 6)
    }

    @Test("requests wait for their arrival")
    func arrivals() {
        let late = [RequestSpec(id: 0, arrivalPs: 5_000_000_000, promptTokens: 100, outputTokens: 1)]
        let r = BaselineDecodeRun(system: system, requests: late, maxBatch: 4).run()
        #expect(r.makespanPs == 5_000_000_000 + system.step(contexts: [101]).total)
    }

    @Test("energy: the GPU's bytes at 28.72 pJ/B and flops at 0.32 pJ; PIM attention bytes at 4.4 pJ/B")
    func energy() {
        #expect(abs(BaselineEnergy.gpuMemoryJPerByte - 28.72e-12) < 1e-18)
        #expect(abs(BaselineEnergy.pimMemoryJPerByte - 4.4e-12) < 1e-18)
        let gpu = system.stepEnergy(contexts: [1000]).totalJ
        var pim = GPUPIMSystem(gpu: roundGPU, gpus: 1, model: tinyModel)
        pim.stackBytes = 1 << 30
        // Reading K and V (2 × 2,048,000 B) and appending the new token's (4,096 B) in the PIM banks saves
        // (28.72 − 4.4) pJ per byte.
        #expect(abs((gpu - pim.stepEnergy(contexts: [1000]).totalJ) - 4_100_096 * (28.72e-12 - 4.4e-12)) < 1e-12)
        // The attention share is the attention operators' bytes and flops alone, on both systems.
        let attention = system.stepEnergy(contexts: [1000]).attentionJ
        #expect(attention > 4_100_096 * 28.72e-12 && attention < gpu)
        #expect(
            abs((attention - pim.stepEnergy(contexts: [1000]).attentionJ) - 4_100_096 * (28.72e-12 - 4.4e-12)) < 1e-12)
    }

    @Test("static energy: the idle board power of every device over the whole run, and over attention's time")
    func staticEnergy() {
        var gpu = roundGPU
        gpu.idlePowerW = 50
        let two = MultiGPUSystem(gpu: gpu, count: 2, model: tinyModel)
        #expect(two.staticPowerW == 100 && two.memoryBytes == 2 << 30)
        let requests = (0..<2).map { RequestSpec(id: $0, arrivalPs: 0, promptTokens: 100, outputTokens: 3) }
        let idle = BaselineDecodeRun(system: two, requests: requests, maxBatch: 2).run()
        let dynamicOnly = MultiGPUSystem(gpu: roundGPU, count: 2, model: tinyModel)
        let plain = BaselineDecodeRun(system: dynamicOnly, requests: requests, maxBatch: 2).run()
        #expect(plain.staticEnergyJ == 0 && idle.makespanPs == plain.makespanPs)
        #expect(abs(idle.staticEnergyJ - 100 * Time.seconds(idle.makespanPs)) < 1e-15)
        #expect(abs(idle.energyJ - plain.energyJ - idle.staticEnergyJ) < 1e-15)
        #expect(abs(idle.attentionStaticEnergyJ - 100 * Time.seconds(idle.time.attention)) < 1e-15)
        var attacc = GPUPIMSystem(gpu: gpu, gpus: 1, devices: 3, model: tinyModel)
        attacc.deviceStaticPowerW = 8
        #expect(attacc.staticPowerW == 50 + 24)
        #expect(attacc.memoryBytes == (1 << 30) + 3 * 5 * (16 << 30))
        #expect(abs(GPUPIMSystem(gpus: 1, model: tinyModel).deviceStaticPowerW - 7.68) < 1e-12)
    }
}
