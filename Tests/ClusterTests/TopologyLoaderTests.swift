@testable import Cluster
import Foundation
import PIMModule
import Pipeline
import TestSupport
import Testing
import Workload

@Suite("Topology files")
struct TopologyLoaderTests {
    @Test(
        "every shipped topology validates",
        arguments: try! FileManager.default.contentsOfDirectory(
            atPath: packageRoot.appendingPathComponent("Topologies").path
        ).filter { $0.hasSuffix(".yaml") })
    func shipped(file: String) throws {
        let topology = try TopologyLoader.load(path: packageRoot.appendingPathComponent("Topologies/\(file)").path)
        let plan = try PipelinePlan(topology: topology)
        #expect(plan.stages.allSatisfy { $0.memory.fits(tokens: plan.requests.map(\.finalTokens).max()!) })
        #expect(plan.stages.map(\.layers).reduce(0, +) == topology.model.layers)
    }

    @Test("the default topology is llm-7b-32k on 8 PIM-only modules")
    func defaultTopology() throws {
        let t = try TopologyLoader.load(path: packageRoot.appendingPathComponent("Topologies/default.yaml").path)
        #expect(t.model == ModelConfig.presets["llm-7b-32k"])
        #expect(t.cluster.modules == 8)
        #expect(t.cluster.kind == .pimOnly)
    }

    @Test("defaults are filled and overrides applied")
    func defaultsAndOverrides() throws {
        let t = try TopologyLoader.parse(yaml: minimalTopology, file: "t.yaml")
        #expect(t.links.host == LinkSpec.cxlDefault)
        #expect(t.cluster.module == ModuleConfig.cent32)
        #expect(t.workload.context == .fixed(2048))
        #expect(t.fidelity.level == .roofline)
        let custom = try TopologyLoader.parse(
            yaml: minimalTopology.replacingOccurrences(
                of: "  modules: 4",
                with: """
                      modules: 4
                      preset: aimx-16ch
                      channels: 8
                      tck_ps: 1000
                      capacity_gib: 32
                    links:
                      module: {bandwidth_gbps: 64, latency_ns: 250}
                    """), file: "t.yaml")
        #expect(custom.cluster.module.channels == 8)
        #expect(custom.cluster.module.tCKps == 1000)
        #expect(custom.cluster.module.capacityBytes == 32 << 30)
        #expect(custom.links.module == LinkSpec(bytesPerSecond: 64e9, latencyPs: 250_000))
    }

    @Test("an explicit model needs every dimension")
    func explicitModel() throws {
        let yaml = minimalTopology.replacingOccurrences(
            of: "model: llm-7b-32k",
            with: """
                model:
                  name: tiny
                  layers: 8
                  hidden: 512
                  query_heads: 8
                  kv_heads: 8
                  head_dim: 64
                  ffn: 1024
                  vocab: 1000
                  max_context: 8192
                """)
        #expect(try TopologyLoader.parse(yaml: yaml, file: "t.yaml").model.hidden == 512)
        let missing = parseError(yaml.replacingOccurrences(of: "  ffn: 1024\n", with: ""))
        #expect(missing?.field == "model.ffn")
        #expect(missing?.message.contains("required") == true)
    }

    @Test("malformed YAML names the line")
    func malformed() {
        let error = parseError("name: x\ncluster: [modules: 4\nworkload: {")
        #expect(error?.line != nil)
        #expect(error?.description.hasPrefix("t.yaml:") == true)
        #expect(error?.message.contains("not valid YAML") == true)
    }

    @Test("unknown keys are refused with their line and the accepted keys")
    func unknownKey() {
        let error = parseError(
            minimalTopology.replacingOccurrences(of: "  modules: 4", with: "  modules: 4\n  chanels: 16"))
        #expect(error?.field == "cluster.chanels")
        #expect(error?.line == 6)
        #expect(error?.message.contains("channels") == true)
    }

    @Test("unknown presets list the known ones")
    func unknownPresets() {
        let model = parseError(minimalTopology.replacingOccurrences(of: "llm-7b-32k", with: "llm-13b"))
        #expect(model?.field == "model")
        #expect(model?.message.contains("llm-72b-32k") == true)
        let module = parseError(
            minimalTopology.replacingOccurrences(of: "  modules: 4", with: "  modules: 4\n  preset: hbm"))
        #expect(module?.field == "cluster.preset")
        let dataset = parseError(
            minimalTopology.replacingOccurrences(of: "context: 2048", with: "context: narrativeqa"))
        #expect(dataset?.field == "workload.context")
        #expect(dataset?.message.contains("qmsum") == true)
    }

    @Test(
        "zero, negative and non-numeric sizes are refused",
        arguments: [
            ("  modules: 4", "  modules: 0", "cluster.modules"),
            ("  batch_size: 6", "  batch_size: -2", "workload.batch_size"),
            ("  decode_steps: 4", "  decode_steps: many", "workload.decode_steps"),
            ("  modules: 4", "  modules: 4\n  tck_ps: 0", "cluster.tck_ps"),
            ("  modules: 4", "  modules: 4\nlinks:\n  host: {bandwidth_gbps: -1}", "links.host.bandwidth_gbps"),
        ])
    func badSizes(from: String, to: String, field: String) {
        let error = parseError(minimalTopology.replacingOccurrences(of: from, with: to))
        #expect(error?.field == field)
        #expect(error?.line != nil)
    }

    @Test("a model that does not fit is refused with needed and available memory")
    func doesNotFit() {
        // 72B weights alone need 33 GiB per module on 4 modules of 16 GiB.
        let weights = parseError(minimalTopology.replacingOccurrences(of: "llm-7b-32k", with: "llm-72b-32k"))
        #expect(weights?.field == "cluster.modules")
        #expect(weights?.message.contains("does not fit") == true)
        #expect(weights?.message.contains("but has 16.00 GiB") == true)
        #expect(weights?.line == 5)
        // On one module the 7B model (13.2 GiB of weights) has room for one request of 2052 tokens under DPA,
        // but static allocation reserves T_max = 32K tokens (16 GiB of KV) per request.
        let oneModule = minimalTopology.replacingOccurrences(of: "modules: 4", with: "modules: 1")
        #expect(parseError(oneModule) == nil)
        let reservation = parseError(
            oneModule.replacingOccurrences(of: "decode_steps: 4", with: "decode_steps: 4\n  allocation: static"))
        #expect(reservation?.field == "workload.context")
        #expect(reservation?.message.contains("reserved by static allocation (T_max)") == true)
    }

    @Test("workload options: outputs, arrivals, batching, allocation, traces")
    func workloadOptions() throws {
        let t = try TopologyLoader.parse(
            yaml: minimalTopology.replacingOccurrences(
                of: "  decode_steps: 4",
                with: """
                      output_tokens: {mean: 100, std: 20, min: 10, max: 200}
                      requests: 40
                      arrival: {poisson_per_s: 50}
                      batching: continuous
                      allocation: static
                      max_context: 8192
                      chunk_kib: 512
                    """), file: "t.yaml")
        #expect(t.workload.output == .normal(mean: 100, std: 20, min: 10, max: 200))
        #expect(t.workload.requests == 40)
        #expect(t.workload.arrival == .poisson(perSecond: 50))
        #expect(t.workload.batching == .continuous)
        #expect(t.workload.allocation == .static)
        #expect(t.workload.chunkBytes == 512 << 10)
        let both = parseError(
            minimalTopology.replacingOccurrences(of: "  decode_steps: 4", with: "  decode_steps: 4\n  output_tokens: 5")
        )
        #expect(both?.field == "workload.output_tokens")
        let tooLong = parseError(
            minimalTopology.replacingOccurrences(
                of: "  decode_steps: 4", with: "  decode_steps: 4\n  max_context: 2000"))
        #expect(tooLong?.field == "workload.context")
        let dir = NSTemporaryDirectory() + "lolpim-trace-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "arrival_s,context_tokens,output_tokens\n0,100,5\n0.001,200,x\n".write(
            toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        do {
            _ = try TopologyLoader.parse(
                yaml: minimalTopology.replacingOccurrences(of: "  context: 2048\n", with: "  trace: bad.csv\n"),
                file: dir + "/t.yaml")
            Issue.record("a bad trace was accepted")
        } catch let error as TopologyError {
            #expect(error.file == dir + "/bad.csv")
            #expect(error.line == 3)
            #expect(error.field == "output_tokens")
        }
    }

    @Test("partitioning cent: static scheduling by default; tp > 1, another scheduling and xpu-pim refused")
    func centPartitioning() throws {
        let base = """
            name: c
            model: llm-7b-128k-gqa
            cluster: {modules: 8}
            workload: {batch_size: 4, context: 1000, decode_steps: 4}

            """
        let ok = try TopologyLoader.parse(yaml: base + "fidelity: {level: command, partitioning: cent}\n", file: "t")
        #expect(ok.fidelity.partitioning == .cent && ok.fidelity.scheduling == .static)
        #expect(ok.fidelity.centMode == nil && ok.fidelity.centScoreMoves == .free)
        // CENT's model-parallel mode: a stage's modules share each block; tp need not divide the heads (8 KV heads
        // over tp 8 does, 28 query heads over 8 does not).
        let group = try TopologyLoader.parse(
            yaml: base + "fidelity: {level: command, partitioning: cent, cent_score_moves: costed}\n"
                + "parallelism: {tp: 8}\n", file: "t")
        #expect(group.parallelism.tp == 8 && group.fidelity.centScoreMoves == .costed)
        for (extra, words) in [
            ("fidelity: {level: command, partitioning: cent, scheduling: dcs}\n", "scheduling: static"),
            (
                "fidelity: {level: command, partitioning: cent, cent_mode: pipeline-parallel}\nparallelism: {tp: 2}\n",
                "parallelism.tp: 1"
            ),
            ("fidelity: {level: command, partitioning: cent, cent_mode: lockstep}\n", "pipeline-parallel"),
            ("fidelity: {level: command, partitioning: hfp, cent_mode: model-parallel}\n", "partitioning: cent only"),
            ("fidelity: {level: command, partitioning: tcp, cent_score_moves: free}\n", "partitioning: cent only"),
        ] {
            do {
                _ = try TopologyLoader.parse(yaml: base + extra, file: "t")
                Issue.record("accepted: \(extra)")
            } catch let error as TopologyError {
                #expect(error.message.contains(words), "\(error.message)")
                #expect(error.line != nil)
            }
        }
        let xpu = base.replacingOccurrences(of: "{modules: 8}", with: "{modules: 4, kind: xpu-pim}")
        #expect(throws: TopologyError.self) {
            try TopologyLoader.parse(yaml: xpu + "fidelity: {level: command, partitioning: cent}\n", file: "t")
        }
    }

    @Test("inconsistent parallelism is refused")
    func parallelism() {
        let tooMany = parseError(minimalTopology.replacingOccurrences(of: "micro_batches: 3", with: "micro_batches: 7"))
        #expect(tooMany?.field == "parallelism.micro_batches")
        let badSplit = parseError(
            minimalTopology.replacingOccurrences(
                of: "micro_batches: 3",
                with: "micro_batches: 3\n  layers_per_stage: [8, 8, 8]"))
        #expect(badSplit?.field == "parallelism.layers_per_stage")
        let stages = parseError(
            minimalTopology.replacingOccurrences(
                of: "micro_batches: 3",
                with: "micro_batches: 3\n  pipeline_stages: 2"))
        #expect(stages?.field == "parallelism.pipeline_stages")
        let longContext = parseError(minimalTopology.replacingOccurrences(of: "context: 2048", with: "context: 32768"))
        #expect(longContext?.field == "workload.context")
    }

    @Test("a missing file is a clear error")
    func missingFile() {
        #expect(throws: TopologyError.self) { try TopologyLoader.load(path: "/nonexistent/t.yaml") }
    }
}
