import Foundation
import Testing
import Workload
@testable import Cluster

@Suite("lolpim compare", .serialized)
struct CompareTests {
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
                + Ladder.all.map(\.name))
        #expect(
            body.map { cell($0, "kind") } == ["gpu", "gpu", "gpu-pim"] + Array(repeating: "pim-only", count: 4)
                + Array(repeating: "xpu-pim", count: 4))
        #expect(body[3][0].contains("CENT-like") && body[6][0].contains("LoL-PIM"))
        #expect(body[7][0].contains("NeuPIMs-like") && body[10][0].contains("LoL-PIM"))
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
            let baseline = i < 3 ? 0 : i < 7 ? 3 : 7
            #expect(abs(Double(cell(row, "speedup_over_a100"))! - throughput[i] / throughput[0]) < 0.002)
            #expect(abs(Double(cell(row, "speedup_over_gpu_pim"))! - throughput[i] / throughput[2]) < 0.002)
            #expect(abs(Double(cell(row, "speedup_over_baseline"))! - throughput[i] / throughput[baseline]) < 0.002)
        }
        #expect(cell(body[3], "speedup_over_baseline") == "1.000" && cell(body[7], "speedup_over_baseline") == "1.000")
        // Every configuration a PIM row claims to have searched ran (a row of the runs' CSVs with its throughput),
        // and the row chose the fastest of them.
        let claims = SweepCSV.parse(try String(contentsOfFile: dir + "/cmp/comparison-search.csv", encoding: .utf8))
        #expect(claims.first == ComparisonReport.searchHeader)
        let runs = try FileManager.default.contentsOfDirectory(atPath: dir + "/cmp")
            .filter { $0.hasPrefix("compare-runs-") && $0.hasSuffix(".csv") }
            .flatMap { try SweepCSV.rows(path: dir + "/cmp/" + $0) }
        for row in body.suffix(Ladder.all.count) {
            let mine = claims.dropFirst().filter { $0[0] == row[0] }
            #expect(Int(cell(row, "configurations_searched")) == mine.count && !mine.isEmpty)
            for claim in mine {
                let matching = runs.filter {
                    $0["parallelism.tp"] == claim[1] && $0["parallelism.pp"] == claim[2]
                        && $0["parallelism.micro_batches"] == claim[3] && ($0["cluster.sub_batches"] ?? "") == claim[4]
                        && ($0["cluster.kind"] == "xpu-pim") == (cell(row, "kind") == "xpu-pim")
                        && $0["fidelity.partitioning"] == Ladder.all.first { $0.name == row[0] }!.partitioning.rawValue
                        && $0["fidelity.scheduling"] == Ladder.all.first { $0.name == row[0] }!.scheduling.rawValue
                        && $0["workload.allocation"] == Ladder.all.first { $0.name == row[0] }!.allocation.rawValue
                }
                #expect(matching.count == 1, "\(row[0]): \(claim) ran \(matching.count) times")
                #expect(
                    matching.first.flatMap { $0["throughput_tokens_per_s"].flatMap(Double.init) }
                        .map { String(format: "%.2f", $0) } == claim[5])
            }
            let chosen = try #require(mine.first { $0[6] == "yes" })
            #expect(
                chosen[1] == cell(row, "tp") && chosen[2] == cell(row, "pp") && chosen[3] == cell(row, "micro_batches"))
            #expect(mine.allSatisfy { Double($0[5])! <= Double(chosen[5])! })
        }
        for chart in ["comparison-throughput.svg", "comparison-energy.svg"] {
            let svg = try String(contentsOfFile: dir + "/cmp/" + chart, encoding: .utf8)
            let counter = try #require(ElementCounter.parse(svg))
            #expect(counter.classes["bar"] == 3 + Ladder.all.count, "\(chart): one bar per system")
            #expect(counter.classes["value"] == 3 + Ladder.all.count, "\(chart): every bar carries its value")
            #expect(TextBounds.overflows(svg).isEmpty, "\(chart): \(TextBounds.overflows(svg))")
        }
        #expect(run.stdout.contains("×A100") && run.stdout.contains("attn µs/tok"))
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("prefill_kv: resident sends no prompt KV over the host links; transfer does, and takes longer")
    func residentPrefill() throws {
        func run(_ mode: String) throws -> SequentialRun.Outcome {
            let yaml = minimalTopology.replacingOccurrences(
                of: "context: 2048", with: "context: 2048\n  prefill_kv: \(mode)")
            return try SequentialRun(plan: PipelinePlan(topology: TopologyLoader.parse(yaml: yaml, file: "p.yaml")))
                .run()
        }
        let transfer = try run("transfer"), resident = try run("resident")
        #expect(transfer.simulated.kv.prefillTransferBytes > 0 && resident.simulated.kv.prefillTransferBytes == 0)
        #expect(resident.simulated.makespanPs < transfer.simulated.makespanPs)
        #expect(
            parseError(
                minimalTopology.replacingOccurrences(of: "context: 2048", with: "context: 2048\n  prefill_kv: maybe"))?
                .field == "workload.prefill_kv")
    }

    @Test("every system is memory-matched: GPUs, and GPU-PIM's GPUs for the weights plus devices for the rest")
    func memoryMatched() throws {
        let gib: Int64 = 1 << 30
        let cases: [(model: String, modules: Int, gpus: Int, gpuPIM: (Int, Int))] = [
            ("llm-7b-32k", 8, 2, (1, 1)), ("llm-7b-128k-gqa", 8, 2, (1, 1)), ("llm-72b-32k", 32, 8, (2, 5)),
            ("llm-72b-128k-gqa", 64, 16, (2, 11)),
        ]
        for c in cases {
            let model = try #require(ModelConfig.presets[c.model])
            let memory = Int64(c.modules) * 16 * gib
            #expect(BaselineRows.memoryMatchedGPUs(model: model, memoryBytes: memory) == c.gpus, "\(c)")
            let attacc = BaselineRows.memoryMatchedGPUPIM(model: model, memoryBytes: memory)
            #expect(attacc.gpus == c.gpuPIM.0 && attacc.devices == c.gpuPIM.1, "\(c): \(attacc)")
        }
        // On the shipped comparison sizes no GPU row is above 1.3× the PIM system's memory; a system too small
        // for that (2 × 16 GiB: one 80 GB GPU is the least) gets a note saying why.
        for (modules, noted) in [(8, false), (2, true)] {
            let yaml = minimalTopology.replacingOccurrences(of: "modules: 4", with: "modules: \(modules)")
            let t = try TopologyLoader.parse(yaml: yaml, file: "m.yaml")
            let comparison = try Comparison(topologyFile: "m.yaml", topology: t, outputDirectory: "/nonexistent")
            let rows = Comparison.withMemoryNotes(comparison.gpuRows(), pimMemoryBytes: comparison.pimMemoryBytes)
            for row in rows {
                let above = Double(row.memoryBytes) > 1.3 * Double(comparison.pimMemoryBytes)
                #expect(above == noted, "\(row.system): \(row.memoryBytes) B")
                #expect((row.note?.contains("the PIM system's") ?? false) == above)
            }
        }
    }

    @Test(
        "the search: splits at their pipeline depth, then micro-batch counts from the depth to the batch, then sub-batches"
    )
    func search() throws {
        let yaml = minimalTopology.replacingOccurrences(of: "batch_size: 6", with: "batch_size: 32")
        let t = try TopologyLoader.parse(yaml: yaml, file: "s.yaml")
        let search = ConfigurationSearch(topology: t, maxTP: 8)
        #expect(search.microBatchCounts(pp: 4) == [4, 8, 16, 32])
        #expect(search.microBatchCounts(pp: 1) == [1, 2, 4, 8, 16, 32])
        #expect(search.microBatchCounts(pp: 3) == [3, 6, 12, 24, 32])
        #expect(search.microBatchCounts(pp: 64) == [32])
        let splits = search.splitStage()
        #expect(splits.map(\.tp) == search.splits.map(\.tp) && !splits.isEmpty)
        #expect(splits.allSatisfy { $0.microBatches == $0.pp && $0.subBatches == nil })
        let best = splits[0]
        #expect(search.microBatchStage(best: best).map(\.microBatches) == search.microBatchCounts(pp: best.pp))
        #expect(search.subBatchStage(best: best).isEmpty)  // PIM-only: no NPU
        #expect(search.exhaustive().count == search.splits.reduce(0) { $0 + search.microBatchCounts(pp: $1.pp).count })
        let xpu = ConfigurationSearch(topology: try TopologyLoader.parse(yaml: xpuTopology(), file: "x.yaml"), maxTP: 8)
        let first = try #require(xpu.splitStage().first)
        #expect(first.subBatches == 2)
        #expect(xpu.subBatchStage(best: first).map(\.subBatches) == (first.tp == 1 ? [1, 2, 4] : []))
        #expect(xpu.exhaustive().allSatisfy { $0.subBatches != nil })
    }
}
