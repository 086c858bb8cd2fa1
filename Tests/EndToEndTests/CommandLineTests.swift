import Foundation
import Testing
@testable import Cluster
import PIMModule
import Pipeline
@testable import Studies
import TestSupport
import Workload

/// Single commands run as a user runs them (the lolpim executable in a fresh directory), one per area:
/// the kernel-timing store, reports, the parallelism search, xPU+PIM, option checks, compare.
@Suite("Commands end to end", .serialized)
struct CommandLineTests {
    @Test("lolpim cache stats and clear; lolpim kernel counts its lookups; processes share one file")
    func cacheCommand() throws {
        let dir = Harness.directory("store-cli")
        let store = dir + "/k.sqlite"
        // Four processes at once time the same kernels into one store.
        let arguments = ["kernel", "attention", "--tokens", "4096", "--scheduling", "static", "--kernel-cache", store]
        let runs = try (0..<4).map { _ in try Harness.Running(arguments, in: dir) }
        for run in runs { #expect(run.wait(seconds: 120).status == 0) }
        let warm = try Harness.run(arguments, in: dir, seconds: 120)
        // Every kernel the command needs is in the store now: N hits, no miss.
        let line = try #require(warm.stdout.split(separator: "\n").first { $0.contains("kernel store") })
        let hits = try #require(Int(line.split(separator: " ").dropFirst(2).first ?? ""))
        #expect(hits > 0 && line.contains("\(hits) hits, 0 misses"), "\(line)")
        let stats = try Harness.run(["cache", "stats", "--kernel-cache", store], in: dir)
        #expect(stats.status == 0)
        #expect(stats.stdout.contains("entries   \(hits) kernel timings"), "\(stats.stdout)")
        #expect(stats.stdout.contains("last run  kernel") && stats.stdout.contains("\(hits) hits, 0 misses"))
        let clear = try Harness.run(["cache", "clear", "--kernel-cache", store], in: dir)
        #expect(clear.stdout.contains("removed \(hits) kernel timings"))
        let empty = try Harness.run(["cache", "stats", "--kernel-cache", store], in: dir)
        #expect(empty.stdout.contains("entries   0 kernel timings"))
    }

    @Test(
        "lolpim reference: the tiny checkpoint decodes as transformers does; a seed repeats sampling; bad input exits"
    )
    func referenceCommand() throws {
        let dir = Harness.directory("reference-cli")
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tiny-qwen2").path
        let topology = Harness.topology(
            """
            name: tiny
            model: {checkpoint: \(fixtures)}
            cluster: {modules: 2}
            workload: {batch_size: 1, requests: 1, context: 8, decode_steps: 4}

            """, in: dir)
        let golden =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: fixtures + "/golden.json"))) as! [String: Any]
        let first = (golden["cases"] as! [[String: Any]])[0]
        let prompt = first["prompt"] as! [Int], continuation = first["continuation"] as! [Int]
        try "\(prompt)\n".write(toFile: dir + "/p.jsonl", atomically: true, encoding: .utf8)
        let run = try Harness.run(
            ["reference", topology, "--prompts", dir + "/p.jsonl", "--output", dir + "/out", "--logits", dir + "/npy"],
            in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        // Greedy from the prompt: transformers' own generate() tokens (the fixture's steps are far from ties).
        let expected = continuation.prefix(4).map(String.init).joined(separator: " ")
        #expect(run.stdout.contains("\(prompt.count) prompt tokens → \(expected)"), "\(run.stdout)")
        #expect(FileManager.default.fileExists(atPath: dir + "/out/reference.json"))
        #expect(FileManager.default.fileExists(atPath: dir + "/npy/request-0.npy"))
        try "[1, 2, 256]\n".write(toFile: dir + "/bad.jsonl", atomically: true, encoding: .utf8)
        let bad = try Harness.run(["reference", topology, "--prompts", dir + "/bad.jsonl"], in: dir)
        #expect(bad.status == 2 && bad.stderr.contains("bad.jsonl: line 1: prompt: token id 256"), "\(bad.stderr)")
        let plain = Harness.topology(
            "name: p\nmodel: llm-7b-32k\ncluster: {modules: 8}\n"
                + "workload: {batch_size: 1, context: 8, decode_steps: 4}\n", in: dir, name: "p.yaml")
        let none = try Harness.run(["reference", plain], in: dir)
        #expect(none.status == 2 && none.stderr.contains("give model.checkpoint"), "\(none.stderr)")
        // Sampled: the same seed draws the same tokens; options out of range are refused.
        func sampled(_ options: [String]) throws -> Harness.Outcome {
            try Harness.run(["reference", topology, "--prompts", dir + "/p.jsonl"] + options, in: dir)
        }
        let a = try sampled(["--top-k", "50", "--top-p", "0.9", "--seed", "7"])
        let b = try sampled(["--top-k", "50", "--top-p", "0.9", "--seed", "7"])
        #expect(a.status == 0 && a.stdout == b.stdout, "\(a.stderr)")
        for options in [["--top-k", "0"], ["--top-p", "1.5"]] {
            let refused = try sampled(options)
            #expect(refused.status == 64, "\(options): \(refused.stderr)")
        }
    }

    @Test("lolpim report turns results.json and a sweep CSV into SVG charts and an HTML page")
    func reportFiles() throws {
        let dir = Harness.directory("report")
        let file = Harness.topology(determinismTopology, in: dir)
        let run = try Harness.run(["run", file, "--output", dir + "/run", "--quiet", "--transport", "inproc"], in: dir)
        #expect(run.status == 0)
        let report = try Harness.run(["report", dir + "/run/results.json", "--output", dir + "/report"], in: dir)
        #expect(report.status == 0, "\(report.stderr)")
        for name in ["time-breakdown", "energy", "kv-capacity", "effective-batch"] {
            let svg = try String(contentsOfFile: dir + "/report/\(name).svg", encoding: .utf8)
            #expect(ElementCounter.parse(svg) != nil, "\(name).svg is not valid XML")
            #expect(TextBounds.overflows(svg).isEmpty, "\(name).svg: \(TextBounds.overflows(svg))")
        }
        let html = try String(contentsOfFile: dir + "/report/index.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("tokens/s"))

        let csv = dir + "/sweep.csv"
        let header = ["point", "cluster.modules", "status", "error"] + SweepCSV.figures
        let rows =
            [header]
            + [4, 8, 16].map { m in
                ["cluster.modules=\(m)", "\(m)", "ok", ""]
                    + SweepCSV.figures.indices.map { "\(Double($0 + 1) * Double(m))" }
            } + [
                ["cluster.modules=32", "32", "failed", "does not fit"]
                    + Array(repeating: "", count: SweepCSV.figures.count)
            ]
        try rows.map { SweepCSV.line($0) }.joined(separator: "\n").appending("\n").write(
            toFile: csv, atomically: true, encoding: .utf8)
        let sweep = try Harness.run(["report", csv, "--output", dir + "/sweep-report"], in: dir)
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let throughput = try String(contentsOfFile: dir + "/sweep-report/throughput_tokens_per_s.svg", encoding: .utf8)
        let counter = try #require(ElementCounter.parse(throughput))
        #expect(counter.classes["series"] == 1)
        #expect(counter.counts["circle"] == 3)
        let bad = try Harness.run(["report", file], in: dir)
        #expect(bad.status == 2)
    }

    @Test("lolpim run --search-parallelism runs every valid split and picks the fastest")
    func search() throws {
        let dir = Harness.directory("search")
        let file = Harness.topology(tensorParallelTopology(modules: 4, tp: 1, batch: 4), in: dir)
        let run = try Harness.run(
            ["run", file, "--search-parallelism", "--output", dir + "/out", "--quiet"], in: dir, seconds: 120)
        #expect(run.status == 0, "\(run.stderr)")
        let rows = try SweepCSV.rows(path: dir + "/out/parallelism-search.csv")
        #expect(Set(rows.compactMap { $0["parallelism.tp"] }) == ["1", "2", "4"])
        #expect(rows.allSatisfy { $0["status"] == "ok" })
        let best = rows.max { Double($0["throughput_tokens_per_s"]!)! < Double($1["throughput_tokens_per_s"]!)! }!
        #expect(run.stdout.contains("best split: tp \(best["parallelism.tp"]!) × pp"))
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("an xPU+PIM run is deterministic across transports")
    func determinism() throws {
        let dir = Harness.directory("xpu")
        let file = Harness.topology(xpuTopology(), in: dir)
        let reference = try SequentialRun(plan: PipelinePlan(topology: TopologyLoader.load(path: file))).run()
        let run = try Harness.run(["run", file, "--output", dir + "/out", "--quiet"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            try Harness.results(in: dir + "/out").simulatedSectionBytes()
                == RunResults.encoder.encode(reference.simulated))
    }

    @Test(
        "options out of range are refused by the parser, before anything runs",
        arguments: [
            (["run", "--port", "70000"], "--port must be between 0 and 65535"),
            (["run", "--registration-timeout", "0"], "--registration-timeout must be between 1 and 86400"),
            (["run", "--registration-timeout", "99999999999999"], "--registration-timeout must be between"),
            (["run", "--heartbeat-timeout", "0"], "--heartbeat-timeout must be between 1 and 3600"),
            (["run", "--log-level", "loud"], "--log-level must be one of"),
            (["kernel", "gemv", "--rows", "0"], "--rows must be between"),
            (["compare", "--max-tp", "0"], "--max-tp must be between"),
        ])
    func optionRanges(arguments: [String], fragment: String) throws {
        let dir = Harness.directory("options")
        let topology = arguments[0] == "kernel" ? [] : [packageRoot.path + "/Topologies/default.yaml"]
        let outcome = try Harness.run(
            arguments + topology,
            in: dir, seconds: 30)
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains(fragment), "\(outcome.stderr)")
    }

    @Test("both ladders and the GPU rows, with units, memory, the chosen configuration and every search it ran")
    func compare() throws {
        let dir = Harness.directory("compare")
        let file = Harness.topology(
            """
            name: cmp
            seed: 3
            model: llm-7b-128k-gqa
            cluster: {modules: 2}
            parallelism: {micro_batches: 1}
            workload: {batch_size: 2, context: 1000, decode_steps: 2, batching: continuous}
            """, in: dir)
        let run = try Harness.run(["compare", file, "--output", dir + "/cmp", "--quiet"], in: dir, seconds: 600)
        #expect(run.status == 0, "\(run.stderr)")
        let rows = SweepCSV.parse(try String(contentsOfFile: dir + "/cmp/comparison.csv", encoding: .utf8))
        let header = try #require(rows.first)
        #expect(header == ComparisonReport.header)
        for column in [
            "kind", "memory_gib", "tp", "pp", "micro_batches", "speedup_over_baseline",
            "speedup_over_gpu_pim", "throughput_tokens_per_s", "energy_per_token_mj",
        ] {
            #expect(header.contains(column), "comparison.csv has no \(column)")
        }
        func cell(_ row: [String], _ column: String) -> String { row[header.firstIndex(of: column)!] }
        let body = Array(rows.dropFirst())
        #expect(
            body.map { $0[0] } == ["multi-GPU A100-80GB", "multi-GPU H100-80GB", "GPU-PIM (AttAcc-like)"]
                + Ladder.compared.map(\.name))
        #expect(
            body.map { cell($0, "kind") } == ["gpu", "gpu", "gpu-pim"] + Array(repeating: "pim-only", count: 5)
                + Array(repeating: "xpu-pim", count: 4))
        #expect(body[3][0] == Ladder.centCode.name)
        #expect(body[4][0].contains("CENT-like") && body[7][0].contains("LoL-PIM"))
        #expect(body[8][0].contains("NeuPIMs-like") && body[11][0].contains("LoL-PIM"))
        for row in body {
            #expect(Double(cell(row, "throughput_tokens_per_s")).map { $0 > 0 } == true, "\(row[0]) has no throughput")
            #expect(Double(cell(row, "energy_per_token_mj")).map { $0 > 0 } == true, "\(row[0]) has no energy")
            #expect(Double(cell(row, "memory_gib")).map { $0 > 0 } == true)
            #expect(Double(cell(row, "attention_background_energy_fraction")).map { $0 > 0 && $0 < 1 } == true)
            #expect(Double(cell(row, "kv_capacity_utilisation_fraction")).map { $0 > 0 && $0 <= 1 } == true)
        }
        // Speedups are throughput ratios: over the A100 row, GPU-PIM and each ladder's own first rung.
        let throughput = body.map { Double(cell($0, "throughput_tokens_per_s"))! }
        for (i, row) in body.enumerated() {
            let baseline = i < 3 ? 0 : i < 8 ? 4 : 8
            #expect(abs(Double(cell(row, "speedup_over_a100"))! - throughput[i] / throughput[0]) < 0.002)
            #expect(abs(Double(cell(row, "speedup_over_gpu_pim"))! - throughput[i] / throughput[2]) < 0.002)
            #expect(abs(Double(cell(row, "speedup_over_baseline"))! - throughput[i] / throughput[baseline]) < 0.002)
        }
        #expect(cell(body[4], "speedup_over_baseline") == "1.000" && cell(body[8], "speedup_over_baseline") == "1.000")
        // Every configuration a PIM row claims to have searched ran (a row of the runs' CSVs with its throughput),
        // or, under static allocation, is the same run as one of its split at another micro-batch count that did
        // (docs/COMPARE.md §2, "Runs that are the same"); and the row chose the fastest of them.
        let claims = SweepCSV.parse(try String(contentsOfFile: dir + "/cmp/comparison-search.csv", encoding: .utf8))
        #expect(claims.first == ComparisonReport.searchHeader)
        let runs = try FileManager.default.contentsOfDirectory(atPath: dir + "/cmp")
            .filter { $0.hasPrefix("compare-runs-") && $0.hasSuffix(".csv") }
            .flatMap { try SweepCSV.rows(path: dir + "/cmp/" + $0) }
        for row in body.suffix(Ladder.compared.count) {
            let rung = try #require(Ladder.compared.first { $0.name == row[0] })
            let mine = claims.dropFirst().filter { $0[0] == row[0] }
            #expect(Int(cell(row, "configurations_searched")) == mine.count && !mine.isEmpty)
            for claim in mine {
                let split = runs.filter {
                    $0["parallelism.tp"] == claim[1] && $0["parallelism.pp"] == claim[2]
                        && ($0["cluster.sub_batches"] ?? "") == claim[4]
                        && ($0["cluster.kind"] == "xpu-pim") == (cell(row, "kind") == "xpu-pim")
                        && $0["fidelity.partitioning"] == rung.partitioning.rawValue
                        && $0["fidelity.scheduling"] == rung.scheduling.rawValue
                        && $0["workload.allocation"] == rung.allocation.rawValue
                }
                func throughput(_ run: [String: String]) -> String? {
                    run["throughput_tokens_per_s"].flatMap(Double.init).map { String(format: "%.2f", $0) }
                }
                let own = split.filter { $0["parallelism.micro_batches"] == claim[3] }
                if own.isEmpty {
                    #expect(rung.allocation == .static, "\(row[0]): \(claim) did not run")
                    #expect(split.contains { throughput($0) == claim[5] }, "\(row[0]): \(claim) shares no run")
                } else {
                    #expect(own.count == 1, "\(row[0]): \(claim) ran \(own.count) times")
                    #expect(own.first.flatMap(throughput) == claim[5])
                }
            }
            let chosen = try #require(mine.first { $0[6] == "yes" })
            #expect(
                chosen[1] == cell(row, "tp") && chosen[2] == cell(row, "pp") && chosen[3] == cell(row, "micro_batches"))
            #expect(mine.allSatisfy { Double($0[5])! <= Double(chosen[5])! })
        }
        for chart in ["comparison-throughput.svg", "comparison-energy.svg"] {
            let svg = try String(contentsOfFile: dir + "/cmp/" + chart, encoding: .utf8)
            let counter = try #require(ElementCounter.parse(svg))
            #expect(counter.classes["bar"] == 3 + Ladder.compared.count, "\(chart): one bar per system")
            #expect(counter.classes["value"] == 3 + Ladder.compared.count, "\(chart): every bar carries its value")
            #expect(TextBounds.overflows(svg).isEmpty, "\(chart): \(TextBounds.overflows(svg))")
        }
        #expect(run.stdout.contains("×A100") && run.stdout.contains("attn µs/tok"))
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }
}
