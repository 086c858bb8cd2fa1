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

    @Test("the published file holds CENT's 99 PP rows (7B and 13B: T = 128…4096; 70B also 6400, 14592, 30976)")
    func publishedRows() {
        let rows = Self.published
        #expect(rows.count == 99)
        #expect(rows.allSatisfy { $0.tp == 1 && $0.pp == CENTModel.named($0.model)?.layers })
        for row in rows {
            let d = CENTModel.named(row.model).flatMap { CENTDevice(pipelineParallel: $0, devices: row.devices) }
            #expect(d?.channelsPerBlock == row.channelsPerBlock)
        }
    }

    /// Llama2-13B (C = 16) at T = 128 is the quickest row to replay in a debug build (~20 s each).
    @Test(
        "13B, T = 128: CENT's PIM latency to the cycle with its pinned simulator's rules, 77 cycles less with 0f28a07")
    func llama13B() throws {
        let row = try #require(Self.published.first { $0.model == "Llama2-13B" && $0.seqLen == 128 })
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
        for row in Self.published {
            let model = try #require(CENTModel.named(row.model))
            let bpd = 32 / row.channelsPerBlock
            #expect(abs(CENTAnalytic.accMs(model: model, seqLen: row.seqLen, blocksPerDevice: bpd) - row.acc) < 1e-12)
            #expect(abs(CENTAnalytic.cxlMs(model: model, devices: row.devices) - row.cxl) < 1e-12)
        }
    }

    @Test("13B, T = 128: token latency and throughput as published (PIM, embedding replayed; the rest formulas)")
    func token13B() throws {
        let row = try #require(Self.published.first { $0.model == "Llama2-13B" && $0.seqLen == 128 })
        let model = CENTModel.llama2_13B, device = CENTDevice(channelsPerBlock: 16)
        let pim = CENTPIMLatency(model: model, device: device, seqLen: 128).milliseconds
        let embedding = CENTPIMLatency.embeddingMs(model: model, device: device)
        let token = CENTAnalytic.tokenMs(
            model: model, pim: pim, cxl: CENTAnalytic.cxlMs(model: model, devices: 20),
            acc: CENTAnalytic.accMs(model: model, seqLen: 128, blocksPerDevice: 2), embedding: embedding)
        #expect(abs(token - row.token) < 1e-9)
        #expect(abs(CENTAnalytic.throughput(model: model, tokenMs: token) / row.throughputTokensPerS - 1) < 1e-12)
    }
}
