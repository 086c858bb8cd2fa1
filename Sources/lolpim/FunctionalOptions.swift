import ArgumentParser
import Cluster
import Foundation
import Pipeline
import Workload

/// What decodes real tokens, for `lolpim reference` and functional runs alike: the prompts, how each token is chosen
/// and where the logits go (docs/CLI.md §4 "Functional runs" and §20).
struct DecodingOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Prompts, JSON Lines: an array of token ids per line, or {\"prompt\": […], \"continuation\": […]} "
                + "(the continuation is fed back: teacher forcing)."))
    var prompts: String?

    @Option(help: "Sample from the k most likely tokens instead of taking the top one (seeded; see --seed).")
    var topK: Int?

    @Option(help: "Sample from the smallest set of tokens whose probability reaches p, in (0, 1] (after --top-k).")
    var topP: Double?

    @Option(help: "Seed of the sampling draws (with --top-k or --top-p).")
    var seed: UInt64 = 0

    @Option(help: "Also write every step's logits here, one NumPy .npy file per request (steps × vocab, float32).")
    var logits: String?

    var sampling: Sampling { Sampling(topK: topK, topP: topP, seed: seed) }

    func validate() throws {
        if let problem = sampling.problem { throw ValidationError(problem) }
    }

    /// The options given, by name.
    var given: [String] {
        [
            ("--prompts", prompts != nil), ("--top-k", topK != nil), ("--top-p", topP != nil),
            ("--logits", logits != nil),
        ]
        .filter(\.1).map(\.0)
    }

    /// The prompt file, read and checked against the vocabulary; nil without --prompts.
    func promptFile(vocab: Int) throws(ModelFileError) -> PromptFile? {
        try prompts.map { path throws(ModelFileError) in try PromptFile.read(path, vocab: vocab) }
    }

    /// The same options for another process's command line.
    var arguments: [String] {
        var out = ["--seed", "\(seed)"]
        if let prompts { out += ["--prompts", prompts] }
        if let topK { out += ["--top-k", "\(topK)"] }
        if let topP { out += ["--top-p", "\(topP)"] }
        if let logits { out += ["--logits", logits] }
        return out
    }
}

/// The options of a functional run (`lolpim run --functional`, and the coordinator process `lolpim run` starts):
/// docs/CLI.md, "Functional runs".
struct FunctionalOptions: ParsableArguments {
    @Flag(
        help: "Also compute the checkpoint's numbers through the cluster and decode real tokens (fidelity.functional).")
    var functional = false

    @Option(help: "With --functional: the arithmetic, aim (BF16 MAC16, the default) or fp32.")
    var arithmetic: FunctionalArithmetic?

    @OptionGroup var decoding: DecodingOptions

    /// A run as it goes: its topology (functional when asked or when the file says so; its requests taken from
    /// --prompts), its plan, and the prompt file read once.
    struct Applied {
        var topology: Topology
        var plan: PipelinePlan
        var prompts: PromptFile?
    }

    /// The run as the options make it; exits 2 with the file and line of a bad prompt file or a model that cannot
    /// run functionally, 64 for a functional option in a run that is not functional.
    func apply(_ loaded: (Topology, PipelinePlan)) throws -> Applied {
        var (topology, plan) = loaded
        guard functional || topology.fidelity.functional != nil else {
            let given = (arithmetic == nil ? [] : ["--arithmetic"]) + decoding.given
            guard let first = given.first else { return Applied(topology: topology, plan: plan) }
            printError("\(first) needs --functional (or fidelity.functional: true in the topology)")
            throw ExitCode(64)
        }
        if functional { topology.fidelity.functional = arithmetic ?? topology.fidelity.functional ?? .aim }
        if let problem = topology.fidelity.functionalProblem(model: topology.model, tp: topology.parallelism.tp) {
            printError("--functional: \(problem)")
            throw ExitCode(2)
        }
        do {
            let file = try decoding.promptFile(vocab: topology.model.vocab)
            if let file { topology = try FunctionalHost.topology(topology, prompts: file) }
            return Applied(topology: topology, plan: try PipelinePlan(topology: topology), prompts: file)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
    }

    /// What the launcher hands the coordinator of a functional run: the settings in memory (threads) and as
    /// options (processes: the coordinator reads the topology file again, so `--functional` goes with them).
    func launcherSettings(
        _ run: Applied
    ) -> (configure: @Sendable (inout CoordinatorOptions) -> Void, arguments: [String])? {
        guard run.topology.fidelity.functional != nil else { return nil }
        let file = run.prompts, sampling = decoding.sampling, logits = decoding.logits
        return (
            { options in
                options.prompts = file
                options.sampling = sampling
                options.logitsDirectory = logits
            },
            ["--functional"] + (arithmetic.map { ["--arithmetic", $0.rawValue] } ?? []) + decoding.arguments
        )
    }
}

extension FunctionalArithmetic: ExpressibleByArgument {}
