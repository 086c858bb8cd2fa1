import Foundation
import Testing
@testable import Workload

@Suite("Models, datasets and the decode-step graph")
struct WorkloadTests {
    @Test("preset weight and KV sizes follow the closed form")
    func presetSizes() {
        let m = ModelConfig.presets["llm-7b-32k"]!
        let perLayer = (4 * 4096 * 4096 + 3 * 4096 * 11008 + 2 * 4096) * 2
        #expect(m.weightBytesPerLayer == Int64(perLayer))
        #expect(m.kvBytesPerTokenPerLayer == 2 * 32 * 128 * 2)
        #expect(m.lmHeadBytes == Int64((151_936 * 4096 + 4096) * 2))
        let gqa = ModelConfig.presets["llm-7b-128k-gqa"]!
        #expect(gqa.groupSize == 4)
        #expect(gqa.kvBytesPerTokenPerLayer == 2 * 8 * 128 * 2)
        for preset in ModelConfig.presets.values { #expect(preset.problems.isEmpty) }
    }

    @Test("inconsistent dimensions are reported")
    func problems() {
        var m = ModelConfig.presets["llm-7b-32k"]!
        m.kvHeads = 5
        #expect(m.problems.contains { $0.contains("multiple of kv_heads") })
        m.hidden = 0
        #expect(m.problems.contains { $0.contains("hidden must be positive") })
    }

    @Test("dataset draws are seeded, bounded and follow the mean", arguments: Dataset.presetNames)
    func datasetDraws(name: String) {
        let d = Dataset.presets[name]!
        let a = ContextSource.dataset(d).lengths(count: 4000, seed: 9)
        let b = ContextSource.dataset(d).lengths(count: 4000, seed: 9)
        let c = ContextSource.dataset(d).lengths(count: 4000, seed: 10)
        #expect(a == b)
        #expect(a != c)
        #expect(a.allSatisfy { $0 >= d.min && $0 <= d.max })
        // The sample mean matches the truncated normal's mean μ + σ (φ(α) − φ(β)) / (Φ(β) − Φ(α)) within
        // a tenth of σ (the standard error of 4000 draws is below 0.02 σ).
        func phi(_ x: Double) -> Double { exp(-x * x / 2) / (2 * Double.pi).squareRoot() }
        func cdf(_ x: Double) -> Double { 0.5 * (1 + erf(x / 2.0.squareRoot())) }
        let alpha = (Double(d.min) - d.mean) / d.std, beta = (Double(d.max) - d.mean) / d.std
        let truncatedMean = d.mean + d.std * (phi(alpha) - phi(beta)) / (cdf(beta) - cdf(alpha))
        let mean = Double(a.reduce(0, +)) / Double(a.count)
        #expect(abs(mean - truncatedMean) < 0.1 * d.std)
    }

    @Test("SplitMix64 matches its reference stream")
    func splitMix() {
        var g = SplitMix64(seed: 0)
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("layer ops: bytes and flops in closed form")
    func layerOps() {
        let m = ModelConfig(
            name: "t", layers: 2, hidden: 64, queryHeads: 4, kvHeads: 2, headDim: 16, ffn: 128,
            vocab: 1000, maxContext: 4096)
        let ops = DecodeStep(model: m).layerOps(contexts: [100, 300])
        func op(_ k: OpKind) -> DecodeOp { ops.first { $0.kind == k }! }
        #expect(op(.qkvProjection).bytesRead == (64 + 2 * 32) * 64 * 2)
        #expect(op(.qkvProjection).flops == 2 * 2 * (64 + 2 * 32) * 64)
        // K of 400 tokens × 2 KV heads × 16 dims × 2 B; flops over all 4 query heads.
        #expect(op(.attentionScore).bytesRead == 400 * 32 * 2)
        #expect(op(.attentionScore).flops == 2 * 64 * 400)
        #expect(op(.attentionValue).bytesRead == op(.attentionScore).bytesRead)
        #expect(op(.kvAppend).bytesWritten == 2 * m.kvBytesPerTokenPerLayer)
        #expect(op(.ffn).bytesRead == 3 * 64 * 128 * 2)
        #expect(op(.softmax).flops == 5 * 4 * 400)
        #expect(op(.softmax).unit == .processor)
        let head = DecodeStep(model: m).lmHeadOps(batch: 2)
        #expect(head.last!.bytesRead == 1000 * 64 * 2)
        #expect(head.last!.flops == 2 * 2 * 1000 * 64)
    }
}

@Suite("Request streams and trace files")
struct RequestStreamTests {
    @Test("generated requests are seeded; Poisson gaps follow the rate; offline requests arrive at zero")
    func generated() {
        let a = RequestStream.generate(
            count: 2000, context: .dataset(Dataset.presets["qmsum"]!),
            output: .normal(mean: 200, std: 50, min: 10, max: 400),
            arrival: .poisson(perSecond: 100), seed: 3)
        let b = RequestStream.generate(
            count: 2000, context: .dataset(Dataset.presets["qmsum"]!),
            output: .normal(mean: 200, std: 50, min: 10, max: 400),
            arrival: .poisson(perSecond: 100), seed: 3)
        #expect(a == b)
        #expect(a.allSatisfy { (10...400).contains($0.outputTokens) })
        #expect(zip(a, a.dropFirst()).allSatisfy { $0.arrivalPs <= $1.arrivalPs })
        // 1999 gaps of mean 10 ms: the last arrival near 20 s (within 10 %).
        let last = Double(a.last!.arrivalPs) / 1e12
        #expect(abs(last - 19.99) < 2.0)
        let offline = RequestStream.generate(
            count: 5, context: .fixed(100), output: .fixed(7), arrival: .offline, seed: 1)
        #expect(offline.allSatisfy { $0.arrivalPs == 0 && $0.promptTokens == 100 && $0.outputTokens == 7 })
    }

    @Test("a trace file is read with its header, arrivals in seconds and token counts")
    func traceFile() throws {
        let requests = try RequestTrace.parse(
            """
            # arrival in seconds
            arrival_s,context_tokens,output_tokens
            0,1000,10
            0.5,2000,20
            """, file: "t.csv")
        #expect(requests.count == 2)
        #expect(requests[1] == RequestSpec(id: 1, arrivalPs: 500_000_000_000, promptTokens: 2000, outputTokens: 20))
    }

    @Test(
        "trace errors name the file, line and field",
        arguments: [
            ("context,output\n1,2", 1, "", "expected the header"),
            ("arrival_s,context_tokens,output_tokens\n0,100", 2, "", "3 fields"),
            ("arrival_s,context_tokens,output_tokens\n-1,100,5", 2, "arrival_s", "≥ 0"),
            ("arrival_s,context_tokens,output_tokens\n1,100,5\n0.5,100,5", 3, "arrival_s", "must not decrease"),
            ("arrival_s,context_tokens,output_tokens\n0,zero,5", 2, "context_tokens", "positive"),
            ("arrival_s,context_tokens,output_tokens\n0,10,0", 2, "output_tokens", "positive"),
            ("arrival_s,context_tokens,output_tokens\n", 2, "", "no requests"),
        ])
    func traceErrors(text: String, line: Int, field: String, fragment: String) {
        do {
            _ = try RequestTrace.parse(text, file: "t.csv")
            Issue.record("accepted")
        } catch {
            #expect(error.line == line)
            #expect(error.field == field)
            #expect(error.message.contains(fragment), "\(error)")
            #expect(error.description.hasPrefix("t.csv:\(line): "))
        }
    }
}
