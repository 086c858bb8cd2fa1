import ArgumentParser
import Cluster
import Foundation
import Pipeline
import Workload

/// `lolpim reference TOPOLOGY`: the topology's checkpoint decoded by the plain 32-bit reference (`ReferenceDecoder`),
/// one request after another, greedy (docs/CLI.md, "lolpim reference").
struct ReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "Decode a topology's checkpoint with the plain fp32 reference decoder (greedy or sampled, or teacher "
            + "forcing).",
        discussion: """
            The topology's model must be a checkpoint (model.checkpoint). Each request's prompt comes from \
            --prompts (JSON Lines) or is drawn, seeded, with the workload's prompt lengths; the reference feeds \
            it, then decodes the workload's output tokens greedily, or sampled with --top-k / --top-p (seeded), \
            or feeds a given continuation back. Writes \
            reference.json: each request's generated ids and a digest of every step's logits.
            """)

    @Argument(help: "Topology file (YAML) whose model is a checkpoint.")
    var topology: String

    @Option(help: "Directory for reference.json (default: results/<name>/reference).")
    var output: String?

    @OptionGroup var decoding: DecodingOptions

    var logits: String? { decoding.logits }

    func run() throws {
        let (topology, _) = try loadTopology(self.topology)
        guard let directory = topology.model.checkpoint else {
            printError("\(self.topology): model: the reference decodes a checkpoint; give model.checkpoint: DIR")
            throw ExitCode(2)
        }
        if let logits {
            try reportingFailures {
                try FileManager.default.createDirectory(atPath: logits, withIntermediateDirectories: true)
            }
        }
        // Each request's logits go to its .npy file as soon as it is decoded; only digests and ids are kept.
        let outcome: [Decoded] = try reportingFailures {
            do {
                let decoder = try ReferenceDecoder(checkpoint: HFCheckpoint(directory: directory))
                return try requests(topology).enumerated().map { i, r in
                    let (generated, all) = decoder.decode(
                        prompt: r.prompt, steps: r.steps, continuation: r.continuation,
                        sampling: decoding.sampling, request: i)
                    if let logits {
                        try LogitFiles.npy(all).write(to: URL(fileURLWithPath: logits + "/request-\(i).npy"))
                    }
                    return Decoded(prompt: r.prompt.count, generated: generated, digests: all.map(LogitFiles.digest))
                }
            } catch let error as ModelFileError {
                printError(error.description)
                throw ExitCode(2)
            }
        }
        let dir = output ?? "results/\(topology.name)/reference"
        try reportingFailures {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let json = try JSONSerialization.data(
                withJSONObject: [
                    "model": topology.model.name, "checkpoint": directory,
                    "requests": outcome.map {
                        ["prompt_tokens": $0.prompt, "generated": $0.generated, "logit_digests": $0.digests]
                    },
                ], options: [.prettyPrinted, .sortedKeys])
            try json.write(to: URL(fileURLWithPath: dir + "/reference.json"))
        }
        for (i, r) in outcome.enumerated() {
            print("request \(i): \(r.prompt) prompt tokens → " + r.generated.map(String.init).joined(separator: " "))
        }
        print("written: \(dir)/reference.json" + (logits.map { ", \($0)/request-*.npy" } ?? ""))
    }

    struct Decoded {
        var prompt: Int
        var generated: [Int]
        var digests: [String]
    }

    /// The requests: from --prompts, or seeded random ids (the workload's prompt lengths + 1) and output tokens.
    func requests(_ topology: Topology) throws -> [(prompt: [Int], continuation: [Int]?, steps: Int)] {
        let vocab = topology.model.vocab
        let plan = try PipelinePlan(topology: topology)
        if let file = try decoding.promptFile(vocab: vocab) {
            return file.requests.enumerated().map { i, r in
                let steps = r.continuation.map { $0.count } ?? plan.requests[i % plan.requests.count].outputTokens
                return (r.prompt, r.continuation, steps)
            }
        }
        // The ids a functional run of the topology draws: its prompt tokens of KV, then the first step's input.
        return zip(FunctionalHost.drawnPrompts(plan), plan.requests).map { ($0.prompt, nil, $1.outputTokens) }
    }
}
