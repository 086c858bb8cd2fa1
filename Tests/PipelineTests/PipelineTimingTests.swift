@testable import Cluster
import PIMModule
@testable import Pipeline
import TestSupport
import Testing
import Workload

@Suite("Pipeline timing: ports, stages, host, plan")
struct PipelineTimingTests {
    let link = LinkSpec(bytesPerSecond: 16e9, latencyPs: 600_000)

    @Test("an uncontended transfer arrives after latency + bytes / bandwidth")
    func transfer() {
        var egress = Port(link: link), ingress = Port(link: link)
        let depart = egress.send(ready: 1_000, bytes: 16_000)  // 16 kB at 16 GB/s = 1 µs
        #expect(depart == 1_000)
        #expect(ingress.receive(depart: depart, bytes: 16_000) == 1_000 + 600_000 + 1_000_000)
    }

    @Test("back-to-back sends serialise on the egress port")
    func egressSerialises() {
        var egress = Port(link: link)
        #expect(egress.send(ready: 0, bytes: 16_000) == 0)
        #expect(egress.send(ready: 0, bytes: 16_000) == 1_000_000)
        #expect(egress.send(ready: 5_000_000, bytes: 16_000) == 5_000_000)
        #expect(egress.busy == 3_000_000)
        #expect(egress.bytes == 48_000)
        #expect(egress.messages == 3)
    }

    @Test("arrivals queue on the ingress port")
    func ingressSerialises() {
        var ingress = Port(link: link)
        let first = ingress.receive(depart: 0, bytes: 16_000)
        let second = ingress.receive(depart: 0, bytes: 16_000)
        #expect(second == first + 1_000_000)
    }

    @Test("channel-group tracks: spans inside their op, idle groups left out (head-first attention on 8 KV heads)")
    func channelTracks() throws {
        let yaml =
            minimalTopology.replacingOccurrences(of: "model: llm-7b-32k", with: "model: llm-7b-128k-gqa")
            + "\nfidelity: {level: command, scheduling: dcs, partitioning: hfp}\n"
        let topology = try TopologyLoader.parse(yaml: yaml, file: "t.yaml")
        let plan = try PipelinePlan(topology: topology)
        var stage = StageSimulator(plan: plan, stage: plan.stages[1])
        stage.timeline = []
        stage.channelGroups = 8
        _ = stage.handle(depart: 0, contexts: [30_000], payloadBytes: 8192)
        let events = stage.timeline!
        let ops = events.filter { $0.track == "module 1 ops" }
        let channels = events.filter { $0.track.hasPrefix("module 1 channels") }
        #expect(Set(channels.map(\.track)).count == 8)
        #expect(channels.contains { $0.track == "module 1 channels 28-31" })
        for span in channels {
            let op = try #require(ops.first { $0.name == span.name && $0.startPs == span.startPs })
            #expect(span.durationPs > 0 && span.durationPs <= op.durationPs)
            #expect(Double(span.args!["busy_percent"]!)! <= 100)
        }
        // One request × 8 KV heads, head-first: only channels 0-7 hold KV, so only groups 0 and 1 attend.
        let attending = Set(channels.filter { $0.name == OpKind.attentionScore.rawValue }.map(\.track))
        #expect(attending == ["module 1 channels 0-3", "module 1 channels 4-7"])
        #expect(channels.filter { $0.name == OpKind.ffn.rawValue }.count == 8)
    }

    @Test("a stage starts at max(arrival, module free) and adds its roofline cost")
    func stage() throws {
        let topology = try TopologyLoader.parse(yaml: minimalTopology, file: "t.yaml")
        let plan = try PipelinePlan(topology: topology)
        var stage = StageSimulator(plan: plan, stage: plan.stages[1])
        let cost = RooflineCostModel(module: topology.cluster.module).stageCost(
            step: DecodeStep(model: topology.model), layers: plan.stages[1].layers, contexts: [2049, 2049],
            includesLMHead: false)
        let bytes: Int64 = 2 * 8192
        let hop = topology.links.module.latencyPs + topology.links.module.transferTime(bytes: bytes)
        let a = stage.handle(depart: 0, contexts: [2049, 2049], payloadBytes: bytes)
        #expect(a.arrival == hop)
        #expect(a.start == hop)
        #expect(a.finish == hop + cost.total)
        #expect(a.depart == a.finish)
        // A second micro-batch arriving early waits for the module.
        let b = stage.handle(depart: 0, contexts: [2049, 2049], payloadBytes: bytes)
        #expect(b.start == a.finish)
        #expect(b.depart == b.finish)
        #expect(stage.stats.busyPs == 2 * cost.total)
        #expect(stage.stats.microBatches == 2)
        #expect(stage.stats.egress.bytes == 2 * bytes)
    }

    @Test("the host samples returned micro-batches one at a time")
    func host() throws {
        let topology = try TopologyLoader.parse(yaml: minimalTopology, file: "t.yaml")
        var host = HostModel(topology: topology)
        let bytes: Int64 = 16_000
        let arrival = 600_000 + 1_000_000
        let cost = topology.host.stepOverheadPs + 2 * topology.host.perRequestPs
        // The activation left the last stage at 0: its first bit is at the host after 600 ns, its last at 1.6 µs.
        let sent = Transit(readyPs: 0, headPs: 600_000, tailPs: 1_600_000)
        let first = host.complete(sent, payloadBytes: bytes, requests: 2)
        #expect(first == Int64(arrival) + cost)
        let second = host.complete(sent, payloadBytes: bytes, requests: 2)
        #expect(second == first + cost)
        #expect(host.busyPs == 2 * cost)
    }

    @Test("micro-batches cover every request once; splits sum to the layers")
    func plan() throws {
        for (requests, groups) in [(6, 3), (7, 3), (5, 5), (64, 7)] {
            let split = EvenSplit.sizes(requests, parts: groups)
            #expect(split.reduce(0, +) == requests)
            #expect(split.max()! - split.min()! <= 1)
        }
        for name in ModelConfig.presetNames {
            let model = ModelConfig.presets[name]!
            for stages in [1, 2, 8, 32] where stages <= model.layers {
                let split = PipelinePlan.balancedSplit(model: model, stages: stages, meanTokens: 14_000)
                #expect(split.count == stages)
                #expect(split.reduce(0, +) == model.layers)
                #expect(split.allSatisfy { $0 >= 1 })
            }
        }
        let topology = try TopologyLoader.parse(yaml: minimalTopology, file: "t.yaml")
        let p = try PipelinePlan(topology: topology)
        #expect(p.requests.map(\.id) == Array(0..<6))
        #expect(p.requests.allSatisfy { $0.promptTokens == 2048 && $0.outputTokens == 4 && $0.arrivalPs == 0 })
        #expect(p.generatedTokens == 6 * 4)
    }

    @Test("latency percentiles are nearest-rank on integers")
    func percentiles() {
        let s = LatencySummary(samples: Array(1...100).map { Picoseconds($0) })
        #expect(s.p50Ps == 50)
        #expect(s.p99Ps == 99)
        #expect(s.maxPs == 100)
        #expect(s.meanPs == 51)  // 50.5 rounds away from zero
        #expect(LatencySummary(samples: []).count == 0)
    }

    @Test("latency percentiles are quantiles of the samples within 1 %, and histograms merge exactly")
    func histogram() {
        var a = LatencyHistogram(), b = LatencyHistogram()
        for us in 1...1000 {
            if us % 2 == 0 { a.record(ns: Int64(us) * 1000) } else { b.record(ns: Int64(us) * 1000) }
        }
        a.merge(b)
        #expect(a.count == 1000)
        func close(_ value: Int64, _ expected: Double) -> Bool { abs(Double(value) - expected) <= 0.01 * expected }
        #expect(close(a.percentileNs(50), 500_000), "\(a.percentileNs(50))")
        #expect(close(a.percentileNs(99), 990_000), "\(a.percentileNs(99))")
        #expect(close(a.maxNs, 1_000_000))
        #expect(a.meanNs == 500_500)
        a.record(ns: -5)
        #expect(a.count == 1001 && LatencyHistogram().percentileNs(50) == 0)
    }

    @Test(
        "attention figures: attention operators' time and energy, a share of the whole; MAC utilisation: stages' mean"
    )
    func attentionFigures() throws {
        for level in ["roofline", "command"] {
            let yaml = minimalTopology + "\nfidelity: {level: \(level)}\n"
            let s = try SequentialRun(plan: PipelinePlan(topology: TopologyLoader.parse(yaml: yaml, file: "a.yaml")))
                .run().simulated
            let attentionOps = Set(OpKind.allCases.filter(\.isAttention).map(\.rawValue))
            #expect(attentionOps == ["kv_append", "attention_score", "softmax", "attention_value"])
            let time = s.stages.reduce(Int64(0)) { sum, stage in
                sum + stage.opTimePs.filter { attentionOps.contains($0.key) }.values.reduce(0, +)
            }
            #expect(s.attention.timePs == time && time > 0, "\(level)")
            let perToken = Double(time) / Double(s.stages.count) / Double(s.generatedTokens)
            #expect(abs(s.attention.timePerTokenPs - perToken) < 1e-6)
            #expect(s.attention.energy.totalJ > 0 && s.attention.energy.totalJ < s.energy.totalJ, "\(level)")
            #expect(s.attention.energy.macJ <= s.energy.macJ && s.attention.energy.backgroundJ < s.energy.backgroundJ)
            #expect(s.attention.backgroundFraction > 0 && s.attention.backgroundFraction < 1)
            #expect(abs(s.attention.energyPerTokenJ * Double(s.generatedTokens) - s.attention.energy.totalJ) < 1e-12)
            let mean = s.stages.map(\.macUtilisationFraction).reduce(0, +) / Double(s.stages.count)
            #expect(abs(s.macUtilisationFraction - mean) < 1e-12)
        }
    }
}
