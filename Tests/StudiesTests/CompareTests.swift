@testable import Cluster
import Foundation
import Pipeline
@testable import Studies
import TestSupport
import Testing
import Workload

@Suite("lolpim compare", .serialized)
struct CompareTests {

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
        "the search: splits at their pipeline depth, then micro-batch counts from depth to batch, then sub-batches"
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

    /// `ConfigurationSearch.sameRun`'s claim, checked on whole runs: under static allocation with continuous
    /// batching, every micro-batch count from the most requests a split holds at once (K) up gives the same run,
    /// with Poisson arrivals and output lengths that differ per request (so requests end and start at any time).
    @Test(
        "static allocation, continuous batching: every micro-batch count from K up is the same run", arguments: [9, 10])
    func sameRunAboveHeld(seed: Int) throws {
        let yaml = batchingTopology(batching: "continuous", allocation: "static")
            .replacingOccurrences(of: "seed: 9", with: "seed: \(seed)")
        let topology = try TopologyLoader.parse(yaml: yaml, file: "b.yaml")
        let search = ConfigurationSearch(topology: topology, maxTP: 1)
        let held = try #require(search.heldAtMost(tp: 1))
        let batch = topology.workload.batchSize
        #expect(held > 1 && held < batch, "memory, not the batch, limits the requests held")
        try expectSameRuns(topology, search: search, from: held, above: [held + 1, 2 * held, batch])
        // Static batching: no such claim.
        var fixed = topology
        fixed.workload.batching = .static
        #expect(ConfigurationSearch(topology: fixed, maxTP: 1).heldAtMost(tp: 1) == nil)
    }

    /// As above under DPA, where only the batch bounds the requests held: K is the batch.
    @Test("DPA, continuous batching: every micro-batch count from the batch up is the same run", arguments: [9, 10])
    func sameRunAboveBatch(seed: Int) throws {
        // A batch small enough that the modules' memory holds all of it at once.
        let yaml = batchingTopology(batching: "continuous", allocation: "dpa", batch: 6)
            .replacingOccurrences(of: "seed: 9", with: "seed: \(seed)")
        let topology = try TopologyLoader.parse(yaml: yaml, file: "b.yaml")
        let search = ConfigurationSearch(topology: topology, maxTP: 1)
        let batch = topology.workload.batchSize
        #expect(search.heldAtMost(tp: 1) == batch)
        try expectSameRuns(topology, search: search, from: batch, above: [batch + 1, 2 * batch])
    }

    /// Whole runs of `topology` (one stage of 4 modules) at `k` micro-batches, where `k` requests are held at once,
    /// and at each count of `above` are equal, and the search runs `k` for them; at k − 1 the run differs (so the
    /// comparison can fail), and the search runs it for itself.
    func expectSameRuns(
        _ topology: Topology, search: ConfigurationSearch, from k: Int, above: [Int],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        func run(_ m: Int) throws -> SimulatedResults {
            var t = topology
            t.parallelism.microBatches = m
            return try SequentialRun(plan: PipelinePlan(topology: t)).run().simulated
        }
        func configuration(_ m: Int) -> RunConfiguration {
            RunConfiguration(tp: 1, pp: 4, microBatches: m, subBatches: nil)
        }
        let reference = try run(k)
        #expect(reference.requests.peakEffectiveBatch == k, sourceLocation: sourceLocation)
        for m in above {
            #expect(try run(m) == reference, "\(m) micro-batches", sourceLocation: sourceLocation)
            #expect(search.sameRun(as: configuration(m)).microBatches == k, sourceLocation: sourceLocation)
        }
        #expect(try run(k - 1) != reference, sourceLocation: sourceLocation)
        #expect(search.sameRun(as: configuration(k - 1)) == configuration(k - 1), sourceLocation: sourceLocation)
    }

    @Test("lolpim compare ranks by default only the paper's eight set-ups as shipped")
    func ladderSetUps() throws {
        let directory = packageRoot.appendingPathComponent("Topologies/compare").path
        var found = 0
        for study in PaperStudy.studies {
            for dataset in study.datasets {
                let path = directory + "/\(study.model)-\(dataset).yaml"
                var topology = try TopologyLoader.load(path: path)
                #expect(PaperStudy.isLadderSetUp(topology, directory: directory), "\(path)")
                topology.name = "renamed"
                #expect(PaperStudy.isLadderSetUp(topology, directory: directory), "the name does not matter")
                topology.workload.output = .fixed(33)
                #expect(!PaperStudy.isLadderSetUp(topology, directory: directory), "\(path) with a changed field")
                found += 1
            }
        }
        #expect(found == 8)
        let other = try TopologyLoader.load(path: packageRoot.appendingPathComponent("Topologies/default.yaml").path)
        #expect(!PaperStudy.isLadderSetUp(other, directory: directory))
        #expect(!PaperStudy.isLadderSetUp(other, directory: directory + "/missing"))
    }

    /// CENT's own rung searches its pipeline-parallel mode (tp 1) where a request fits, and otherwise its
    /// model-parallel mode at the fewest devices per block; there V stays whole on every device, so that mode
    /// holds fewer tokens per module, and helps only where tp 1 has more stages than layers.
    @Test("the cent rung: the smallest tp with a valid split; model-parallel KV is K / tp + V per token and layer")
    func centSearch() throws {
        func cent(_ name: String, _ edits: [(String, String)] = []) throws -> Topology {
            let path = packageRoot.appendingPathComponent("Topologies/compare/\(name).yaml").path
            var text = try String(contentsOfFile: path, encoding: .utf8)
            for (from, to) in [
                ("partitioning: tcp", "partitioning: cent"), ("scheduling: dcs", "scheduling: static"),
                ("allocation: dpa", "allocation: static"),
            ] + edits {
                text = text.replacingOccurrences(of: from, with: to)
            }
            return try TopologyLoader.parse(yaml: text, file: "\(name).yaml")
        }
        let short = try cent("llm-72b-128k-gqa-multifieldqa")
        #expect(Set(ConfigurationSearch(topology: short, maxTP: 8).splits.map(\.tp)) == [1])
        // 64 modules, 32 layers: no pipeline-parallel split; model-parallel at tp 2.
        let wide = try cent(
            "llm-7b-128k-gqa-multifieldqa",
            [("modules: 8", "modules: 64"), ("micro_batches: 8", "micro_batches: 8\n  tp: 2")])
        let splits = ConfigurationSearch(topology: wide, maxTP: 8).splits
        #expect(!splits.isEmpty && splits.allSatisfy { $0.tp == 2 })
        let plan = try PipelinePlan(topology: ParallelismPlanner.split(wide, tp: 2))
        let half = wide.model.kvBytesPerTokenPerLayer / 2
        for stage in plan.stages {
            #expect(stage.memory.kvBytesPerToken == Int64(stage.layers) * (half / 2 + half))
        }
        // 1M tokens of LLM-72B-128K-GQA on 512 GB: tp 1 holds 3 layers' KV, 12 GiB; every model-parallel split
        // holds more (V whole on each device). So CENT's layout cannot run it, and the search says why.
        var long = try cent("llm-72b-128k-gqa-multifieldqa", [("micro_batches: 8", "micro_batches: 8\n  tp: 2")])
        long.model.maxContext = 1_048_576
        long.workload.context = .fixed(1_000_000)
        long.workload.maxContext = 1_000_032
        let none = ConfigurationSearch(topology: long, maxTP: 8)
        #expect(none.splits.isEmpty)
        #expect(none.problem?.contains("does not fit") == true, "\(none.problem ?? "")")
    }
}
