@testable import Cluster
import Foundation
@testable import Studies
import TestSupport
import Testing
import Workload
import Yams

@Suite("lolpim paper", .serialized)
struct PaperTests {
    /// A ranked search (every configuration on few decode steps, the fastest of each row and those within 5 % of it
    /// confirmed in full) chooses what the full search chooses, with the same figures, on the paper's 7B set-ups:
    /// the ladders of (a), and (`modules` > 0) the rungs of (c)'s memory scaling on that many modules; here at a
    /// reduced scale (8 requests of 1,024 tokens, or 2 per module, 6 decode steps, ranked on 2; tp up to 2) so
    /// that the full search fits a test. The page's own scale is checked in docs/VALIDATION.md §6.
    @Test(
        "ranked search: the same configurations and figures as the full search on the 7B set-ups (reduced)",
        arguments: [("llm-7b-32k-qmsum", 0), ("llm-7b-128k-gqa-multifieldqa", 0), ("llm-7b-128k-gqa-multifieldqa", 16)])
    func rankedSearch(setUp: String, modules: Int) throws {
        let dir = Harness.directory("paper-ranked-\(setUp)-\(modules)")
        var study = PaperStudy()
        study.topologyDirectory = packageRoot.appendingPathComponent("Topologies/compare").path
        study.outputDirectory = dir
        let requests = modules > 0 ? String(2 * modules) : "8"
        let file = try study.derive(
            base: "\(setUp).yaml", name: setUp,
            (modules > 0 ? [("cluster.modules", Node(String(modules))), ("parallelism.micro_batches", Node("1"))] : [])
                + [
                    ("workload.requests", Node(requests)), ("workload.batch_size", Node(requests)),
                    ("workload.decode_steps", Node("6")), ("workload.context", Node("1024")),
                ])
        func rows(_ ranking: Comparison.Ranking?, _ name: String) throws -> [Comparison.Row] {
            var comparison = try Comparison(
                topologyFile: file, topology: TopologyLoader.load(path: file), outputDirectory: dir + "/" + name)
            comparison.runs.transport = .inproc
            comparison.runs.progress = false
            comparison.runs.kernelStore = .file(dir + "/kernels.sqlite")
            comparison.maxTP = 2
            comparison.baselines = false
            if modules > 0 { comparison.rungs = PaperStudy.scalingRungs }
            comparison.ranking = ranking
            return try comparison.run()
        }
        let full = try rows(nil, "full")
        let ranked = try rows(Comparison.Ranking(steps: 2, confirmed: 1, tolerance: 0.05), "ranked")
        #expect(full.count == ranked.count)
        for (f, r) in zip(full, ranked) {
            #expect(f.configuration == r.configuration, "\(f.system)")
            #expect(f.figures == r.figures, "\(f.system)")
            // Every configuration ranked, or run in full at once (its row's only run in a stage: nothing to rank);
            // the fastest ranked in full.
            #expect(r.searched.count == f.searched.count)
            let unranked = r.searched.filter { $0.rankedThroughputTokensPerS == nil }
            #expect(unranked.allSatisfy { $0.throughputTokensPerS != nil }, "\(r.system)")
            #expect(unranked.count < r.searched.count || r.searched.count <= 2, "\(r.system): nothing ranked")
            let fastest = r.searched.filter { $0.rankedThroughputTokensPerS != nil }.max {
                $0.rankedThroughputTokensPerS! < $1.rankedThroughputTokensPerS!
            }
            #expect(fastest == nil || fastest?.throughputTokensPerS != nil, "\(r.system)")
            #expect(
                r.searched.filter { $0.rankedThroughputTokensPerS != nil || $0.throughputTokensPerS != nil }.count
                    == f.searched.filter { $0.throughputTokensPerS != nil }.count, "\(r.system)")
        }
    }

    @Test("a scaling part gets the smallest tp at which one request fits (tp 2 for a 1M-token context on 512 GB)")
    func scalingTopologiesFit() throws {
        var study = PaperStudy()
        study.topologyDirectory = packageRoot.appendingPathComponent("Topologies/compare").path
        study.outputDirectory = Harness.directory("paper-fit")
        let model = try #require(try Yams.compose(yaml: "{preset: llm-72b-128k-gqa, max_context: 1048576}"))
        func fields(_ tokens: Int) -> [(String, Node)] {
            [
                ("model", model), ("workload.context", Node(String(tokens))),
                ("workload.max_context", Node(String(tokens + 32))), ("workload.requests", Node("16")),
                ("workload.batch_size", Node("16")),
            ]
        }
        for (tokens, tp) in [(4096, 1), (1_048_512, 2)] {
            let file = try study.deriveFitting(
                base: "llm-72b-128k-gqa-multifieldqa.yaml", name: "c-\(tokens)",
                fields(tokens))
            #expect(try TopologyLoader.load(path: file).parallelism.tp == tp, "\(tokens) tokens")
        }
    }

    @Test("lolpim paper --quick writes the page, every figure and its data, and our value beside each published one")
    func quick() throws {
        let dir = Harness.directory("paper")
        let out = dir + "/paper"
        let arguments = [
            "paper", "--quick", "--quiet", "--output", out,
            "--topologies", packageRoot.appendingPathComponent("Topologies/compare").path,
        ]
        let run = try Harness.run(arguments, in: dir, seconds: 900)
        #expect(run.status == 0, "\(run.stderr)")
        let page = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        let ladders = PaperStudy.studies.map { "a-\($0.model)-\($0.datasets[0]).svg" }
        let figures =
            ladders + [
                "b-tp-vs-pp.svg", "c-memory.svg", "c-context.svg", "d-mac-utilisation.svg",
                "e-kv-utilisation.svg", "f-gpus.svg",
            ]
        for figure in figures {
            #expect(names.contains(figure), "\(figure) missing")
            #expect(page.contains("src=\"\(figure)\""), "index.html does not show \(figure)")
            let svg = try String(contentsOfFile: out + "/" + figure, encoding: .utf8)
            let counter = try #require(ElementCounter.parse(svg), "\(figure) is not XML")
            #expect((counter.classes["bar"] ?? 0) + (counter.classes["series"] ?? 0) > 0, "\(figure) is empty")
            #expect(TextBounds.overflows(svg).isEmpty, "\(figure): \(TextBounds.overflows(svg))")
        }
        // The ladder charts mark the paper's value on both LoL-PIM bars.
        let ladder = try #require(
            ElementCounter.parse(try String(contentsOfFile: out + "/" + ladders[0], encoding: .utf8)))
        #expect(ladder.classes["bar"] == Ladder.compared.count && (ladder.classes["reference-mark"] ?? 0) >= 2)
        for csv in [
            "a-ladders.csv", "b-tp-vs-pp.csv", "c-memory.csv", "c-context.csv", "d-mac-utilisation.csv",
            "published.csv",
        ] {
            let rows = SweepCSV.parse(try String(contentsOfFile: out + "/" + csv, encoding: .utf8))
            #expect(rows.count > 1, "\(csv) has no data")
        }
        let published = SweepCSV.parse(try String(contentsOfFile: out + "/published.csv", encoding: .utf8))
        #expect(published.dropFirst().allSatisfy { Double($0[6]) != nil }, "a published figure has no value of ours")
        let a = SweepCSV.parse(try String(contentsOfFile: out + "/a-ladders.csv", encoding: .utf8))
        #expect(a.count == 1 + PaperStudy.studies.count * (3 + Ladder.compared.count))
        // The MAC-utilisation study: DCS keeps the MAC units at least as busy as ping-pong buffering.
        let d = SweepCSV.parse(try String(contentsOfFile: out + "/d-mac-utilisation.csv", encoding: .utf8))
        #expect(d.count == 5 && d.dropFirst().allSatisfy { Double($0[3])! >= Double($0[2])! && Double($0[2])! > 0 })
        // A second run resumes: every run is already recorded, so no sweep gains a row.
        func recordedRuns() throws -> Int {
            try FileManager.default.subpathsOfDirectory(atPath: out + "/runs")
                .filter { $0.hasSuffix(".csv") && !$0.contains("-points/") }
                .reduce(0) { $0 + (try SweepCSV.rows(path: out + "/runs/" + $1)).count }
        }
        let before = try recordedRuns()
        let again = try Harness.run(arguments, in: dir, seconds: 300)
        #expect(again.status == 0)
        #expect(try recordedRuns() == before && before > 0)
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }
}
