import Foundation

/// One request of a workload: when it arrives, how long its prompt is, how many tokens it generates.
public struct RequestSpec: Sendable, Hashable, Codable {
    public var id: Int
    /// Arrival time, picoseconds from the start of the run.
    public var arrivalPs: Int64
    /// Tokens in the KV cache before the first decode step.
    public var promptTokens: Int
    /// Tokens it decodes.
    public var outputTokens: Int

    public init(id: Int, arrivalPs: Int64, promptTokens: Int, outputTokens: Int) {
        self.id = id
        self.arrivalPs = arrivalPs
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
    }

    public var finalTokens: Int { promptTokens + outputTokens }
}

/// How many tokens each request generates.
public enum OutputLength: Sendable, Hashable, Codable {
    case fixed(Int)
    /// Truncated normal, rounded to whole tokens, in [min, max].
    case normal(mean: Double, std: Double, min: Int, max: Int)

    public var maxLength: Int {
        switch self {
        case .fixed(let n): return n
        case .normal(_, _, _, let max): return max
        }
    }

    public var label: String {
        switch self {
        case .fixed(let n): return "\(n)"
        case .normal(let mean, let std, let min, let max): return "normal mean \(mean) std \(std) in \(min)…\(max)"
        }
    }
}

/// When requests arrive.
public enum ArrivalProcess: Sendable, Hashable, Codable {
    /// All at time zero (an offline batch).
    case offline
    /// A Poisson process of `perSecond` requests per second.
    case poisson(perSecond: Double)

    public var label: String {
        switch self {
        case .offline: return "offline (all at time 0)"
        case .poisson(let rate): return "Poisson \(rate) requests/s"
        }
    }
}

/// Builds the request list of a run, deterministically from a seed. Prompt lengths, output lengths and
/// arrival gaps use separate streams derived from the seed, so changing one does not reshuffle the others.
public enum RequestStream {
    public static func generate(
        count: Int, context: ContextSource, output: OutputLength, arrival: ArrivalProcess,
        seed: UInt64
    ) -> [RequestSpec] {
        let prompts = context.lengths(count: count, seed: seed)
        var outputs = SplitMix64(seed: (seed ^ 0x5EED_0000) &+ 1)
        var gaps = SplitMix64(seed: (seed ^ 0xA441_7A10) &+ 2)
        var time: Double = 0
        return (0..<count).map { i in
            let out: Int
            switch output {
            case .fixed(let n): out = n
            case .normal(let mean, let std, let min, let max):
                out =
                    Dataset(name: "output", mean: mean, std: std, min: min, max: max).sample(count: 1, using: &outputs)[
                        0]
            }
            switch arrival {
            case .offline: time = 0
            case .poisson(let rate):
                if i > 0 { time += -Foundation.log(1.0 - gaps.nextUnit()) / rate }
            }
            return RequestSpec(
                id: i, arrivalPs: picoseconds(seconds: time), promptTokens: prompts[i],
                outputTokens: out)
        }
    }
}

/// `seconds` as integer picoseconds, saturating at `Int64.max / 2` (about 53 days) instead of trapping: a run
/// that long is refused by the caller's budget check, which names the field.
func picoseconds(seconds: Double) -> Int64 {
    let ps = (seconds * 1e12).rounded()
    return ps < Double(Int64.max / 2) ? Int64(ps) : Int64.max / 2
}

/// A request trace file: CSV with the header `arrival_s,context_tokens,output_tokens`, one request per line,
/// arrival times in seconds (non-decreasing), positive token counts. `#` starts a comment line.
public enum RequestTrace {
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var field: String
        public var message: String
        public var description: String { "\(file):\(line): \(field.isEmpty ? "" : "\(field): ")\(message)" }
    }

    public static let header = ["arrival_s", "context_tokens", "output_tokens"]
    /// Ranges of a trace's fields (as the topology's `workload` has them, docs/TOPOLOGY.md "Accepted ranges").
    public static let maxArrivalSeconds: Double = 1e6
    public static let maxTokens = 16_777_216
    public static let maxRequests = 1_000_000

    public static func parse(_ text: String, file: String) throws -> [RequestSpec] {
        let table: CSVTable
        do {
            table = try CSVTable.parse(text, file: file, comments: true, strict: false)
        } catch {
            throw ParseError(
                file: file, line: error.line, field: "",
                message: "empty trace: expected the header '\(header.joined(separator: ","))'")
        }
        guard table.header == header else {
            throw ParseError(
                file: file, line: 1, field: "",
                message: "expected the header "
                    + "'\(header.joined(separator: ","))', "
                    + "found '\(table.header.joined(separator: ",").prefix(80))'")
        }
        var requests: [RequestSpec] = []
        var lastArrival = -1.0
        for row in table.rows {
            let line = row.line
            let fields = row.cells.map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 3 else {
                throw ParseError(file: file, line: line, field: "", message: "expected 3 fields, found \(fields.count)")
            }
            guard let arrival = Double(fields[0]), arrival.isFinite, (0...maxArrivalSeconds).contains(arrival) else {
                throw ParseError(
                    file: file, line: line, field: "arrival_s",
                    message: "expected a time in seconds ≥ 0 and at most \(Int(maxArrivalSeconds)), "
                        + "found '\(fields[0].prefix(40))'")
            }
            guard arrival >= lastArrival else {
                throw ParseError(
                    file: file, line: line, field: "arrival_s",
                    message: "arrivals must not decrease (\(fields[0]) after \(lastArrival))")
            }
            lastArrival = arrival
            guard let context = Int(fields[1]), (1...maxTokens).contains(context) else {
                throw ParseError(
                    file: file, line: line, field: "context_tokens",
                    message: "expected a positive number of tokens, at most \(maxTokens), "
                        + "found '\(fields[1].prefix(40))'")
            }
            guard let output = Int(fields[2]), (1...maxTokens).contains(output) else {
                throw ParseError(
                    file: file, line: line, field: "output_tokens",
                    message: "expected a positive number of tokens, at most \(maxTokens), "
                        + "found '\(fields[2].prefix(40))'")
            }
            guard requests.count < maxRequests else {
                throw ParseError(file: file, line: line, field: "", message: "more than \(maxRequests) requests")
            }
            requests.append(
                RequestSpec(
                    id: requests.count, arrivalPs: picoseconds(seconds: arrival),
                    promptTokens: context, outputTokens: output))
        }
        guard !requests.isEmpty else {
            throw ParseError(file: file, line: 2, field: "", message: "the trace has no requests")
        }
        return requests
    }
}
