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
/// arrival times in seconds (decimal, non-decreasing), positive token counts. `#` starts a comment line; there
/// is no quoting. The file is handed in line by line (`Reader`), so a trace of any length is read in constant
/// memory beyond its requests.
public enum RequestTrace {
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var field: String
        public var message: String

        public init(file: String, line: Int, field: String, message: String) {
            self.file = file
            self.line = line
            self.field = field
            self.message = message
        }

        public var description: String { "\(file):\(line): \(field.isEmpty ? "" : "\(field): ")\(message)" }
    }

    public static let header = ["arrival_s", "context_tokens", "output_tokens"]
    /// Ranges of a trace's fields (as the topology's `workload` has them, docs/TOPOLOGY.md "Accepted ranges").
    public static let maxArrivalSeconds: Double = 1e6
    public static let maxTokens = 16_777_216
    public static let maxRequests = 1_000_000

    /// Reads a trace one line at a time: `add` each line in file order, then `finish`.
    public struct Reader: Sendable {
        public let file: String
        private var lineNumber = 0
        private var sawHeader = false
        private var lastArrival = -1.0
        public private(set) var requests: [RequestSpec] = []

        public init(file: String) { self.file = file }

        /// The next line of the file (without its line end; a trailing CR is ignored).
        public mutating func add(_ raw: Substring) throws(ParseError) {
            lineNumber += 1
            let line = lineNumber
            let text = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard sawHeader else {
                guard fields == header else {
                    throw ParseError(
                        file: file, line: line, field: "",
                        message: "expected the header '\(header.joined(separator: ","))', "
                            + "found '\(trimmed.prefix(80))'")
                }
                sawHeader = true
                return
            }
            guard fields.count == 3 else {
                throw ParseError(file: file, line: line, field: "", message: "expected 3 fields, found \(fields.count)")
            }
            guard let arrival = RequestTrace.decimal(fields[0]), (0...maxArrivalSeconds).contains(arrival) else {
                throw ParseError(
                    file: file, line: line, field: "arrival_s",
                    message: "expected a time in seconds (a decimal number such as 0.0125 or 1e-3) ≥ 0 and at most "
                        + "\(Int(maxArrivalSeconds)), found '\(fields[0].prefix(40))'")
            }
            guard arrival >= lastArrival else {
                throw ParseError(
                    file: file, line: line, field: "arrival_s",
                    message: "arrivals must not decrease (\(fields[0]) after \(lastArrival))")
            }
            lastArrival = arrival
            let context = try tokens(fields[1], field: "context_tokens", line: line)
            let output = try tokens(fields[2], field: "output_tokens", line: line)
            guard requests.count < maxRequests else {
                throw ParseError(file: file, line: line, field: "", message: "more than \(maxRequests) requests")
            }
            requests.append(
                RequestSpec(
                    id: requests.count, arrivalPs: picoseconds(seconds: arrival),
                    promptTokens: context, outputTokens: output))
        }

        private func tokens(_ text: String, field: String, line: Int) throws(ParseError) -> Int {
            guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let n = Int(text),
                (1...maxTokens).contains(n)
            else {
                throw ParseError(
                    file: file, line: line, field: field,
                    message: "expected a positive number of tokens, at most \(maxTokens), "
                        + "found '\(text.prefix(40))'")
            }
            return n
        }

        /// The requests, once every line was added.
        public func finish() throws(ParseError) -> [RequestSpec] {
            guard sawHeader else {
                throw ParseError(
                    file: file, line: 1, field: "",
                    message: "empty trace: expected the header '\(header.joined(separator: ","))'")
            }
            guard !requests.isEmpty else {
                throw ParseError(file: file, line: 2, field: "", message: "the trace has no requests")
            }
            return requests
        }
    }

    /// A trace held as text (tests, small inputs): its lines through `Reader`.
    public static func parse(_ text: String, file: String) throws(ParseError) -> [RequestSpec] {
        var reader = Reader(file: file)
        // LF or CRLF (a String holds "\r\n" as one Character).
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            try reader.add(line)
        }
        return try reader.finish()
    }

    /// A decimal number as the trace format has it (`12`, `0.0125`, `1e-3`, `+5.`): digits, at most one point,
    /// an optional exponent; finite. Hexadecimal (`0x10`), `inf`, `nan` and the like are refused.
    public static func decimal(_ text: String) -> Double? {
        var bytes = Substring(text).utf8[...]
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let digit: (UInt8) -> Bool = { (0x30...0x39).contains($0) }
        let whole = bytes.prefix(while: digit)
        bytes = bytes.dropFirst(whole.count)
        var fraction = 0
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            fraction = bytes.prefix(while: digit).count
            bytes = bytes.dropFirst(fraction)
        }
        guard whole.count + fraction > 0 else { return nil }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                bytes = bytes.dropFirst()
            }
            let exponent = bytes.prefix(while: digit).count
            guard exponent > 0 else { return nil }
            bytes = bytes.dropFirst(exponent)
        }
        guard bytes.isEmpty, let value = Double(text), value.isFinite else { return nil }
        return value
    }
}
