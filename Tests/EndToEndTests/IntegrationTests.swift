@testable import Cluster
import Foundation
import PIMModule
import Pipeline
import TestSupport
import Testing
import Transport
import Workload

@Suite("Multi-process runs", .serialized)
struct IntegrationTests {
    /// Runs `yaml` over each transport, checks every run succeeded, and returns the results by transport
    /// after checking that their simulated sections are byte-identical to each other and to the
    /// single-threaded reference run.
    func runEverywhere(
        _ yaml: String, name: String, transports: [String] = ["inproc", "ipc", "tcp"]
    ) throws
        -> [String: RunResults]
    {
        let dir = Harness.directory(name)
        let file = Harness.topology(yaml, in: dir)
        var results: [String: RunResults] = [:]
        for transport in transports {
            let out = dir + "/" + transport
            let run = try Harness.run(["run", file, "--transport", transport, "--output", out, "--quiet"], in: dir)
            #expect(run.status == 0, "\(transport): \(run.stderr)")
            #expect(run.stdout.contains("tokens/s"))
            results[transport] = try Harness.results(in: out)
            #expect(results[transport]?.wallclock.transport == transport)
        }
        let reference = try SequentialRun(plan: PipelinePlan(topology: TopologyLoader.load(path: file))).run()
        let expected = try RunResults.encoder.encode(reference.simulated)
        for (transport, r) in results { #expect(try r.simulatedSectionBytes() == expected, "\(transport) differs") }
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
        return results
    }

    @Test("the simulated section is byte-identical over inproc, ipc and tcp")
    func determinism() throws {
        for results in try runEverywhere(determinismTopology, name: "determinism").values {
            #expect(results.complete)
            #expect(results.wallclock.workers == 4)
            #expect(results.simulated.generatedTokens == 6 * 8)
            #expect(results.simulated.stages.count == 4)
            #expect(results.simulated.stages.allSatisfy { $0.microBatches == 3 * 8 })
            #expect(results.simulated.links.count == 5)
        }
    }

    @Test("continuous batching with DPA and Poisson arrivals is deterministic across transports")
    func determinismContinuous() throws {
        let yaml = batchingTopology(batching: "continuous", allocation: "dpa", requests: 16, batch: 8)
        for results in try runEverywhere(yaml, name: "determinism-continuous").values {
            #expect(results.simulated.requests.finished == 16)
        }
    }

    @Test("tensor parallelism (tp 2 × pp 2, collectives between worker processes) is deterministic across transports")
    func determinismTensorParallel() throws {
        let yaml = determinismTopology.replacingOccurrences(of: "micro_batches: 3", with: "micro_batches: 3\n  tp: 2")
        for results in try runEverywhere(yaml, name: "determinism-tp").values {
            #expect(results.simulated.stages.count == 4)
            #expect(results.simulated.stages.allSatisfy { $0.tpBytesSent > 0 })
            #expect(results.simulated.links.contains { $0.name == "stage0.1->stage1.1" })
        }
        // The ring all-reduce, with its chunks only to each member's successor, likewise.
        let ring = yaml.replacingOccurrences(of: "  tp: 2", with: "  tp: 2\n  collective: ring")
        for results in try runEverywhere(ring, name: "determinism-ring").values {
            #expect(results.simulated.stages.allSatisfy { $0.tpBytesSent > 0 })
        }
    }

    @Test("with a network (2 nodes, tp 2 × pp 2, prompt KV over the NICs) results are identical over every transport")
    func determinismNetwork() throws {
        let yaml =
            determinismTopology.replacingOccurrences(of: "micro_batches: 3", with: "micro_batches: 3\n  tp: 2")
                + """

                network: {nodes: 2, nic: {bandwidth_gbit: 25}}
                """
        let transfer = yaml.replacingOccurrences(of: "decode_steps: 8", with: "decode_steps: 8\n  prefill_kv: transfer")
        for results in try runEverywhere(transfer, name: "determinism-network").values {
            let network = try #require(results.simulated.network)
            #expect(network.placement == [0, 1])
            #expect(network.sharedLinks.contains { $0.name == "node0.nic.out" && $0.bytes > 0 && $0.kvBytes > 0 })
            #expect(network.sharedLinks.contains { $0.name == "node1.nic.out" && $0.bytes > 0 })
            #expect(network.prefillWaitPs > 0)
        }
        // One group of 4 across the 2 nodes, all-reducing hierarchically over the NICs.
        let across =
            determinismTopology.replacingOccurrences(
                of: "micro_batches: 3", with: "micro_batches: 3\n  tp: 4\n  collective: hierarchical")
            + "\nnetwork: {nodes: 2}"
        for results in try runEverywhere(across, name: "determinism-network-tp").values {
            let network = try #require(results.simulated.network)
            #expect(network.sharedLinks.contains { $0.name == "node1.nic.out" && $0.bytes > 0 })
        }
    }

    @Test("results are byte-identical with a cold, a warm and no kernel store, over every transport")
    func kernelStore() throws {
        // Static scheduling exercises every kind of stored kernel (GEMVs, attention units, boundaries); shorter
        // contexts and 3 steps keep nine debug-build runs short.
        let yaml =
            determinismTopology.replacingOccurrences(of: "context: qmsum", with: "context: 3000")
            .replacingOccurrences(of: "decode_steps: 8", with: "decode_steps: 3")
            + "\nfidelity: {level: command, scheduling: static, partitioning: tcp}\n"
        let dir = Harness.directory("determinism-store")
        let file = Harness.topology(yaml, in: dir)
        let reference = try SequentialRun(plan: PipelinePlan(topology: TopologyLoader.load(path: file))).run()
        let expected = try RunResults.encoder.encode(reference.simulated)
        for transport in ["inproc", "ipc", "tcp"] {
            let store = dir + "/\(transport).sqlite"
            for (label, options) in [
                ("cold", ["--kernel-cache", store]), ("warm", ["--kernel-cache", store]),
                ("none", ["--no-kernel-cache"]),
            ] {
                let out = dir + "/\(transport)-\(label)"
                // Cold static kernels take seconds each in a debug build: a generous heartbeat time-out.
                let run = try Harness.run(
                    [
                        "run", file, "--transport", transport, "--output", out, "--quiet",
                        "--heartbeat-timeout", "60",
                    ] + options, in: dir, seconds: 300)
                #expect(run.status == 0, "\(transport) \(label): \(run.stderr)")
                let results = try Harness.results(in: out)
                #expect(try results.simulatedSectionBytes() == expected, "\(transport) \(label) differs")
                let w = results.wallclock
                switch label {
                case "cold": #expect(w.kernelStoreMisses > 0, "\(transport) cold")
                case "warm": #expect(w.kernelStoreHits > 0 && w.kernelStoreMisses == 0, "\(transport) warm")
                default: #expect(w.kernelStoreHits == 0 && w.kernelStoreMisses == 0, "\(transport) none")
                }
            }
        }
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("command fidelity is deterministic across transports too")
    func determinismCommand() throws {
        let yaml = determinismTopology + "\nfidelity: {level: command, scheduling: pingpong, partitioning: tcp}\n"
        for results in try runEverywhere(yaml, name: "determinism-command", transports: ["inproc", "ipc"]).values {
            #expect(results.topology.fidelity == "command")
            #expect(results.simulated.stages.allSatisfy { $0.commands["MAC16"]! > 0 && $0.energy.totalJ > 0 })
        }
    }

    @Test("--trace writes a valid Chrome-trace timeline: nested op spans, link spans, DPA instants, flow arrows")
    func timeline() throws {
        let dir = Harness.directory("trace")
        let file = Harness.topology(determinismTopology, in: dir)
        let trace = dir + "/run.trace.json"
        let run = try Harness.run(
            ["run", file, "--output", dir + "/out", "--quiet", "--trace", trace, "--trace-channels", "2"],
            in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let object =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: trace))) as? [String: Any]
        let events = try #require(object?["traceEvents"] as? [[String: Any]])
        let spans = events.filter { $0["ph"] as? String == "X" }
        #expect(
            spans.allSatisfy {
                ($0["ts"] as? Double ?? -1) >= 0 && ($0["dur"] as? Double ?? -1) >= 0 && $0["tid"] != nil
            })
        let names = Dictionary(
            uniqueKeysWithValues: events.filter { $0["name"] as? String == "thread_name" }
                .map { ($0["tid"] as! Int, ($0["args"] as! [String: Any])["name"] as! String) })
        #expect(Set(spans.map { $0["tid"] as! Int }).isSubset(of: Set(names.keys)))
        #expect(
            names.values.contains("module 0") && names.values.contains("module 3 ops") && names.values.contains("host"))
        #expect(names.values.contains("link from module 2"))
        #expect(names.values.contains("module 3 channels 0-15") && names.values.contains("module 3 channels 16-31"))
        // Every op span lies inside the module span of the same stage that starts at or before it.
        func track(_ e: [String: Any]) -> String { names[e["tid"] as! Int]! }
        let moduleSpans = spans.filter { track($0).hasPrefix("module") && track($0).split(separator: " ").count == 2 }
        let opSpans = spans.filter { track($0).hasSuffix("ops") }
        #expect(moduleSpans.count == 4 * 3 * 8)
        for op in opSpans.prefix(400) {
            let module = String(track(op).dropLast(4))
            let ts = op["ts"] as! Double, end = ts + (op["dur"] as! Double)
            #expect(
                moduleSpans.contains {
                    track($0) == module && ($0["ts"] as! Double) <= ts + 1e-6
                        && end <= ($0["ts"] as! Double) + ($0["dur"] as! Double) + 1e-6
                })
        }
        #expect(
            events.contains {
                $0["ph"] as? String == "i" && ($0["name"] as? String ?? "").hasPrefix("DPA request_start")
            })
        // Each micro-batch step's flow starts once and finishes once.
        let flows = Dictionary(grouping: events.filter { $0["cat"] as? String == "flow" }, by: { $0["id"] as! Int })
        #expect(flows.count == 3 * 8)
        #expect(
            flows.values.allSatisfy { f in
                f.filter { $0["ph"] as? String == "s" }.count == 1
                    && f.filter { $0["ph"] as? String == "f" }.count == 1
            })
    }

    @Test("one micro-batch through the pipeline takes exactly the closed-form time")
    func closedForm() throws {
        let yaml = """
            seed: 1
            model: llm-7b-32k
            cluster: {modules: 3}
            links:
              host: {bandwidth_gbps: 32, latency_ns: 1000}
              module: {bandwidth_gbps: 8, latency_ns: 500}
            parallelism: {micro_batches: 1, layers_per_stage: [10, 11, 11]}
            workload: {batch_size: 2, context: 4000, decode_steps: 5, host_intervention_ns: 0}
            host: {step_overhead_ns: 2000, per_request_ns: 300}
            """
        let topology = try TopologyLoader.parse(yaml: yaml, file: "closed.yaml")
        let plan = try PipelinePlan(topology: topology)
        let dir = Harness.directory("closed")
        let launcher = Launcher(topologyFile: "closed.yaml", transport: .inproc, outputDirectory: dir)
        var quiet = launcher
        quiet.progress = false
        let (results, _) = try quiet.run(plan: plan)

        let cost = RooflineCostModel(module: topology.cluster.module)
        let step = DecodeStep(model: topology.model)
        let bytes: Int64 = 2 * 4096 * 2
        let hostHop = topology.links.host.latencyPs + topology.links.host.transferTime(bytes: bytes)
        let moduleHop = topology.links.module.latencyPs + topology.links.module.transferTime(bytes: bytes)
        // Both prompts' KV (4000 tokens × the stage's layers) reach each module over its own host link, one
        // after the other; the first step can start when the slowest module has both.
        let kvReady = plan.stages.map { s -> Picoseconds in
            let one = topology.links.host.transferTime(bytes: 4000 * s.memory.kvBytesPerToken)
            return 2 * one + topology.links.host.latencyPs
        }.max()!
        var expected: Picoseconds = kvReady
        var latencies: [Picoseconds] = []
        for iteration in 0..<5 {
            let contexts = [4000 + iteration + 1, 4000 + iteration + 1]
            let compute = plan.stages.reduce(Picoseconds(0)) { sum, s in
                sum
                    + cost.stageCost(step: step, layers: s.layers, contexts: contexts, includesLMHead: s.includesLMHead)
                    .total
            }
            let stepTime = 2 * hostHop + 2 * moduleHop + compute + 2_000_000 + 2 * 300_000
            expected += stepTime
            latencies += [stepTime, stepTime]
        }
        #expect(results.simulated.makespanPs == expected)
        #expect(results.simulated.tokenLatency == LatencySummary(samples: latencies))
        #expect(results.simulated.generatedTokens == 10)
        #expect(abs(results.simulated.throughputTokensPerS - 10 / Time.seconds(expected)) < 1e-9)
        #expect(
            results.simulated.kv.prefillTransferBytes == 2 * 4000
                * plan.stages.reduce(0) { $0 + $1.memory.kvBytesPerToken })
        #expect(results.simulated.requests.finished == 2)
    }

    @Test("validate reports a located error and exits 2")
    func validateErrors() throws {
        let dir = Harness.directory("validate")
        let file = Harness.topology(
            minimalTopology.replacingOccurrences(of: "  modules: 4", with: "  modules: 4\n  banks: 16"),
            in: dir)
        let run = try Harness.run(["validate", file], in: dir)
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(file):6:3: cluster.banks: unknown key"))
        let ok = try Harness.run(
            ["validate", packageRoot.appendingPathComponent("Topologies/default.yaml").path], in: dir)
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("llm-7b-32k"))
    }

    @Test("a model that does not fit is refused before any process starts")
    func doesNotFit() throws {
        let dir = Harness.directory("nofit")
        let file = Harness.topology(
            minimalTopology.replacingOccurrences(of: "llm-7b-32k", with: "llm-72b-32k"), in: dir)
        let run = try Harness.run(["run", file, "--output", dir + "/out"], in: dir)
        #expect(run.status == 2)
        #expect(run.stderr.contains("does not fit"))
        #expect(run.stderr.contains("needs"))
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("a port already in use fails the run with a clear message")
    func portInUse() throws {
        let dir = Harness.directory("port")
        let file = Harness.topology(minimalTopology, in: dir)
        let context = try Context()
        let holder = try Socket(context, .pull)
        try holder.bind("tcp://127.0.0.1:*")
        let port = holder.lastEndpoint.split(separator: ":").last!
        let run = try Harness.run(
            ["run", file, "--transport", "tcp", "--port", String(port), "--output", dir + "/out"],
            in: dir, seconds: 30)
        #expect(run.status != 0)
        #expect(run.stderr.contains("Address already in use"))
        #expect(run.stderr.contains("tcp://127.0.0.1:\(port)"))
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("a worker that never registers: the coordinator gives up, names the ranks, keeps partial results")
    func neverRegisters() throws {
        let dir = Harness.directory("noworkers")
        let file = Harness.topology(minimalTopology, in: dir)
        let run = try Harness.run(
            [
                "coordinator", file, "--bind", "ipc://\(dir)/control.sock", "--output", dir + "/out",
                "--registration-timeout", "2", "--quiet",
            ], in: dir, seconds: 30)
        #expect(run.status == 1)
        #expect(run.stderr.contains("4 of 4 workers never registered within 2 s (missing ranks: 0, 1, 2, 3)"))
        let results = try Harness.results(in: dir + "/out")
        #expect(!results.complete)
        #expect(results.error?.contains("never registered") == true)
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("a peer of another protocol version is refused, by the coordinator and by a worker")
    func wrongVersion() throws {
        let setup = try Harness.startCoordinator(
            "version", minimalTopology, ["--registration-timeout", "3", "--quiet"])
        let (dir, control, coordinator) = (setup.dir, setup.control, setup.coordinator)
        let context = try Context()
        let fake = try Socket(context, .dealer)
        try fake.set(.receiveTimeout(5000))
        try fake.connect(control)
        var hello = WireCodec.encode(
            .hello(
                Hello(
                    rank: 0, dataEndpoint: "ipc://x", tpEndpoint: "ipc://y", hostname: "old", pid: 1,
                    software: "lolpim 0.0")))[0].bytes
        hello[4] = 99
        try fake.send(bytes: [hello])
        let reply = try #require(try fake.receive())
        guard case .error(let report) = try WireCodec.decode(reply) else {
            Issue.record("expected an error reply")
            return
        }
        #expect(report.message.contains("version 99"))
        let outcome = coordinator.wait(seconds: 30)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("refused"))
        #expect(outcome.stderr.contains("protocol version 99"))

        // A worker whose coordinator speaks another version exits with a message naming both versions.
        let router = try Socket(context, .router)
        try router.set(.receiveTimeout(10_000))
        try router.bind("ipc://\(dir)/fake.sock")
        let worker = try Harness.Running(
            [
                "worker", "--coordinator", "ipc://\(dir)/fake.sock", "--rank", "0",
                "--registration-timeout", "5",
            ], in: dir)
        let frames = try #require(try router.receive())
        var answer = WireCodec.encode(.heartbeat)[0].bytes
        answer[4] = 99
        try router.send(bytes: [frames[0].bytes, answer])
        let workerOutcome = worker.wait(seconds: 30)
        #expect(workerOutcome.status == 1)
        #expect(workerOutcome.stderr.contains("protocol version 99, this process speaks \(WireCodec.version)"))
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("a second worker claiming a taken rank is refused by name")
    func duplicateRank() throws {
        let setup = try Harness.startCoordinator(
            "duplicate", minimalTopology, ["--registration-timeout", "4", "--quiet"])
        let (dir, control, coordinator) = (setup.dir, setup.control, setup.coordinator)
        let first = try Harness.worker(rank: 0, control: control, in: dir)
        usleep(500_000)
        let second = try Harness.worker(rank: 0, control: control, in: dir)
        let refused = second.wait(seconds: 30)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("rank 0 is already registered by worker 0"))
        let outcome = coordinator.wait(seconds: 30)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("missing ranks: 1, 2, 3"))
        #expect(outcome.stderr.contains("rank already taken"))
        #expect(first.wait(seconds: 30).status != 0)
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("a worker drops what is not a lolpim message; an invalid lolpim message aborts the run, naming the worker")
    func garbageOnDataSocket() throws {
        let setup = try Harness.startCoordinator("garbage", longRunTopology, ["--quiet"])
        let (dir, control, coordinator) = (setup.dir, setup.control, setup.coordinator)
        let workers = try (0..<4).map { try Harness.worker(rank: $0, control: control, in: dir) }
        usleep(1_500_000)
        let context = try Context()
        let intruder = try Socket(context, .push)
        try intruder.connect("ipc://\(dir)/worker-2.sock")
        // Not a lolpim message at all: dropped, the run goes on.
        try intruder.send(bytes: [Array("definitely not a lolpim message".utf8)])
        usleep(1_000_000)
        #expect(coordinator.process.isRunning, "a stray client's bytes must not stop the run")
        // A lolpim header (version 5, microBatch) without its payload frame: the data stream is broken.
        try intruder.send(bytes: [
            Array("LPIM".utf8) + [
                UInt8(WireCodec.version & 0xFF), UInt8(WireCodec.version >> 8),
                WireMessage.Kind.microBatch.rawValue, 0,
            ]
        ])
        let outcome = coordinator.wait(seconds: 30)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("worker 2 refused a message on its data socket"))
        #expect(outcome.stderr.contains("microBatch message has 1 frames, expected 2"))
        let ended = workers.map { $0.wait(seconds: 30) }
        for worker in ended { #expect(worker.status != 0) }
        #expect(ended[2].stderr.contains("dropped a message on its data socket"))
        #expect(try !Harness.results(in: dir + "/out").complete)
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("garbage from an unknown peer on the control socket is refused and the results are unaffected")
    func garbageOnControlSocket() throws {
        let dir = Harness.directory("control-garbage")
        let file = Harness.topology(determinismTopology, in: dir)
        let reference = try Harness.run(
            ["run", file, "--transport", "inproc", "--output", dir + "/ref", "--quiet"], in: dir)
        #expect(reference.status == 0)
        let control = "ipc://\(dir)/control.sock"
        let coordinator = try Harness.coordinator(
            file, control: control, in: dir, ["--quiet", "--transport-label", "ipc"])
        let context = try Context()
        let stranger = try Socket(context, .dealer)
        try stranger.set(.receiveTimeout(5000))
        try stranger.connect(control)
        try stranger.send(bytes: [Array(repeating: 0xFF, count: 40)])
        let reply = try #require(try stranger.receive())
        guard case .error(let report) = try WireCodec.decode(reply) else {
            Issue.record("expected an error reply")
            return
        }
        #expect(report.message.contains("bad magic"))
        let workers = try (0..<4).map { try Harness.worker(rank: $0, control: control, in: dir) }
        #expect(coordinator.wait(seconds: 60).status == 0)
        for worker in workers { #expect(worker.wait(seconds: 30).status == 0) }
        let a = try Harness.results(in: dir + "/ref").simulatedSectionBytes()
        let b = try Harness.results(in: dir + "/out").simulatedSectionBytes()
        #expect(a == b)
    }

    @Test("a worker killed mid-run: the coordinator names it within the heartbeat time-out and keeps partial results")
    func workerKilled() throws {
        let setup = try Harness.startCoordinator(
            "killed-worker", longRunTopology, ["--quiet", "--heartbeat-timeout", "2"])
        let (dir, control, coordinator) = (setup.dir, setup.control, setup.coordinator)
        let workers = try (0..<4).map { try Harness.worker(rank: $0, control: control, in: dir) }
        usleep(1_500_000)
        kill(workers[2].process.processIdentifier, SIGKILL)
        let started = Date()
        let outcome = coordinator.wait(seconds: 30)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("worker 2 ("))
        #expect(outcome.stderr.contains("sent no heartbeat for 2 s"))
        let results = try Harness.results(in: dir + "/out")
        #expect(!results.complete)
        #expect(results.simulated.generatedTokens > 0)
        for (rank, worker) in workers.enumerated() where rank != 2 { #expect(worker.wait(seconds: 30).status != 0) }
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("the coordinator killed: every worker exits by itself within the heartbeat time-out")
    func coordinatorKilled() throws {
        let setup = try Harness.startCoordinator(
            "killed-coordinator", longRunTopology, ["--quiet", "--heartbeat-timeout", "2"])
        let (dir, control, coordinator) = (setup.dir, setup.control, setup.coordinator)
        let workers = try (0..<4).map { try Harness.worker(rank: $0, control: control, in: dir) }
        usleep(1_500_000)
        kill(coordinator.process.processIdentifier, SIGKILL)
        _ = coordinator.wait(seconds: 5)
        for worker in workers {
            let outcome = worker.wait(seconds: 15)
            #expect(outcome.status == 1)
            #expect(outcome.stderr.contains("sent nothing for 2 s"))
        }
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("Ctrl-C on lolpim run stops every process and keeps partial results")
    func interrupt() throws {
        let dir = Harness.directory("interrupt")
        let file = Harness.topology(longRunTopology, in: dir)
        let run = try Harness.Running(["run", file, "--output", dir + "/out", "--quiet"], in: dir)
        usleep(2_000_000)
        kill(run.process.processIdentifier, SIGINT)
        let outcome = run.wait(seconds: 30)
        #expect(outcome.status == 130)
        let results = try Harness.results(in: dir + "/out")
        #expect(!results.complete)
        #expect(results.simulated.generatedTokens > 0)
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
        // The workers' command lines name the launcher's private run directory, lolpim-<pid>-….
        #expect(Harness.leftovers(mentioning: "lolpim-\(run.process.processIdentifier)-").isEmpty)
    }

    @Test("a worker killed under lolpim run: the run names it, keeps partial results, exits 1, and the rest stop")
    func workerKilledUnderRun() throws {
        let dir = Harness.directory("run-killed-worker")
        let file = Harness.topology(longRunTopology, in: dir)
        let run = try Harness.Running(
            ["run", file, "--output", dir + "/out", "--quiet", "--heartbeat-timeout", "2"], in: dir)
        let runDirectory = "lolpim-\(run.process.processIdentifier)-"
        var victim: Int32?
        let deadline = Date(timeIntervalSinceNow: 20)
        while victim == nil && Date() < deadline {
            victim = Harness.processes(mentioning: runDirectory).first { pid in
                let line = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                return line.split(separator: "\0").contains("worker") && line.contains("\0--rank\0" + "2\0")
            }
            usleep(50_000)
        }
        let pid = try #require(victim, "worker 2 never started")
        usleep(1_000_000)
        kill(pid, SIGKILL)
        let outcome = run.wait(seconds: 30)
        #expect(outcome.status == 1)
        // The launcher saw it die: it names the signal and stops the coordinator without a heartbeat time-out.
        #expect(
            outcome.stderr.contains("worker 2 (rank 2, pid \(pid)) was killed by signal 9 (SIGKILL)"),
            "\(outcome.stderr)")
        // Named once by the coordinator (and in results.json) and once by the launcher; the workers stopped
        // because of it add nothing.
        #expect(!outcome.stderr.contains("interrupted"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("the coordinator was stopped 1 s after the first of them ended"))
        #expect(!outcome.stderr.contains("see its message above"))
        let results = try Harness.results(in: dir + "/out")
        #expect(!results.complete)
        #expect(results.error == "stopped: worker 2 (rank 2, pid \(pid)) was killed by signal 9 (SIGKILL)")
        #expect(Harness.leftovers(mentioning: runDirectory).isEmpty)
    }

    @Test("a launcher killed with SIGKILL: its workers and coordinator stop; the next run removes its directory")
    func launcherKilled() throws {
        let dir = Harness.directory("run-killed-launcher")
        let file = Harness.topology(longRunTopology, in: dir)
        let run = try Harness.Running(["run", file, "--output", dir + "/out", "--quiet"], in: dir)
        let runDirectory = "lolpim-\(run.process.processIdentifier)-"
        let deadline = Date(timeIntervalSinceNow: 20)
        while Harness.processes(mentioning: runDirectory).count < 5 && Date() < deadline { usleep(50_000) }
        #expect(Harness.processes(mentioning: runDirectory).count == 5, "a coordinator and four workers")
        usleep(500_000)
        kill(run.process.processIdentifier, SIGKILL)
        _ = run.wait(seconds: 10)
        // Nothing forwarded a signal: each child sees that its parent is gone.
        #expect(Harness.leftovers(mentioning: runDirectory, within: 10).isEmpty)
        let stale = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
            .filter { $0.hasPrefix(runDirectory) }
        #expect(!stale.isEmpty, "the killed launcher leaves its run directory")
        Launcher.removeStaleRunDirectories()
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
                .filter { $0.hasPrefix(runDirectory) }.isEmpty)
    }

    @Test("random bytes sent to every listening port of a tcp run are dropped; the run completes")
    func strangersIgnored() throws {
        let dir = Harness.directory("run-strangers")
        let file = Harness.topology(
            minimalTopology.replacingOccurrences(
                of: "decode_steps: 4",
                with: "decode_steps: 6000"),
            in: dir)
        let run = try Harness.Running(
            ["run", file, "--transport", "tcp", "--output", dir + "/out", "--quiet"], in: dir)
        // The launcher's children name it: `--parent-pid PID`.
        let children = "--parent-pid \(run.process.processIdentifier)"
        let deadline = Date(timeIntervalSinceNow: 20)
        var ports: [Int] = []
        while ports.count < 9 && Date() < deadline {  // the coordinator's two, two per worker
            usleep(100_000)
            ports = Harness.processes(mentioning: children).flatMap(Self.listeningPorts)
        }
        #expect(ports.count >= 9, "listening ports: \(ports)")
        var random = SplitMix64(seed: 11)
        for _ in 0..<3 {
            for port in ports {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                if connected == 0 {
                    let bytes = (0..<4096).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    usleep(20_000)
                }
                close(fd)
            }
        }
        let outcome = run.wait(seconds: 120)
        #expect(outcome.status == 0, "\(outcome.stderr.suffix(2000))")
        #expect(try Harness.results(in: dir + "/out").complete)
    }

    /// TCP ports process `pid` listens on (its sockets' inodes matched against /proc/net/tcp).
    static func listeningPorts(_ pid: Int32) -> [Int] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let inodes = Set(
            fds.compactMap { fd -> String? in
                guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                    link.hasPrefix("socket:[")
                else { return nil }
                return String(link.dropFirst(8).dropLast())
            })
        let table = (try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: " ")
            guard f.count > 9, f[3] == "0A", inodes.contains(String(f[9])),
                let port = f[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) })
            else { return nil }
            return port
        }
    }
}
