import Baselines
import Foundation
import Testing
import Workload

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

    @Test("a stopped table resumes: the rows of its cent-table.csv are taken back as written, others are not")
    func resume() throws {
        let published = Array(try Self.published().prefix(3))
        let rows = published.map { p in
            CENTTable.Row(
                published: p, pim: p.pim * 1.5, cxl: p.cxl, acc: p.acc, embedding: 0.25, token: p.token,
                throughput: p.throughputTokensPerS / 2,
                rung: CENTRung.Figures(throughputTokensPerS: 123.5, tokenMs: 9.25, energyPerTokenMJ: 77))
        }
        let text = CENTTable.csv(Array(rows.prefix(2)))
        let csv = try CSVTable.parse(text, file: "cent-table.csv")
        let table = CENTTable(published: published)
        let known = table.resumable(csv)
        #expect(known.count == 2)
        for row in rows.prefix(2) {
            let back = try #require(known[CENTTable.key(row.published)])
            // As written: nine significant digits.
            #expect(CENTTable.number(back.pim) == CENTTable.number(row.pim))
            #expect(CENTTable.number(back.throughput) == CENTTable.number(row.throughput))
            #expect(back.rung == row.rung)
        }
        #expect(known[CENTTable.key(rows[2].published)] == nil)
        // A table made without the pipeline runs is not taken for one with them.
        var withoutRung = table
        withoutRung.rungSteps = nil
        #expect(withoutRung.resumable(csv).isEmpty)
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
