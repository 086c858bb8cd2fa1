import Baselines
import Foundation
import Testing

@testable import Studies

/// CENT's published rows run through lolpim's own pipeline with the `cent` partitioning (`CENTRung`), against
/// CENT's file (docs/VALIDATION.md §7). It fits nothing: it sees a change that moves the figures §7 quotes.
@Suite("CENT's table through the pipeline (cent partitioning)")
struct CENTRungTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func published() throws -> [CENTPublishedRow] {
        let path = root.appendingPathComponent("docs/validation/cent/cent-published.csv").path
        return try CENTPublishedRow.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
    }

    @Test("a row's topology is CENT's set-up: utilised devices, ceil(L/D) layers a stage, one request per block")
    func topology() throws {
        let row = try #require(try Self.published().first { $0.model == "Llama2-70B" && $0.seqLen == 4096 })
        let yaml = try CENTRung(row: row).yaml()
        #expect(yaml.contains("modules: 27,"))
        #expect(
            yaml.contains("layers_per_stage: [" + Array(repeating: "3", count: 26).joined(separator: ", ") + ", 2]"))
        #expect(yaml.contains("requests: 81") && yaml.contains("micro_batches: 27"))
        #expect(yaml.contains("partitioning: cent") && yaml.contains("latency_ns: 180"))
    }

    /// Llama2-13B at T = 128 is the quickest row (C = 16, short contexts).
    @Test("Llama2-13B at T = 128: the throughput ratio VALIDATION.md §7 quotes")
    func thirteenB() throws {
        let row = try #require(try Self.published().first { $0.model == "Llama2-13B" && $0.seqLen == 128 })
        let figures = try CENTRung(row: row).run()
        let ratio = figures.throughputTokensPerS / row.throughputTokensPerS
        let doc = try String(
            contentsOf: Self.root.appendingPathComponent("docs/VALIDATION.md"), encoding: .utf8)
        let quoted = String(format: "13B at T = 128: throughput ratio %.3f", ratio)
        #expect(doc.contains(quoted), "VALIDATION.md §7 should say \"\(quoted)\"")
        #expect(ratio > 0.9 && ratio < 1.1)
    }
}
