@testable import Cluster
import Foundation
import Pipeline
import TestSupport
import Testing
import Workload

/// Careless and hostile topology files: every one gets a located error, none traps (issue "Bad input never
/// crashes lolpim").
@Suite("Bad input: topology files")
struct BadInputTests {
    static let base = """
        model: llm-7b-32k
        cluster: {modules: 4}
        workload: {batch_size: 4, context: 4096, decode_steps: 8}
        """

    @Test(
        "numbers that would overflow are refused at their line, before anything is allocated",
        arguments: [
            ("decode_steps: 8", "decode_steps: 9223372036854775000", "workload.decode_steps"),
            ("decode_steps: 8", "decode_steps: 99999999999999999999999", "workload.decode_steps"),
            ("context: 4096", "context: 9223372036854775000", "workload.context"),
            ("decode_steps: 8", "decode_steps: 8, chunk_kib: 9007199254740992", "workload.chunk_kib"),
            ("modules: 4", "modules: 4, capacity_gib: 1e30", "cluster.capacity_gib"),
            ("modules: 4", "modules: 4, tck_ps: 1000000000000", "cluster.tck_ps"),
            ("modules: 4", "modules: 4, channels: 1000000000", "cluster.channels"),
            ("modules: 4", "modules: 100000", "cluster.modules"),
            ("batch_size: 4", "batch_size: 1000000000", "workload.batch_size"),
            ("batch_size: 4", "batch_size: 4, requests: 100000000", "workload.requests"),
            ("decode_steps: 8", "decode_steps: 8, host_intervention_ns: 1e30", "workload.host_intervention_ns"),
        ])
    func overflowingNumbers(from: String, to: String, field: String) {
        let error = parseError(Self.base.replacingOccurrences(of: from, with: to))
        #expect(error?.field == field)
        #expect(error?.line != nil)
        #expect(error?.message.contains("must be between") == true)
    }

    @Test(
        "links and latencies outside their ranges are refused",
        arguments: [
            ("links: {module: {latency_ns: 1e30}}", "links.module.latency_ns"),
            ("links: {module: {bandwidth_gbps: 1e-300}}", "links.module.bandwidth_gbps"),
            ("links: {host: {bandwidth_gbps: 1e300}}", "links.host.bandwidth_gbps"),
            ("host: {step_overhead_ns: 1e20}", "host.step_overhead_ns"),
        ])
    func linkRanges(section: String, field: String) {
        let error = parseError(Self.base + "\n" + section)
        #expect(error?.field == field)
        #expect(error?.line == 4)
    }

    @Test("a run longer than the simulated clock holds is refused, naming what dominates it")
    func simulatedTimeBudget() {
        let slowArrivals = parseError(
            Self.base.replacingOccurrences(
                of: "decode_steps: 8", with: "decode_steps: 8, requests: 1000, arrival: {poisson_per_s: 1e-6}"))
        #expect(slowArrivals?.field == "workload.arrival")
        #expect(slowArrivals?.message.contains("lolpim's clock allows") == true)
        let slowHost = parseError(
            Self.base.replacingOccurrences(
                of: "batch_size: 4, context: 4096", with: "batch_size: 64, requests: 1000000, context: 32000")
                + "\nlinks: {host: {bandwidth_gbps: 0.001}}")
        #expect(slowHost?.field == "links.host.bandwidth_gbps")
        // A long but representable run still loads.
        #expect(
            parseError(
                Self.base.replacingOccurrences(
                    of: "decode_steps: 8", with: "decode_steps: 8, requests: 100000, arrival: {poisson_per_s: 1}"))
                == nil)
    }

    @Test("a simulated clock past the budget stops the run with an error, not a trap")
    func clockCheck() throws {
        #expect(throws: Never.self) { try SimulatedTimeBudget.check(SimulatedTimeBudget.limitPs) }
        #expect(throws: SimulatedTimeLimitExceeded.self) {
            try SimulatedTimeBudget.check(SimulatedTimeBudget.limitPs + 1)
        }
    }

    @Test("YAML anchors and aliases are refused before anything expands")
    func aliases() {
        // Five levels of ten aliases each would expand to 100,000 values.
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...5 {
            let previous = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            yaml += "a\(level): &a\(level) [\(previous)]\n"
        }
        let error = parseError(yaml + Self.base)
        #expect(error?.line == 1)
        #expect(error?.message.contains("anchors and aliases") == true)
        let scalar = parseError("name: &n small\n" + Self.base)
        #expect(scalar?.line == 1)
        #expect(scalar?.message.contains("anchors and aliases") == true)
    }

    @Test(
        "a topology name is an identifier, never a path",
        arguments: [
            "../../escaped", "/etc/x", "a/b", ".hidden", "", "has space", "x\\e[31m", String(repeating: "n", count: 81),
        ])
    func names(name: String) {
        let error = parseError("name: \"\(name)\"\n" + Self.base)
        #expect(error?.field == "name")
        #expect(error?.description.contains("\u{1B}") == false)
    }

    @Test("a file name that is not an identifier gives a safe default name")
    func defaultName() throws {
        #expect(TopologyLoader.identifier(from: "my topo (2)") == "my-topo--2-")
        #expect(TopologyLoader.identifier(from: "..x") == "t..x")
        #expect(TopologyLoader.isIdentifier(TopologyLoader.identifier(from: "")))
        let topology = try TopologyLoader.parse(yaml: Self.base, file: "/tmp/odd name.yaml")
        #expect(topology.name == "odd-name")
    }

    @Test(
        "trace fields outside their ranges are refused at their line",
        arguments: [
            ("1e30,100,4", "arrival_s"), ("0,99999999999999999999,4", "context_tokens"), ("0,100,0", "output_tokens"),
            ("inf,100,4", "arrival_s"),
        ])
    func traceRanges(row: String, field: String) {
        #expect {
            _ = try RequestTrace.parse("arrival_s,context_tokens,output_tokens\n0,10,1\n\(row)\n", file: "t.csv")
        } throws: { error in
            guard let error = error as? RequestTrace.ParseError else { return false }
            return error.line == 3 && error.field == field
        }
    }

    @Test("error messages escape control characters and stay bounded")
    func escapedMessages() {
        let error = parseError(
            Self.base.replacingOccurrences(
                of: "llm-7b-32k",
                with: "\"x\\e[2J\\nlolpim: error: forged\""))
        let text = error?.description ?? ""
        #expect(!text.contains("\u{1B}") && !text.contains("\n"))
        let long = parseError(
            Self.base.replacingOccurrences(
                of: "llm-7b-32k",
                with: String(
                    repeating: "m",
                    count: 100_000)))
        #expect((long?.description.count ?? 0) < 3000)
    }

    @Test("docs/TOPOLOGY.md lists every accepted range")
    func rangesDocumented() throws {
        let doc = try String(contentsOf: packageRoot.appendingPathComponent("docs/TOPOLOGY.md"), encoding: .utf8)
        for limit in TopologyLimits.integers where !limit.key.isEmpty {
            #expect(doc.contains("`\(limit.key)`"), "docs/TOPOLOGY.md misses the range of \(limit.key)")
            #expect(
                doc.contains(
                    YAMLMapping.describe(limit.range).replacingOccurrences(of: "between ", with: "")
                        .replacingOccurrences(of: " and ", with: " … ")),
                "docs/TOPOLOGY.md misses \(limit.key)'s bounds")
        }
        // A key with a wildcard or a trace column stands for several keys or none; DocsTests checks each key.
        for limit in TopologyLimits.reals where !limit.key.contains("*") && !limit.key.contains(" ") {
            #expect(doc.contains("`\(limit.key)`"), "docs/TOPOLOGY.md misses the range of \(limit.key)")
        }
    }

    @Test("the sweep schema names exactly the keys the loader accepts, section by section")
    func schema() throws {
        // An unknown key in a section makes the loader list the keys it accepts there.
        let sections: [(path: String, yaml: String)] = [
            ("", Self.base + "\nzz: 1"),
            (
                "model",
                Self.base.replacingOccurrences(
                    of: "model: llm-7b-32k",
                    with: "model: {preset: llm-7b-32k, zz: 1}")
            ),
            ("cluster", Self.base.replacingOccurrences(of: "{modules: 4}", with: "{modules: 4, zz: 1}")),
            ("links", Self.base + "\nlinks: {zz: 1}"),
            ("links.host", Self.base + "\nlinks: {host: {zz: 1}}"),
            ("parallelism", Self.base + "\nparallelism: {zz: 1}"),
            ("workload", Self.base.replacingOccurrences(of: "decode_steps: 8}", with: "decode_steps: 8, zz: 1}")),
            (
                "workload.output_tokens",
                Self.base.replacingOccurrences(
                    of: "decode_steps: 8}", with: "output_tokens: {mean: 4, max: 8, zz: 1}}")
            ),
            (
                "workload.arrival",
                Self.base.replacingOccurrences(
                    of: "decode_steps: 8}", with: "decode_steps: 8, arrival: {poisson_per_s: 1, zz: 1}}")
            ),
            ("fidelity", Self.base + "\nfidelity: {zz: 1}"),
            ("host", Self.base + "\nhost: {zz: 1}"),
        ]
        for (path, yaml) in sections {
            let message = try #require(parseError(yaml)?.message, "\(path)")
            let listed = try #require(message.components(separatedBy: "expected one of: ").last)
            let accepted = Set(listed.components(separatedBy: ", ").map { path.isEmpty ? $0 : path + "." + $0 })
            let inSchema = TopologySchema.fields.filter { field in
                path.isEmpty
                    ? !field.contains(".")
                    : field.hasPrefix(path + ".") && !field.dropFirst(path.count + 1).contains(".")
            }
            #expect(accepted == inSchema, "section \(path.isEmpty ? "(root)" : path)")
        }
        #expect(TopologySchema.problem(with: "links.tp.latency_ns") == nil)
        #expect(TopologySchema.problem(with: "links.tp.latency") != nil)
    }

    /// Mutations of the shipped topologies and random documents: each either loads or fails with a
    /// `TopologyError` naming the file; none traps (a trap would end the test process).
    @Test("fuzz: mutated and random topology files get a located error, never a trap")
    func fuzz() throws {
        let directory = packageRoot.appendingPathComponent("Topologies")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }
            .sorted()
        let seeds = try files.map { try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8) }
        var random = SplitMix64(seed: 0xF022)
        let extremes = [
            "0", "-1", "9223372036854775807", "9223372036854775808", "1e30", "1e-300", "-0", ".nan",
            ".inf", "nan", "~", "", "[1, 2]", "{a: 1}", "&x 3", "*x", "'", "\"\\u0000\"", "1_", "0x10",
            "4096.5", "65536", "1048577", "\u{1B}[31m",
        ]
        var loaded = 0
        var refused = 0
        for index in 0..<2000 {
            let text: String
            if index % 5 == 4 {
                text = Self.randomDocument(&random, extremes: extremes)
            } else {
                text = Self.mutate(seeds[Int(random.next() % UInt64(seeds.count))], &random, extremes: extremes)
            }
            do {
                _ = try TopologyLoader.parse(yaml: text, file: "fuzz.yaml")
                loaded += 1
            } catch let error as TopologyError {
                #expect(error.description.hasPrefix("fuzz.yaml") || error.file.hasSuffix(".csv"), "\(error)")
                #expect(!error.message.isEmpty)
                refused += 1
            }
        }
        #expect(refused > 500, "the fuzzer should mostly produce bad files (\(loaded) loaded)")
    }

    static func mutate(_ text: String, _ random: inout SplitMix64, extremes: [String]) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<(1 + Int(random.next() % 3)) where !lines.isEmpty {
            let at = Int(random.next() % UInt64(lines.count))
            switch random.next() % 6 {
            case 0, 1:
                // Replace a value (after the first ':') with an extreme one.
                if let colon = lines[at].firstIndex(of: ":") {
                    lines[at] = lines[at][...colon] + " " + extremes[Int(random.next() % UInt64(extremes.count))]
                }
            case 2: lines.remove(at: at)
            case 3: lines.insert(lines[at], at: at)
            case 4:
                var scalars = Array(lines[at].unicodeScalars)
                if !scalars.isEmpty {
                    scalars[Int(random.next() % UInt64(scalars.count))] = Unicode.Scalar(UInt8(random.next() % 128))
                }
                lines[at] = String(String.UnicodeScalarView(scalars))
            default: lines[at] = "  " + lines[at]
            }
        }
        return lines.joined(separator: "\n")
    }

    static func randomDocument(_ random: inout SplitMix64, extremes: [String]) -> String {
        let keys = [
            "model", "cluster", "workload", "links", "parallelism", "fidelity", "host", "name", "seed",
            "modules", "batch_size", "context", "decode_steps", "tp", "preset", "x",
        ]
        var text = ""
        for _ in 0..<(1 + Int(random.next() % 8)) {
            let key = keys[Int(random.next() % UInt64(keys.count))]
            func pick(_ list: [String]) -> String { list[Int(random.next() % UInt64(list.count))] }
            let value = random.next() % 3 == 0 ? "{\(pick(keys)): \(pick(extremes))}" : pick(extremes)
            text += "\(key): \(value)\n"
        }
        return text
    }
}
