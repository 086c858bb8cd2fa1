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

    @Test("a PP row's topology is CENT's set-up: utilised devices, ceil(L/D) layers a stage, one request per block")
    func topology() throws {
        let row = try #require(
            try Self.published().first { $0.model == "Llama2-70B" && $0.pp == 80 && $0.seqLen == 4096 })
        let yaml = try CENTRung(row: row).yaml()
        #expect(yaml.contains("modules: 27,"))
        #expect(
            yaml.contains("layers_per_stage: [" + Array(repeating: "3", count: 26).joined(separator: ", ") + ", 2]"))
        #expect(yaml.contains("requests: 81") && yaml.contains("micro_batches: 27") && yaml.contains("tp: 1,"))
        #expect(yaml.contains("partitioning: cent") && yaml.contains("latency_ns: 180"))
        #expect(yaml.contains("cent_mode: pipeline-parallel"))
    }

    @Test("a TP row's topology: pp stages of tp modules, the layers spread evenly, one request per stage")
    func tensorParallelTopology() throws {
        let row = try #require(
            try Self.published().first { $0.model == "Llama2-70B" && $0.pp == 32 && $0.tp == 1 && $0.seqLen == 128 })
        let yaml = try CENTRung(row: row).yaml()
        // 80 layers over 32 stages: 16 of 3, 16 of 2 (CENT's throughput assumes 2.5 each).
        let split = Array(repeating: "3", count: 16) + Array(repeating: "2", count: 16)
        #expect(yaml.contains("layers_per_stage: [" + split.joined(separator: ", ") + "]"))
        #expect(yaml.contains("modules: 32,") && yaml.contains("tp: 1,") && yaml.contains("requests: 32"))
        #expect(yaml.contains("cent_mode: model-parallel"))
        let group = try #require(
            try Self.published().first { $0.model == "Llama2-13B" && $0.pp == 4 && $0.tp == 5 && $0.seqLen == 128 })
        let yaml13 = try CENTRung(row: group).yaml()
        #expect(yaml13.contains("modules: 20,") && yaml13.contains("tp: 5,") && yaml13.contains("micro_batches: 4"))
        #expect(yaml13.contains("layers_per_stage: [10, 10, 10, 10]") && yaml13.contains("requests: 4"))
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
        let table = CENTTable(published: published)
        let text = table.csv(Array(rows.prefix(2)))
        let csv = try CSVTable.parse(text, file: "cent-table.csv")
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
        // Nor one with other rules or score moves.
        var otherCommit = table
        otherCommit.commit = .validated
        #expect(otherCommit.resumable(csv).isEmpty)
        var costed = table
        costed.scoreMoves = .costed
        #expect(costed.resumable(csv).isEmpty)
    }

    @Test("rows computed two at a time give the table one at a time gives, in the published order")
    func parallelRows() throws {
        let rows = try Self.published().filter { $0.model == "Llama2-7B" && $0.tp == 8 && $0.seqLen <= 384 }
        #expect(rows.count == 3)
        var table = CENTTable(published: rows)
        table.rungSteps = 2
        let one = try table.run(workers: 1), two = try table.run(workers: 2)
        #expect(table.csv(one) == table.csv(two))
        #expect(two.map(\.published) == rows)
    }

    /// Llama2-13B at T = 128 is the quickest row of each mode (C = 16, or a group of 10 of 32 channels, short
    /// contexts).
    @Test(
        "Llama2-13B at T = 128, pp 40 and pp 2 × tp 10: the throughput ratios VALIDATION.md §7 quotes",
        arguments: [(40, 1), (2, 10)])
    func thirteenB(pp: Int, tp: Int) throws {
        let row = try #require(
            try Self.published().first { $0.model == "Llama2-13B" && $0.pp == pp && $0.tp == tp && $0.seqLen == 128 })
        let figures = try CENTRung(row: row).run()
        let ratio = figures.throughputTokensPerS / row.throughputTokensPerS
        let doc = try String(
            contentsOf: Self.root.appendingPathComponent("docs/VALIDATION.md"), encoding: .utf8)
        let quoted = String(format: "13B pp %d × tp %d at T = 128: throughput ratio %.3f", pp, tp, ratio)
        #expect(doc.contains(quoted), "VALIDATION.md §7 should say \"\(quoted)\"")
        #expect(ratio > 0.9 && ratio < 1.1)
    }
}
