import ArgumentParser
import Cluster
import Foundation
import Pipeline
import Workload

/// The options of a functional run (`lolpim run --functional`, and the coordinator process `lolpim run` starts):
/// docs/CLI.md, "Functional runs".
struct FunctionalOptions: ParsableArguments {
    @Flag(
        help: "Also compute the checkpoint's numbers through the cluster and decode real tokens (fidelity.functional).")
    var functional = false

    @Option(help: "With --functional: the arithmetic, aim (BF16 MAC16, the default) or fp32.")
    var arithmetic: FunctionalArithmetic?

    @Option(
        help: ArgumentHelp(
            "With --functional: prompts, JSON Lines (an array of token ids per line, or {\"prompt\": […], "
                + "\"continuation\": […]}); the run's requests become these."))
    var prompts: String?

    @Option(help: "With --functional: sample from the k most likely tokens (seeded; see --seed).")
    var topK: Int?

    @Option(help: "With --functional: sample from the smallest set of tokens whose probability reaches p, in (0, 1].")
    var topP: Double?

    @Option(help: "With --functional: seed of the sampling draws.")
    var seed: UInt64 = 0

    @Option(help: "With --functional: write every step's logits here, one NumPy .npy file per request.")
    var logits: String?

    var sampling: Sampling { Sampling(topK: topK, topP: topP, seed: seed) }

    func validate() throws {
        if let problem = sampling.problem { throw ValidationError(problem) }
    }

    /// The functional options given (a run that is not functional refuses them).
    var given: [String] {
        [
            ("--arithmetic", arithmetic != nil), ("--prompts", prompts != nil), ("--top-k", topK != nil),
            ("--top-p", topP != nil), ("--logits", logits != nil),
        ].filter(\.1).map(\.0)
    }

    /// The topology as the run sees it: functional when asked (or when the file says so), its requests taken from
    /// --prompts; exits 2 with the file and line of a bad prompt file or a model that cannot run functionally.
    func apply(_ loaded: (Topology, PipelinePlan)) throws -> (Topology, PipelinePlan) {
        var (topology, plan) = loaded
        guard functional || topology.fidelity.functional != nil else {
            guard let first = given.first else { return loaded }
            printError("\(first) needs --functional (or fidelity.functional: true in the topology)")
            throw ExitCode(64)
        }
        if functional { topology.fidelity.functional = arithmetic ?? topology.fidelity.functional ?? .aim }
        if let problem = topology.fidelity.functionalProblem(model: topology.model, tp: topology.parallelism.tp) {
            printError("--functional: \(problem)")
            throw ExitCode(2)
        }
        do {
            if let file = try promptFile(vocab: topology.model.vocab) {
                topology = try FunctionalHost.topology(topology, prompts: file)
            }
            plan = try PipelinePlan(topology: topology)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        return (topology, plan)
    }

    func promptFile(vocab: Int) throws -> PromptFile? {
        guard let prompts else { return nil }
        guard let text = try? String(contentsOfFile: prompts, encoding: .utf8) else {
            throw ModelFileError(file: prompts, "cannot be read as UTF-8 text")
        }
        return try PromptFile.parse(text, file: prompts, vocab: vocab)
    }

    /// What the launcher hands the coordinator: the settings in memory (threads) and as options (processes).
    func launcherSettings(
        _ topology: Topology
    ) throws -> (configure: @Sendable (inout CoordinatorOptions) -> Void, arguments: [String])? {
        guard topology.fidelity.functional != nil else { return nil }
        let file = try reportingFailures { try promptFile(vocab: topology.model.vocab) }
        let sampling = sampling, logits = logits
        // The coordinator process reads the topology file again: `--functional` makes it functional in any case.
        var arguments = ["--functional", "--seed", "\(seed)"]
        if let arithmetic { arguments += ["--arithmetic", arithmetic.rawValue] }
        if let prompts { arguments += ["--prompts", prompts] }
        if let topK { arguments += ["--top-k", "\(topK)"] }
        if let topP { arguments += ["--top-p", "\(topP)"] }
        if let logits { arguments += ["--logits", logits] }
        return (
            { options in
                options.prompts = file
                options.sampling = sampling
                options.logitsDirectory = logits
            }, arguments
        )
    }
}

extension FunctionalArithmetic: ExpressibleByArgument {}
