import Foundation
import Workload

/// The host's side of a functional run: it embeds each request's tokens, chooses the next token from the logits the
/// last stage returns (greedy, or seeded top-k / top-p; or the prompt file's continuation under teacher forcing),
/// feeds it back, and at the end compares every step with the reference decoder fed the same tokens
/// (docs/MODEL.md, "Functional runs"; docs/RESULTS.md, "functional").
public struct FunctionalHost: Sendable {
    /// One request's tokens: the prompt (whose last token is the first decode step's input), the continuation
    /// to feed back instead of the chosen tokens, and what the run chose and saw.
    public struct Request: Sendable {
        public var prompt: [Int]
        public var continuation: [Int]?
        public var generated: [Int] = []
        public var logits: [[Float]] = []
        /// The token the next step feeds.
        var next: Int
    }

    public let arithmetic: FunctionalArithmetic
    public let sampling: Sampling
    public private(set) var requests: [Request]
    let hidden: Int
    let vocab: Int
    let embedding: [Float]
    var generators: [SplitMix64]

    /// Reads the embedding of the plan's checkpoint. `prompts` holds each request's ids (`promptTokens + 1` of
    /// them: the prompt's KV, then the first step's input); nil draws them, seeded by the topology's seed.
    public init(plan: PipelinePlan, prompts: PromptFile?, sampling: Sampling) throws {
        let topology = plan.topology
        guard let arithmetic = topology.fidelity.functional, let directory = topology.model.checkpoint else {
            throw FunctionalError("not a functional run: fidelity.functional and model.checkpoint are both needed")
        }
        let checkpoint = try HFCheckpoint(directory: directory)
        self.arithmetic = arithmetic
        self.sampling = sampling
        hidden = topology.model.hidden
        vocab = topology.model.vocab
        embedding = try checkpoint.read("model.embed_tokens.weight")
        let given = prompts?.requests ?? Self.drawnPrompts(plan)
        requests = plan.requests.indices.map { i in
            let r = given[i]
            return Request(prompt: r.prompt, continuation: r.continuation, next: r.prompt.last!)
        }
        generators = plan.requests.indices.map { sampling.generator(request: $0) }
    }

    /// Seeded random ids for every request of `plan`: `promptTokens + 1` each.
    public static func drawnPrompts(_ plan: PipelinePlan) -> [PromptFile.Request] {
        let vocab = plan.topology.model.vocab
        var rng = SplitMix64(seed: plan.topology.seed &+ 0x5EED_1D5)
        return plan.requests.map { r in
            PromptFile.Request(prompt: (0..<(r.promptTokens + 1)).map { _ in Int(rng.next() % UInt64(vocab)) })
        }
    }

    /// The topology with its requests taken from `prompts`: request i holds `prompt.count − 1` tokens of KV before
    /// its first step and decodes its continuation's length (else the workload's output length), all at time 0.
    public static func topology(_ topology: Topology, prompts: PromptFile) throws -> Topology {
        var t = topology
        let plan = try PipelinePlan(topology: topology)
        t.workload.trace = prompts.requests.enumerated().map { i, r in
            RequestSpec(
                id: i, arrivalPs: 0, promptTokens: r.prompt.count - 1,
                outputTokens: r.continuation?.count ?? plan.requests[i % plan.requests.count].outputTokens)
        }
        t.workload.requests = prompts.requests.count
        return t
    }

    /// The activation a micro-batch brings into stage 0: each entry's tokens embedded (`FunctionalStage.tokens`:
    /// the whole prompt on its first step), as stored values.
    public func inputs(_ entries: [MicroBatchHeader.Entry]) -> [[Float]] {
        entries.map { e in
            let r = requests[Int(e.request)]
            let ids = e.isFirst ? r.prompt : [r.next]
            return ids.flatMap { id in embedding[(id * hidden)..<((id + 1) * hidden)].map(arithmetic.stored) }
        }
    }

    /// The logits that came back for a micro-batch's entries: each request chooses (or is fed) its next token.
    public mutating func returned(_ entries: [MicroBatchHeader.Entry], logits: [[Float]]) {
        for (e, values) in zip(entries, logits) {
            let i = Int(e.request)
            let chosen = sampling.next(values, using: &generators[i])
            requests[i].generated.append(chosen)
            requests[i].logits.append(values)
            requests[i].next = requests[i].continuation?[requests[i].generated.count - 1] ?? chosen
        }
    }

    /// The `functional` section: every request's tokens and logit digests, against the reference decoder fed the
    /// same tokens (teacher-forced with what the run fed back, sampled with the same draws).
    public func results(reference: ReferenceDecoder?) -> FunctionalResults {
        var out: [FunctionalResults.Request] = []
        for (i, r) in requests.enumerated() {
            var entry = FunctionalResults.Request(
                promptTokens: r.prompt.count, generated: r.generated, logitDigests: r.logits.map(LogitFiles.digest))
            if let reference, !r.logits.isEmpty {
                let fed = r.continuation.map { Array($0.prefix(r.generated.count)) } ?? r.generated
                let run = reference.decode(
                    prompt: r.prompt, steps: r.logits.count, continuation: fed, sampling: sampling, request: i)
                entry.referenceGenerated = run.generated
                // Per step: the largest |logit − reference logit|, and the largest |reference logit|.
                let errors: [Double] = zip(r.logits, run.logits).map { a, b in
                    zip(a, b).map { Double(abs($0 - $1)) }.max() ?? 0
                }
                let scales: [Double] = run.logits.map { b in b.map { Double(abs($0)) }.max() ?? 0 }
                entry.maxAbsError = errors
                entry.maxRelError = zip(errors, scales).map { $1 > 0 ? $0 / $1 : 0 }
            }
            out.append(entry)
        }
        return FunctionalResults(arithmetic: arithmetic.rawValue, sampling: sampling, requests: out)
    }
}

/// The `functional` section of results.json (docs/RESULTS.md, "functional").
public struct FunctionalResults: Codable, Sendable, Equatable {
    public struct Request: Codable, Sendable, Equatable {
        /// Ids of the prompt (its last one is the first step's input).
        public var promptTokens: Int
        /// The token each step chose (under teacher forcing the continuation was fed back instead).
        public var generated: [Int]
        /// FNV-1a digest of each step's logits (`LogitFiles.digest`): equal digests, bit-identical logits.
        public var logitDigests: [String]
        /// What the reference decoder chose at each step, fed the same tokens.
        public var referenceGenerated: [Int]?
        /// Per step: the largest |logit − reference logit|.
        public var maxAbsError: [Double]?
        /// Per step: that error over the largest |reference logit|.
        public var maxRelError: [Double]?
    }

    public var arithmetic: String
    public var sampling: Sampling
    public var requests: [Request]

    /// Steps whose chosen token equals the reference's, over all steps that have a reference.
    public var tokenAgreement: (agree: Int, steps: Int) {
        var agree = 0, steps = 0
        for r in requests {
            guard let ref = r.referenceGenerated else { continue }
            steps += ref.count
            agree += zip(r.generated, ref).filter { $0 == $1 }.count
        }
        return (agree, steps)
    }

    /// The largest absolute logit error of any step.
    public var worstAbsError: Double { requests.compactMap { $0.maxAbsError?.max() }.max() ?? 0 }
}
