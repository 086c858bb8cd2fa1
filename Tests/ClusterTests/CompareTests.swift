import Foundation
import Testing
@testable import Cluster

@Suite("lolpim compare", .serialized)
struct CompareTests {
    @Test("a row per system with units: GPUs, GPU-PIM, then the PIM ladder at its best split; CSV and SVG bars")
    func compare() throws {
        let dir = Harness.directory("compare")
        let file = Harness.topology("""
            name: cmp
            seed: 3
            model: llm-7b-128k-gqa
            cluster: {modules: 2}
            parallelism: {micro_batches: 1}
            workload: {batch_size: 2, context: 1000, decode_steps: 2, batching: continuous}
            """, in: dir)
        let run = try Harness.run(["compare", file, "--output", dir + "/cmp", "--quiet"], in: dir, seconds: 300)
        #expect(run.status == 0, "\(run.stderr)")
        let text = try String(contentsOfFile: dir + "/cmp/comparison.csv", encoding: .utf8)
        let rows = SweepCSV.parse(text)
        #expect(rows.first == ComparisonReport.header)
        #expect(rows.first?.contains("throughput_tokens_per_s") == true && rows.first?.contains("energy_per_token_mj") == true)
        let systems = rows.dropFirst().map { $0[0] }
        #expect(systems == ["multi-GPU A100-80GB", "multi-GPU H100-80GB", "GPU-PIM (AttAcc-like)"] + Comparison.ladder.map(\.name))
        for row in rows.dropFirst() {
            #expect(Double(row[2]).map { $0 > 0 } == true, "\(row[0]) has no throughput")
            #expect(Double(row[5]).map { $0 > 0 } == true, "\(row[0]) has no energy")
        }
        // Speedups are throughput ratios to the GPU rows; the A100 row is 1 against itself.
        let a100 = Double(rows[1][2])!
        #expect(rows[1][6] == "1.000")
        for row in rows.dropFirst() { #expect(abs(Double(row[6])! - Double(row[2])! / a100) < 0.002) }
        // PIM rows name the split they ran at; it is one the planner accepts.
        for row in rows.suffix(Comparison.ladder.count) { #expect(row[1].contains("tp ") && row[1].contains(" × pp ")) }
        for chart in ["comparison-throughput.svg", "comparison-energy.svg"] {
            let svg = try String(contentsOfFile: dir + "/cmp/" + chart, encoding: .utf8)
            let counter = try #require(ElementCounter.parse(svg))
            #expect(counter.classes["segment"] == 3 + Comparison.ladder.count, "\(chart): one bar per system")
        }
        #expect(run.stdout.contains("×A100"))
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("prefill_kv: resident sends no prompt KV over the host links; transfer does, and takes longer")
    func residentPrefill() throws {
        func run(_ mode: String) throws -> SequentialRun.Outcome {
            let yaml = minimalTopology.replacingOccurrences(of: "context: 2048", with: "context: 2048\n  prefill_kv: \(mode)")
            return try SequentialRun(plan: PipelinePlan(topology: TopologyLoader.parse(yaml: yaml, file: "p.yaml"))).run()
        }
        let transfer = try run("transfer"), resident = try run("resident")
        #expect(transfer.simulated.kv.prefillTransferBytes > 0 && resident.simulated.kv.prefillTransferBytes == 0)
        #expect(resident.simulated.makespanPs < transfer.simulated.makespanPs)
        #expect(parseError(minimalTopology.replacingOccurrences(of: "context: 2048", with: "context: 2048\n  prefill_kv: maybe"))?
            .field == "workload.prefill_kv")
    }

    @Test("GPUs are memory-matched to the PIM system: 2 for 8 × 16 GiB, 8 for 32 × 16 GiB")
    func memoryMatched() throws {
        for (modules, gpus) in [(8, 2), (32, 8), (2, 1)] {
            let yaml = minimalTopology.replacingOccurrences(of: "modules: 4", with: "modules: \(modules)")
                .replacingOccurrences(of: "llm-7b-32k", with: "llm-7b-128k-gqa")
            let t = try TopologyLoader.parse(yaml: yaml, file: "m.yaml")
            #expect(Comparison.memoryMatchedGPUs(t) == gpus)
        }
    }
}
