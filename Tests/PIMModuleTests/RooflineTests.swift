import Testing
@testable import PIMModule
import Workload

@Suite("Module presets and the roofline cost model")
struct RooflineTests {
    @Test("presets: capacity and peak internal bandwidth from channels × banks × 32 B per nCCDL")
    func presets() {
        let cent = ModuleConfig.cent32
        #expect(cent.capacityBytes == 16 << 30)
        // 32 channels × 16 banks × 32 B per 2 cycles of 500 ps = 16.384 TB/s; 512 GB/s per channel.
        #expect(abs(cent.peakInternalBandwidth - 16.384e12) < 1)
        #expect(abs(cent.peakInternalBandwidth / 32 - 512e9) < 1)
        #expect(abs(cent.pimPeakFLOPS - 16.384e12) < 1)
        let aimx = ModuleConfig.aimx16
        #expect(aimx.capacityBytes == 8 << 30)
        #expect(abs(aimx.peakInternalBandwidth - 8.192e12) < 1)
    }

    @Test("tCK scales the peak bandwidth")
    func clock() {
        var m = ModuleConfig.cent32
        m.tCKps = 1000
        #expect(abs(m.peakInternalBandwidth - 8.192e12) < 1)
    }

    @Test("row-streaming efficiency is what the timing table implies")
    func efficiency() {
        let t = AiMTiming.gddr6AiM
        // ACT→MAC 56, 63 more MACs × 2, MAC→PREA 12, PREA→ACT 32.
        #expect(t.rowStreamCycles(columns: 64) == 56 + 63 * 2 + 12 + 32)
        #expect(t.rowStreamCycles(columns: 1) == 100)
        // Refresh stalls a row stream for nRTP + nRP + nRFC + nRCDRDMAC − nCCDL = 308 cycles every nREFI.
        #expect(t.refreshStallCycles == 12 + 32 + 210 + 56 - 2)
        let expected = 128.0 / 226.0 * (1 - 308.0 / 3333.0)
        #expect(abs(t.rowStreamingEfficiency(columns: 64) - expected) < 1e-12)
        #expect(abs(RooflineCostModel.derivedPIMEfficiency(.cent32) - expected) < 1e-12)
    }

    @Test("latency is the larger of the bandwidth and compute bounds")
    func rooflineBounds() {
        let model = RooflineCostModel(module: .cent32, pimEfficiency: 0.5, processorEfficiency: 0.8)
        // 8.192 GB at 8.192 TB/s effective = 1 ms.
        let stream = DecodeOp(.attentionScore, .pim, bytesRead: 8_192_000_000, flops: 0)
        #expect(model.latency(of: stream) == 1_000_000_000)
        // Four times as many flops as bytes (a GQA group of 4): compute-bound, 4 ms.
        let gqa = DecodeOp(.attentionScore, .pim, bytesRead: 8_192_000_000, flops: 4 * 8_192_000_000)
        #expect(model.latency(of: gqa) == 4_000_000_000)
        // 2.4 GFLOP on a 3 TFLOP/s processor at 0.8 = 1 ms.
        let softmax = DecodeOp(.softmax, .processor, flops: 2_400_000_000)
        #expect(model.latency(of: softmax) == 1_000_000_000)
        // Writes: 32 channels × 32 B per nBL (1 ns) = 1.024 TB/s.
        let append = DecodeOp(.kvAppend, .pim, bytesWritten: 1_024_000, flops: 0)
        #expect(model.latency(of: append) == 1_000_000)
    }

    @Test("stage cost multiplies a layer by the layer count and adds the LM head once")
    func stageCost() {
        let model = ModelConfig.presets["llm-7b-32k"]!
        let cost = RooflineCostModel(module: .cent32)
        let step = DecodeStep(model: model)
        let one = cost.stageCost(step: step, layers: 1, contexts: [1000], includesLMHead: false)
        let four = cost.stageCost(step: step, layers: 4, contexts: [1000], includesLMHead: false)
        let withHead = cost.stageCost(step: step, layers: 4, contexts: [1000], includesLMHead: true)
        #expect(four.total == 4 * one.total)
        #expect(four.bytesRead == 4 * one.bytesRead)
        #expect(withHead.total > four.total)
        #expect(withHead.byKind[.lmHead]! > 0)
        #expect(four.byKind.values.reduce(0, +) == four.total)
        #expect(cost.stageCost(step: step, layers: 4, contexts: [], includesLMHead: true).total == 0)
    }

    @Test("memory plan: weights of the module's layers (+ LM head) and the KV room left")
    func memoryPlan() {
        let model = ModelConfig.presets["llm-7b-32k"]!
        let plan = MemoryPlan(model: model, module: .cent32, layers: 4, includesLMHead: true)
        #expect(plan.weightBytes == 4 * model.weightBytesPerLayer + model.lmHeadBytes)
        #expect(plan.kvBytesPerToken == 4 * model.kvBytesPerTokenPerLayer)
        #expect(plan.kvCapacityBytes == (16 << 30) - plan.weightBytes)
        #expect(plan.fits(tokens: 100_000))
        #expect(!plan.fits(tokens: 1_000_000))
    }
}
