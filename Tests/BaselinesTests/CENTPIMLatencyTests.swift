import Foundation
import Testing

@testable import Baselines
@testable import PIMModule

/// CENT's trace replayed on lolpim's AiM simulator reproduction against the PIM latency CENT published.
@Suite("CENT's PIM latency: our replay of its trace against its published table")
struct CENTPIMLatencyTests {
    static let published: [CENTPublishedRow] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("docs/validation/cent/cent-published.csv").path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return (try? CENTPublishedRow.parse(text, file: path)) ?? []
    }()

    /// CENT's pipeline-parallel rows: pp = L, tp = 1.
    static var pipelineRows: [CENTPublishedRow] {
        published.filter { $0.tp == 1 && $0.pp == CENTModel.named($0.model)?.layers }
    }

    @Test("the published file: CENT's 611 rows, 99 PP (70B also at 6400, 14592, 30976) and 512 TP (pp × tp = D)")
    func publishedRows() {
        #expect(Self.published.count == 611)
        #expect(Self.pipelineRows.count == 99)
        for row in Self.pipelineRows {
            let d = CENTModel.named(row.model).flatMap { CENTDevice(pipelineParallel: $0, devices: row.devices) }
            #expect(d?.channelsPerBlock == row.channelsPerBlock)
        }
        let tensor = Self.published.filter { $0.pp != CENTModel.named($0.model)?.layers }
        #expect(tensor.count == 512)
        #expect(tensor.allSatisfy { $0.pp * $0.tp == $0.devices && $0.channelsPerBlock == 32 })
        // Every factor of D as tp (run_sim.py:37-44): 4 splits of 8, 6 of 20, 6 of 32, at 32 lengths each.
        let splits = Set(tensor.map { "\($0.model) \($0.tp)" })
        #expect(splits.count == 16)
    }

    /// Llama2-13B (C = 16) at T = 128 is the quickest row to replay in a debug build (~20 s each).
    @Test(
        "13B, T = 128: CENT's PIM latency to the cycle with its pinned simulator's rules, 77 cycles less with 0f28a07")
    func llama13B() throws {
        let row = try #require(Self.pipelineRows.first { $0.model == "Llama2-13B" && $0.seqLen == 128 })
        let device = CENTDevice(channelsPerBlock: 16)
        let pinned = CENTPIMLatency(model: .llama2_13B, device: device, seqLen: 128)
        // One cycle is 5e-7 ms; CENT prints cycles / 2e6 exactly (0.1663145 = 332,629 cycles).
        #expect(abs(pinned.milliseconds - row.pim) < 1e-9)
        #expect(pinned.cycles == 332_629)
        let validated = CENTPIMLatency(model: .llama2_13B, device: device, seqLen: 128, commit: .validated)
        #expect(validated.cycles == 332_552)
    }

    @Test("Acc and CXL latency of all 99 PP rows: run_sim.py's and cxl_latency.py's formulas, as published")
    func analytic() throws {
        for row in Self.pipelineRows {
            let model = try #require(CENTModel.named(row.model))
            let bpd = 32 / row.channelsPerBlock
            #expect(abs(CENTAnalytic.accMs(model: model, seqLen: row.seqLen, blocksPerDevice: bpd) - row.acc) < 1e-12)
            #expect(abs(CENTAnalytic.cxlMs(model: model, devices: row.devices) - row.cxl) < 1e-12)
        }
    }

    @Test("13B, T = 128: token latency and throughput as published (PIM, embedding replayed; the rest formulas)")
    func token13B() throws {
        let row = try #require(Self.pipelineRows.first { $0.model == "Llama2-13B" && $0.seqLen == 128 })
        let model = CENTModel.llama2_13B, device = CENTDevice(channelsPerBlock: 16)
        let pim = CENTPIMLatency(model: model, device: device, seqLen: 128).milliseconds
        let embedding = CENTPIMLatency.embeddingMs(model: model, device: device)
        let token = CENTAnalytic.tokenMs(
            model: model, pim: pim, cxl: CENTAnalytic.cxlMs(model: model, devices: 20),
            acc: CENTAnalytic.accMs(model: model, seqLen: 128, blocksPerDevice: 2), embedding: embedding)
        #expect(abs(token - row.token) < 1e-9)
        #expect(abs(CENTAnalytic.throughput(pp: model.layers, tokenMs: token) / row.throughputTokensPerS - 1) < 1e-12)
    }

    @Test("Acc and CXL latency of all 512 TP rows: one block per device, llama_latency's gathers and broadcasts")
    func tensorParallelAnalytic() throws {
        for row in Self.published where row.pp != CENTModel.named(row.model)?.layers {
            let model = try #require(CENTModel.named(row.model))
            #expect(abs(CENTAnalytic.accMs(model: model, seqLen: row.seqLen, blocksPerDevice: 1) - row.acc) < 1e-12)
            let cxl = CENTAnalytic.tensorParallelCXLMs(model: model, devices: row.devices, fcDevices: row.tp)
            #expect(abs(cxl - row.cxl) < 1e-12)
        }
    }

    /// The TP trace is device 0's share of a block spread over `tp` devices (`FC_total_banks = 512 tp`).
    @Test("7B, pp 2 × tp 4, T = 128: the model-parallel trace to the cycle, and the row's token latency")
    func tensorParallel7B() throws {
        let row = try #require(Self.published.first { $0.model == "Llama2-7B" && $0.tp == 4 && $0.seqLen == 128 })
        let model = CENTModel.llama2_7B, device = CENTDevice(modelParallel: 4)
        #expect(device.fcBanks == 2048 && device.blocksPerDevice == 1)
        let pim = CENTPIMLatency(model: model, device: device, seqLen: 128)
        #expect(abs(pim.milliseconds - row.pim) < 1e-9)
        let embedding = CENTPIMLatency.embeddingMs(model: model, device: device)
        let token = CENTAnalytic.tokenMs(
            model: model, pim: pim.milliseconds,
            cxl: CENTAnalytic.tensorParallelCXLMs(model: model, devices: 8, fcDevices: 4),
            acc: CENTAnalytic.accMs(model: model, seqLen: 128, blocksPerDevice: 1), embedding: embedding)
        #expect(abs(token - row.token) < 1e-9)
        #expect(abs(CENTAnalytic.throughput(pp: 2, tokenMs: token) / row.throughputTokensPerS - 1) < 1e-12)
    }
}
