@testable import Cluster
import Foundation
import PIMModule
@testable import Pipeline
import TestSupport
import Testing
import Workload

@Suite("xPU+PIM modules (NeuPIMs-like)")
struct XPUPIMTests {
    @Test(
        "weight GEMVs run on the NPU at max(flops / (256 T × 0.8), bytes / (1,024 GB/s × 0.85)); attention stays on PIM"
    )
    func costModel() throws {
        let topology = try TopologyLoader.parse(yaml: xpuTopology(), file: "x.yaml")
        let module = topology.cluster.module
        #expect(module.preset == "neupims-32ch" && module.npu != nil)
        let model = try #require(topology.fidelity.costModel(module: module, model: topology.model) as? XPUPIMCostModel)
        // NeuPIMs' HBM2: 32 channels × 128 bit / 8 × 2 transfers per 1 ns cycle.
        #expect(abs(model.npuBandwidth - 1024e9) < 1)
        let ffn = DecodeOp(.ffn, .pim, bytesRead: 1_000_000_000, flops: 2_000_000_000)
        #expect(
            model.cost(of: ffn).latency
                == Time.picoseconds(seconds: max(2e9 / (256e12 * 0.8), 1e9 / (model.npuBandwidth * 0.85))))
        let attention = DecodeOp(.attentionScore, .pim, bytesRead: 1 << 20, flops: 1 << 20)
        #expect(model.cost(of: attention) == RooflineCostModel(module: module).cost(of: attention))
    }

    @Test("sub-batch interleaving: no faster than the busier of NPU and PIM, no slower than doing both in turn")
    func interleaving() throws {
        let plan = try PipelinePlan(topology: TopologyLoader.parse(yaml: xpuTopology(), file: "x.yaml"))
        let stage = StageSimulator(plan: plan, stage: plan.stages[0])
        let contexts = Array(repeating: 4001, count: 8)
        var npu: Picoseconds = 0, pim: Picoseconds = 0
        for half in [Array(contexts[..<4]), Array(contexts[4...])] {
            for op in DecodeStep(model: plan.shard).layerOps(contexts: half) {
                let t = stage.costModel.cost(of: op).latency * Picoseconds(plan.stages[0].layers)
                if [.kvAppend, .attentionScore, .softmax, .attentionValue].contains(op.kind) {
                    pim += t
                } else {
                    npu += t
                }
            }
        }
        var groups = StageCost()
        let time = stage.interleaved(contexts: contexts, subBatches: 2, cost: &groups)
        #expect(time >= max(npu, pim) && time < npu + pim)
        // The operators of both sub-batches are what the stage reports (weights read twice).
        #expect(groups.byKind.values.reduce(0, +) == npu + pim)
        // With one sub-batch the stage time is the plain sum of the whole micro-batch's operators.
        let single = try PipelinePlan(topology: TopologyLoader.parse(yaml: xpuTopology(subBatches: 1), file: "x.yaml"))
        let plain = StageSimulator(plan: single, stage: single.stages[0]).segments(
            contexts: contexts, payloadBytes: 8 * 8192
        ).0
        #expect(plain.total == plain.byKind.values.reduce(0, +))
    }

    @Test("NPU keys on a PIM-only module, and unknown kinds, are refused where they stand")
    func errors() {
        let npuOnPIM = xpuTopology().replacingOccurrences(of: "kind: xpu-pim, sub_batches: 2", with: "sub_batches: 2")
        #expect(
            parseError(npuOnPIM).map { "\($0.field): \($0.message)" }
                == "cluster.sub_batches: only an xpu-pim module has an NPU; set cluster.kind: xpu-pim")
        #expect(parseError(xpuTopology().replacingOccurrences(of: "xpu-pim", with: "gpu"))?.field == "cluster.kind")
    }
}
