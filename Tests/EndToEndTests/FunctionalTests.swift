@testable import Cluster
import Foundation
import Pipeline
import Studies
import TestSupport
import Testing
import Workload

/// Functional runs (docs/MODEL.md, "Functional runs"): the tiny checkpoints decoded through the cluster, against
/// transformers' own logits (Tests/Fixtures, make-tiny-models.py) under teacher forcing, across splits,
/// partitionings and transports.
@Suite("Functional runs", .serialized)
struct FunctionalTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    struct Golden: Decodable {
        struct Case: Decodable {
            var prompt: [Int]
            var continuation: [Int]
            var logits: [[Float]]
        }
        var cases: [Case]
    }

    static func golden(_ name: String) throws -> Golden {
        try JSONDecoder().decode(
            Golden.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/\(name)/golden.json")))
    }

    /// The golden cases as a prompt file (teacher forcing).
    static func prompts(_ name: String) throws -> PromptFile {
        PromptFile(requests: try golden(name).cases.map { .init(prompt: $0.prompt, continuation: $0.continuation) })
    }

    static func yaml(_ name: String, modules: Int, tp: Int, partitioning: String, arithmetic: String) -> String {
        // CENT's partitioning runs on CENT's device at command level.
        let cent = partitioning == "cent"
        return """
            name: functional
            model: {checkpoint: \(fixtures)/\(name)}
            cluster: {modules: \(modules)\(cent ? ", preset: cent-32ch" : "")}
            parallelism: {tp: \(tp)}
            fidelity: {\(cent ? "level: command, " : "")functional: true, arithmetic: \(arithmetic), \
            partitioning: \(partitioning)}
            workload: {batch_size: 3, requests: 3, context: 8, decode_steps: 4}

            """
    }

    /// Runs `yaml` with the golden prompts of `name` over inproc, in this process; returns the functional section
    /// and every request's logits (steps × vocab).
    static func run(_ yaml: String, prompts: PromptFile, in dir: String) throws -> (FunctionalResults, [[[Float]]]) {
        let topology = try FunctionalHost.topology(TopologyLoader.parse(yaml: yaml, file: "f.yaml"), prompts: prompts)
        var launcher = Launcher(topologyFile: "f.yaml", transport: .inproc, outputDirectory: dir)
        launcher.progress = false
        let logits = dir + "/logits"
        launcher.functional = (
            { options in
                options.prompts = prompts
                options.logitsDirectory = logits
            }, []
        )
        let (results, _) = try launcher.run(plan: PipelinePlan(topology: topology))
        let section = try #require(results.functional)
        let all = try prompts.requests.indices.map { try npy(logits + "/request-\($0).npy") }
        return (section, all)
    }

    /// A float32 `.npy` file's rows.
    static func npy(_ path: String) throws -> [[Float]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        let shape = header.split(separator: "(")[1].split(separator: ")")[0].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let values = data[(10 + headerLength)...].withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
        return (0..<shape[0]).map { Array(values[($0 * shape[1])..<(($0 + 1) * shape[1])]) }
    }

    /// The fp32 path computes what the reference computes, in another order: the bound of ReferenceDecoderTests.
    static let fp32Bound: Float = 1e-3
    /// The AiM path rounds to BF16 (relative 2^-9) about 60 times in sequence per layer on a logit's path (GB
    /// writes, a MAC register rounding every 16 products, K/V and probabilities stored, residuals), about 250 times
    /// over the tiny models' 4 layers and LM head: to first order up to 250 × 2^-9 ≈ 0.49 of the logits' scale.
    static let aimRelativeBound: Float = 0.49

    @Test(
        "teacher-forced logits of both tiny checkpoints against transformers' (tp 2 × pp 2 token-parallel; CENT's)",
        arguments: ["tiny-llama-gqa", "tiny-qwen2"], FunctionalArithmetic.allCases)
    func againstTransformers(name: String, arithmetic: FunctionalArithmetic) throws {
        try againstTransformers(name: name, arithmetic: arithmetic, modules: 4, tp: 2, partitioning: "tcp")
        try againstTransformers(name: name, arithmetic: arithmetic, modules: 2, tp: 1, partitioning: "cent")
    }

    func againstTransformers(
        name: String, arithmetic: FunctionalArithmetic, modules: Int, tp: Int, partitioning: String
    ) throws {
        let dir = Harness.directory("functional-golden-\(name)-\(arithmetic)-\(partitioning)")
        let golden = try Self.golden(name)
        let (section, logits) = try Self.run(
            Self.yaml(name, modules: modules, tp: tp, partitioning: partitioning, arithmetic: arithmetic.rawValue),
            prompts: Self.prompts(name), in: dir)
        var worst: Float = 0, compared = 0
        for (c, run) in zip(golden.cases, logits) {
            #expect(run.count == c.continuation.count)
            for (j, (got, expected)) in zip(run, c.logits).enumerated() {
                let scale = expected.map(abs).max()!
                let bound = arithmetic == .fp32 ? Self.fp32Bound : Self.aimRelativeBound * scale
                let error = zip(got, expected).map { abs($0 - $1) }.max()!
                worst = max(worst, error / (arithmetic == .fp32 ? 1 : scale))
                #expect(error < bound, "\(name) \(arithmetic) step \(j): error \(error), bound \(bound)")
                let sorted = expected.sorted(by: >)
                if sorted[0] - sorted[1] > 2 * bound {
                    #expect(Sampling.argmax(got) == c.continuation[j], "\(name) \(arithmetic) step \(j)")
                    compared += 1
                }
            }
        }
        if arithmetic == .fp32 { #expect(compared > 40) }
        // The run's own comparison with the reference decoder agrees.
        let agreement = section.tokenAgreement
        #expect(agreement.steps == 48)
        if arithmetic == .fp32 { #expect(agreement.agree == 48 && section.worstAbsError < Double(Self.fp32Bound)) }
        let unit = arithmetic == .fp32 ? "absolute" : "of the scale"
        print(
            "\(name) \(arithmetic) \(partitioning): worst error \(worst) (\(unit)), "
                + "tokens \(agreement.agree)/\(agreement.steps) with the reference")
    }

    @Test("splits: pp leaves the logits bit-identical; tp and the partitioning change them within the stated bounds")
    func splits() throws {
        // Two of the golden cases, 8 steps each.
        let golden = try Self.prompts("tiny-llama-gqa").requests.prefix(2)
        let prompts = PromptFile(
            requests: golden.map { .init(prompt: $0.prompt, continuation: Array($0.continuation!.prefix(8))) })
        for arithmetic in FunctionalArithmetic.allCases {
            var digests: [String: [[String]]] = [:]
            var logits: [String: [[[Float]]]] = [:]
            for (modules, tp) in [(1, 1), (2, 1), (2, 2), (4, 2)] {
                for partitioning in ["tcp", "hfp"] {
                    let label = "\(arithmetic)-m\(modules)-tp\(tp)-\(partitioning)"
                    let (section, all) = try Self.run(
                        Self.yaml(
                            "tiny-llama-gqa", modules: modules, tp: tp, partitioning: partitioning,
                            arithmetic: arithmetic.rawValue),
                        prompts: prompts, in: Harness.directory("functional-\(label)"))
                    digests["tp\(tp)-\(partitioning)", default: []].append(
                        section.requests.map(\.logitDigests).flatMap { $0 })
                    logits[label] = all
                }
            }
            // The same tp and partitioning over 1 or 2 stages: the same arithmetic in the same order.
            for (key, runs) in digests { #expect(runs[0] == runs[1], "\(arithmetic) \(key): pp changed the logits") }
            // Any split against one module: within the arithmetic's bound.
            let base = logits["\(arithmetic)-m1-tp1-tcp"]!
            for (label, all) in logits {
                for (a, b) in zip(all.joined(), base.joined()) {
                    let scale = b.map(abs).max()!
                    let error = zip(a, b).map { abs($0 - $1) }.max()!
                    let bound = arithmetic == .fp32 ? Self.fp32Bound : Self.aimRelativeBound * scale
                    #expect(error < bound, "\(label): \(error) against one module")
                }
            }
        }
    }
    @Test("functional results are identical over inproc, ipc and tcp; the simulated section is the timing-only run's")
    func transports() throws {
        let dir = Harness.directory("functional-transports")
        let file = Harness.topology(
            Self.yaml("tiny-qwen2", modules: 4, tp: 2, partitioning: "tcp", arithmetic: "aim")
                .replacingOccurrences(of: "functional: true, arithmetic: aim, ", with: ""), in: dir)
        let timing = try Harness.run(
            ["run", file, "--transport", "inproc", "--output", dir + "/timing", "--quiet"], in: dir)
        #expect(timing.status == 0, "\(timing.stderr)")
        let expected = try Harness.results(in: dir + "/timing").simulatedSectionBytes()
        var sections: [Data] = []
        for transport in ["inproc", "ipc", "tcp"] {
            let out = dir + "/" + transport
            let run = try Harness.run(
                [
                    "run", file, "--transport", transport, "--output", out, "--quiet", "--functional", "--top-k", "5",
                    "--seed", "3",
                ], in: dir)
            #expect(run.status == 0, "\(transport): \(run.stderr)")
            let results = try Harness.results(in: out)
            #expect(try results.simulatedSectionBytes() == expected, "\(transport): the timing changed")
            let section = try #require(results.functional)
            #expect(section.sampling == Sampling(topK: 5, topP: nil, seed: 3))
            #expect(section.requests.count == 3 && section.requests.allSatisfy { $0.generated.count == 4 })
            sections.append(try RunResults.encoder.encode(section))
        }
        #expect(sections[0] == sections[1] && sections[1] == sections[2])
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("bad input: a prompt id outside the vocabulary, a model without a checkpoint, options without --functional")
    func badInput() throws {
        let dir = Harness.directory("functional-bad")
        let file = Harness.topology(
            Self.yaml("tiny-qwen2", modules: 2, tp: 1, partitioning: "tcp", arithmetic: "aim"), in: dir)
        try "[1, 2]\n[3, 256]\n".write(toFile: dir + "/bad.jsonl", atomically: true, encoding: .utf8)
        let bad = try Harness.run(["run", file, "--functional", "--prompts", dir + "/bad.jsonl"], in: dir)
        #expect(bad.status == 2 && bad.stderr.contains("bad.jsonl: line 2: prompt: token id 256"), "\(bad.stderr)")
        let plain = Harness.topology(
            "name: p\nmodel: llm-7b-32k\ncluster: {modules: 8}\n"
                + "workload: {batch_size: 1, context: 8, decode_steps: 4}\n", in: dir, name: "p.yaml")
        let none = try Harness.run(["run", plain, "--functional"], in: dir)
        #expect(none.status == 2 && none.stderr.contains("give model.checkpoint"), "\(none.stderr)")
        let inFile = Harness.topology(
            "name: p\nmodel: llm-7b-32k\ncluster: {modules: 8}\nfidelity: {functional: true}\n"
                + "workload: {batch_size: 1, context: 8, decode_steps: 4}\n", in: dir, name: "q.yaml")
        let yaml = try Harness.run(["validate", inFile], in: dir)
        #expect(yaml.status == 2 && yaml.stderr.contains("fidelity.functional"), "\(yaml.stderr)")
        let plainFile = Harness.topology(
            Self.yaml("tiny-qwen2", modules: 2, tp: 1, partitioning: "tcp", arithmetic: "aim")
                .replacingOccurrences(of: "functional: true, arithmetic: aim, ", with: ""), in: dir, name: "r.yaml")
        let orphan = try Harness.run(["run", plainFile, "--top-k", "3"], in: dir)
        #expect(orphan.status == 64 && orphan.stderr.contains("--top-k needs --functional"), "\(orphan.stderr)")
        // A topology that says functional: true takes the options without --functional.
        try "[1, 2, 3]\n".write(toFile: dir + "/good.jsonl", atomically: true, encoding: .utf8)
        let taken = try Harness.run(
            ["run", file, "--prompts", dir + "/good.jsonl", "--top-k", "3", "--output", dir + "/out", "--quiet"],
            in: dir)
        #expect(taken.status == 0, "\(taken.stderr)")
        #expect(try Harness.results(in: dir + "/out").functional?.requests.map(\.promptTokens) == [3])
    }

    @Test("a sweep of a functional topology (relative checkpoint path) fills the functional columns; report draws them")
    func sweepAndReport() throws {
        let dir = Harness.directory("functional-sweep")
        try? FileManager.default.createSymbolicLink(atPath: dir + "/fixtures", withDestinationPath: Self.fixtures)
        _ = Harness.topology(
            """
            name: s
            model: {checkpoint: fixtures/tiny-qwen2}
            cluster: {modules: 2}
            fidelity: {functional: true}
            workload: {batch_size: 2, requests: 2, context: 8, decode_steps: 2}

            """, in: dir, name: "base.yaml")
        try """
        base: base.yaml
        output: s.csv
        axes:
          workload.context: [8, 16]
          fidelity.partitioning: [tcp, hfp]

        """.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
        let sweep = try Harness.run(["sweep", dir + "/s.yaml", "--quiet"], in: dir, seconds: 120)
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let rows = try SweepCSV.rows(path: dir + "/s.csv")
        #expect(rows.count == 4 && rows.allSatisfy { $0["status"] == "ok" })
        for row in rows {
            for column in [
                "functional_max_abs_error", "functional_max_rel_error", "functional_token_agreement_fraction",
            ] {
                #expect(Double(row[column] ?? "").map { $0 >= 0 && $0 <= 1e3 } == true, "\(column): \(row)")
            }
        }
        let report = try Harness.run(["report", dir + "/s.csv", "--output", dir + "/report"], in: dir)
        #expect(report.status == 0, "\(report.stderr)")
        let svg = try String(contentsOfFile: dir + "/report/functional_max_rel_error.svg", encoding: .utf8)
        #expect(svg.contains("fidelity.partitioning=hfp") && svg.contains("fidelity.partitioning=tcp"))
    }
}
