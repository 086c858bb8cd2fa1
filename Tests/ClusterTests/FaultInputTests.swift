@testable import Cluster
import Foundation
import PIMModule
import Pipeline
import TestSupport
import Testing
import Workload

/// Issue 29, "Faults and bad input, second round": the input side, in process (files that could block a
/// reader, such as FIFOs, are in `FaultTests`, under the process harness's deadline).
@Suite("Faults and bad input, second round: inputs")
struct FaultInputTests {
    static func scratch(_ name: String) -> String { Harness.directory("fault-input-\(name)") }

    // MARK: One way to read an input file (items 6, 13)

    @Test("a directory, a device, a missing file and a non-UTF-8 file are named, before anything is read")
    func inputFileKinds() throws {
        let dir = Self.scratch("kinds")
        func problem(_ path: String) -> InputFileError? {
            do {
                _ = try InputFile.text(path, what: "topology file", maxBytes: 1 << 20)
                return nil
            } catch {
                return error
            }
        }
        #expect(problem(dir)?.message == "is a directory, not a topology file: give the path of a regular file")
        #expect(problem("/dev/zero")?.message.hasPrefix("is a character device, not a topology file") == true)
        #expect(problem("/dev/urandom")?.message.hasPrefix("is a character device") == true)
        #expect(problem(dir + "/none")?.message == "no such topology file")
        try Data([0x61, 0x0A, 0x62, 0x63, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: dir + "/latin1"))
        let latin = problem(dir + "/latin1")
        #expect(latin?.line == 2)
        #expect(latin?.message.contains("not UTF-8 text: byte 0xFF at column 3") == true)
        #expect(latin?.description.hasPrefix(dir + "/latin1:2: ") == true)
        // Too large: a sparse file of 4 GiB is refused from its size, without reading it.
        let huge = dir + "/huge"
        #expect(FileManager.default.createFile(atPath: huge, contents: nil))
        #expect(truncate(huge, 4 << 30) == 0)
        let started = ContinuousClock.now
        #expect(problem(huge)?.message == "the topology file is \(4 << 30) bytes; at most 1048576 (1 MiB) are read")
        #expect(ContinuousClock.now - started < .seconds(1))
        // Valid UTF-8 beyond ASCII passes.
        try "é → ✓ 𝄞\n".write(toFile: dir + "/utf8", atomically: true, encoding: .utf8)
        #expect(problem(dir + "/utf8") == nil)
    }

    @Test("the topology loader and its request trace use that reading: located messages, exit-worthy errors")
    func loaderInputs() throws {
        let dir = Self.scratch("loader")
        #expect {
            _ = try TopologyLoader.load(path: dir)
        } throws: { error in
            (error as? TopologyError)?.description == "\(dir): is a directory, not a topology file: give the path "
                + "of a regular file"
        }
        let base = "model: llm-7b-32k\ncluster: {modules: 4}\nworkload:\n  batch_size: 4\n  trace: TRACE\n"
        for (trace, fragment) in [
            ("/dev/zero", "workload.trace: /dev/zero: is a character device, not a request trace"),
            (dir, "workload.trace: \(dir): is a directory, not a request trace"),
            (dir + "/none.csv", "no such request trace"),
        ] {
            let file = Harness.topology(base.replacingOccurrences(of: "TRACE", with: trace), in: dir)
            #expect {
                _ = try TopologyLoader.load(path: file)
            } throws: { error in
                (error as? TopologyError).map { $0.description.contains(fragment) && $0.line == 5 } == true
            }
        }
        var bytes = Array("arrival_s,context_tokens,output_tokens\n0,100,4\n".utf8)
        bytes += [0x30, 0x2C, 0xE9, 0x2C, 0x34, 0x0A]  // "0,é,4" in Latin-1
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/latin1.csv"))
        let file = Harness.topology(base.replacingOccurrences(of: "TRACE", with: "latin1.csv"), in: dir)
        #expect {
            _ = try TopologyLoader.load(path: file)
        } throws: { error in
            (error as? TopologyError).map {
                $0.file == dir + "/latin1.csv" && $0.line == 3 && $0.message.contains("not UTF-8 text: byte 0xE9")
            } == true
        }
    }

    @Test("a request trace is read as a stream: a line too long and too many requests stop it at their line")
    func streamedTrace() throws {
        let dir = Self.scratch("stream")
        let header = "arrival_s,context_tokens,output_tokens\n"
        try (header + "0,100,4\n" + String(repeating: "#", count: 100_000) + "\n").write(
            toFile: dir + "/long.csv", atomically: true, encoding: .utf8)
        let base = "model: llm-7b-32k\ncluster: {modules: 4}\nworkload:\n  batch_size: 4\n  trace: TRACE\n"
        let long = Harness.topology(base.replacingOccurrences(of: "TRACE", with: "long.csv"), in: dir)
        #expect {
            _ = try TopologyLoader.load(path: long)
        } throws: { error in
            (error as? TopologyError).map { $0.line == 3 && $0.message.contains("longer than 65536 bytes") } == true
        }
        // One request more than the limit: refused at that line, after reading no further.
        var reader = RequestTrace.Reader(file: "t.csv")
        try reader.add(Substring(header.dropLast()))
        for _ in 0..<RequestTrace.maxRequests { try reader.add("0,1,1") }
        #expect(
            throws: RequestTrace.ParseError(
                file: "t.csv", line: RequestTrace.maxRequests + 2, field: "",
                message: "more than \(RequestTrace.maxRequests) requests")
        ) { try reader.add("0,1,1") }
    }

    @Test(
        "trace arrivals are decimal numbers: hexadecimal, inf and nan are refused at their field",
        arguments: ["0x10", "0X1p4", "inf", "nan", "1e", ".", "--1", "1..2", "１"])
    func decimalArrivals(arrival: String) {
        #expect {
            _ = try RequestTrace.parse("arrival_s,context_tokens,output_tokens\n\(arrival),100,4\n", file: "t.csv")
        } throws: { error in
            (error as? RequestTrace.ParseError).map { $0.line == 2 && $0.field == "arrival_s" } == true
        }
    }

    @Test(
        "decimal arrivals in their documented forms are read",
        arguments: [
            ("0", 0.0), ("12", 12), ("0.0125", 0.0125), ("1e-3", 0.001), ("+5.", 5), (".5", 0.5), ("2E+1", 20),
        ])
    func decimalForms(text: String, value: Double) {
        #expect(RequestTrace.decimal(text) == value)
    }

    @Test("LineReader: LF and CRLF, lines across chunk boundaries, a last line without LF, a bad line located")
    func lineReader() throws {
        let dir = Self.scratch("lines")
        let lines = (0..<5000).map { "line \($0) " + String(repeating: "x", count: $0 % 97) }
        for ending in ["\n", "\r\n"] {
            try lines.joined(separator: ending).write(toFile: dir + "/l.txt", atomically: true, encoding: .utf8)
            let reader = try LineReader(path: dir + "/l.txt")
            var read: [String] = []
            while let line = try reader.next() { read.append(String(line)) }
            #expect(read == lines)
            #expect(reader.lineNumber == lines.count)
        }
        try Data(Array("ok\nstill ok\n".utf8) + [0xC3, 0x28] + Array("\n".utf8)).write(
            to: URL(fileURLWithPath: dir + "/bad.txt"))
        let reader = try LineReader(path: dir + "/bad.txt", what: "AiM trace")
        #expect(try reader.next() == "ok")
        #expect(try reader.next() == "still ok")
        #expect(throws: InputFileError.self) { try reader.next() }
        do {
            _ = try LineReader(path: dir + "/bad.txt", what: "AiM trace").next()
        } catch {
            Issue.record("the first line is fine: \(error)")
        }
        #expect(
            throws: InputFileError(
                file: dir,
                message: "is a directory, not an AiM trace: give the path of a "
                    + "regular file")
        ) { try LineReader(path: dir, what: "AiM trace") }
    }

    @Test("an AiM trace replayed from disk through LineReader (LF or CRLF) takes the parsed trace's cycles")
    func replayFromDisk() throws {
        let text = "AiM WR_GB 32 0 0x1\nAiM MAC_ABK 1 0x1 0\nAiM RD_MAC 0 0x1\nAiM EOC\n"
        let model = AiMTraceReplay(timing: .gddr6AiM, refresh: false)
        let parsed = try model.parse(text, file: "t.aim")
        let expected = model.run(parsed.instructions).cycles
        let dir = Self.scratch("replay")
        for ending in ["\n", "\r\n"] {
            let path = dir + "/t.aim"
            try text.replacingOccurrences(of: "\n", with: ending).write(toFile: path, atomically: true, encoding: .utf8)
            let lines = try LineReader(path: path, what: "AiM trace")
            var reader = model.reader(file: path)
            let report = try model.run(next: { () throws -> AiMInstruction? in
                while let line = try lines.next() {
                    if let instruction = try reader.instruction(fromLine: line) { return instruction }
                }
                return nil
            })
            #expect(report.cycles == expected)
        }
    }

    // MARK: Endpoints (item 3)

    @Test(
        "tcp endpoints without a port or with one out of range are refused with a message, never a trap",
        arguments: [
            ("tcp://127.0.0.1", true), ("tcp://", true), ("tcp://:5700", true), ("tcp://127.0.0.1:", true),
            ("tcp://127.0.0.1:99999", true), ("tcp://127.0.0.1:-1", true), ("tcp://127.0.0.1:0x10", true),
            ("tcp://0.0.0.0:5700", true), ("tcp://*:5700", true), ("garbage", true), ("ipc://", true),
            ("tcp://127.0.0.1:*", false), ("tcp://127.0.0.1:0", false), ("ipc:///tmp/x.sock", false),
            ("inproc://x", false), ("tcp://node-1.example:5700", false),
        ])
    func bindEndpoints(endpoint: String, refused: Bool) {
        #expect((NetworkAddress.endpointProblem(endpoint, binding: true) != nil) == refused, "\(endpoint)")
    }

    @Test("connecting needs a real port; tcpParts never traps")
    func connectEndpoints() {
        #expect(NetworkAddress.endpointProblem("tcp://127.0.0.1:*", binding: false) != nil)
        #expect(NetworkAddress.endpointProblem("tcp://127.0.0.1:0", binding: false) != nil)
        #expect(NetworkAddress.endpointProblem("tcp://127.0.0.1:65535", binding: false) == nil)
        for text in ["tcp://", "tcp://:", "tcp://127.0.0.1", "tcp:/x:1", "tcp://[::1]", ":", ""] {
            _ = NetworkAddress.tcpParts(text)
        }
        #expect(NetworkAddress.tcpParts("tcp://127.0.0.1") == nil)
        #expect(NetworkAddress.tcpParts("tcp://h:5")?.host == "h")
    }

    // MARK: Hosts files (item 16)

    @Test("hosts files: a wildcard coordinator at its line; empty and non-UTF-8 files say what is wrong")
    func hostsFiles() throws {
        #expect(
            throws: InputFileError(
                file: "h", line: 2,
                message: "coordinator: '0.0.0.0' means every interface; give the address of one interface (the one "
                    + "other machines reach this one at)")
        ) { try HostsFile.parse("node1\ncoordinator 0.0.0.0\n", file: "h") }
        #expect(throws: InputFileError.self) { try HostsFile.parse("coordinator *\nnode1\n", file: "h") }
        let dir = Self.scratch("hosts")
        try "  \n\n".write(toFile: dir + "/empty", atomically: true, encoding: .utf8)
        #expect {
            _ = try HostsFile.load(path: dir + "/empty")
        } throws: { error in
            (error as? InputFileError)?.message.hasPrefix("the hosts file is empty") == true
        }
        try Data(Array("coordinator 10.0.0.1\n".utf8) + [0x6E, 0xF6, 0x0A]).write(to: URL(fileURLWithPath: dir + "/l1"))
        #expect {
            _ = try HostsFile.load(path: dir + "/l1")
        } throws: { error in
            (error as? InputFileError).map { $0.line == 2 && $0.message.contains("not UTF-8") } == true
        }
        #expect {
            _ = try HostsFile.load(path: "/dev/zero")
        } throws: { error in
            (error as? InputFileError)?.message.hasPrefix("is a character device, not a hosts file") == true
        }
    }

    /// Random and mutated hosts files: each parses or fails with a located `InputFileError`; none traps.
    @Test("fuzz: hosts files get a located error or a placement, never a trap")
    func hostsFuzz() throws {
        var random = SplitMix64(seed: 0x4057)
        let words = [
            "coordinator", "10.0.0.1", "0.0.0.0", "*", "node1", "node2", "workers=2", "workers=0", "workers=-1",
            "workers=99999999999999999999", "ranks=0-3", "ranks=3-0", "ranks=-", "ranks=5", "ranks=0-99999999999",
            "address=10.0.0.2", "address=x", "=", "a=b=c", "#", "\u{1B}[31m", "", "ranks=1-", "workers=",
        ]
        for _ in 0..<3000 {
            let lines = (0..<Int(random.next() % 6)).map { _ in
                (0..<Int(random.next() % 4)).map { _ in words[Int(random.next() % UInt64(words.count))] }
                    .joined(separator: " ")
            }
            do {
                let file = try HostsFile.parse(lines.joined(separator: "\n"), file: "fuzz")
                _ = try file.assign(workers: 1 + Int(random.next() % 8))
            } catch let error as InputFileError {
                #expect(error.file == "fuzz" && !error.message.isEmpty)
            }
        }
        // Files read from disk, their bytes mutated (any byte, UTF-8 or not; cut anywhere).
        let dir = Harness.directory("hosts-fuzz")
        let valid = Array("coordinator 10.0.0.1\nnode1 workers=2 address=10.0.0.2\nnode2 ranks=3-4\n".utf8)
        for index in 0..<300 {
            var bytes = valid
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let at = Int(random.next() % UInt64(bytes.count))
                if random.next() % 2 == 0 {
                    bytes[at] = UInt8(random.next() % 256)
                } else {
                    bytes.removeSubrange(at..<min(bytes.count, at + Int(random.next() % 12)))
                }
                if bytes.isEmpty { break }
            }
            let path = dir + "/h\(index)"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let file = try HostsFile.load(path: path)
                _ = try file.assign(workers: 1 + Int(random.next() % 8))
            } catch let error as InputFileError {
                #expect(error.file == path && !error.message.isEmpty, "\(error)")
            }
        }
    }

    // MARK: Misplaced keys (item 15)

    @Test("a duplicate YAML key is located at its second appearance and says so")
    func duplicateKeys() {
        let error = parseError("model: llm-7b-32k\ncluster:\n  modules: 4\n  modules: 8\nworkload: {batch_size: 4}\n")
        #expect(error?.line == 4)
        #expect(error?.column == 3)
        #expect(error?.field == "modules")
        #expect(error?.message.hasPrefix("key appears twice") == true)
        #expect((error?.description.count ?? 0) < 200)
        let root = parseError("model: llm-7b-32k\nmodel: llm-7b-32k\n")
        #expect(root?.line == 2)
        #expect(
            root?.description == "t.yaml:2:1: model: key appears twice in one mapping (first at line 1); keep one "
                + "of them")
    }

    @Test(
        "a misspelt key is named with its line and the nearest known key, not reported as a missing one",
        arguments: [
            ("cluster:\n  modueles: 4", 2, "cluster.modueles", "did you mean 'modules'?"),
            ("clustre:\n  modules: 4", 1, "clustre", "did you mean 'cluster'?"),
            ("cluster:\n  modules: 4\n  chanels: 8", 3, "cluster.chanels", "did you mean 'channels'?"),
        ])
    func misspeltKeys(cluster: String, line: Int, field: String, hint: String) {
        let yaml = "model: llm-7b-32k\n\(cluster)\nworkload: {batch_size: 4, context: 4096, decode_steps: 8}\n"
        let error = parseError(yaml)
        #expect(error?.field == field)
        #expect(error?.line == line + 1)
        #expect(error?.message.contains(hint) == true, "\(String(describing: error))")
    }

    @Test("edit distance and the nearest key")
    func nearest() {
        #expect(YAMLMapping.editDistance("modueles", "modules") == 1)
        #expect(YAMLMapping.editDistance("chanels", "channels") == 1)
        #expect(YAMLMapping.editDistance("ab", "ba") == 1)
        #expect(YAMLMapping.nearest("worklaod", among: ["workload", "model"]) == "workload")
        #expect(YAMLMapping.nearest("zz", among: ["workload", "model"]) == nil)
    }

    // MARK: results.json (items 11, 12)

    /// A real results.json of a small run (threads of this process).
    static let sample: [UInt8] = {
        let dir = Harness.directory("fault-results")
        let file = Harness.topology(minimalTopology, in: dir)
        var launcher = Launcher(topologyFile: file, transport: .inproc, outputDirectory: dir + "/out")
        launcher.progress = false
        _ = try! launcher.run(plan: PipelinePlan(topology: TopologyLoader.load(path: file)))
        return Array(try! Data(contentsOf: URL(fileURLWithPath: dir + "/out/results.json")))
    }()

    /// `sample` with the first `"key": value` of `key` given another value.
    static func sample(_ key: String, _ value: String) -> [UInt8] {
        let text = String(decoding: sample, as: UTF8.self)
        guard let range = text.range(of: "\"\(key)\" : ") else { return sample }
        let end = text[range.upperBound...].firstIndex { $0 == "," || $0 == "\n" } ?? text.endIndex
        return Array(text.replacingCharacters(in: range.upperBound..<end, with: value).utf8)
    }

    static func decodeError(_ bytes: [UInt8]) -> TopologyError? {
        do {
            _ = try RunResults.decode(bytes, file: "r.json")
            return nil
        } catch let error as TopologyError {
            return error
        } catch {
            Issue.record("not a located error: \(error)")
            return nil
        }
    }

    @Test("a sample results.json decodes, and the checks keep its values")
    func sampleDecodes() throws {
        let results = try RunResults.decode(Self.sample, file: "r.json")
        #expect(results.complete)
        #expect(try results.simulatedSectionBytes() == RunResults.decode(Data(Self.sample)).simulatedSectionBytes())
        // The seed is a label: any the topology accepts, beyond 2^62 too.
        let seeded = try RunResults.decode(Self.sample("seed", "9223372036854775807"), file: "r.json")
        #expect(seeded.topology.seed == 9_223_372_036_854_775_807)
    }

    @Test(
        "out-of-range values in results.json are named with their field and line, not called invalid JSON",
        arguments: [
            ("makespan_ps", "-1", "simulated.makespan_ps", "between 0 and 2^62"),
            ("makespan_ps", "1e308", "simulated.makespan_ps", "between 0 and 2^62"),
            ("makespan_ps", "1" + String(repeating: "0", count: 400), "simulated.makespan_ps", "between 0 and 2^62"),
            ("makespan_ps", "9223372036854775807", "simulated.makespan_ps", "between 0 and 2^62"),
            ("throughput_tokens_per_s", "1.7e308", "simulated.throughput_tokens_per_s", "between 0 and 2^62"),
            ("makespan_ps", "1.5", "simulated.makespan_ps", "expected a whole number, found 1.5"),
            ("generated_tokens", "\"many\"", "simulated.generated_tokens", "expected a whole number"),
            ("complete", "1", "complete", "expected true or false"),
        ])
    func outOfRange(key: String, value: String, field: String, fragment: String) throws {
        let error = Self.decodeError(Self.sample(key, value))
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.message.contains(fragment) == true, "\(String(describing: error))")
        #expect(error?.line.map { $0 > 1 } == true)
        #expect(error?.description.hasPrefix("r.json:") == true)
    }

    @Test("a results.json of another schema, of no schema, or not JSON at all, is refused saying so")
    func schema() {
        let other = Self.decodeError(Self.sample("schema", "\"lolpim-results/999\""))
        #expect(other?.field == "schema")
        #expect(other?.message.contains("\"lolpim-results/999\", but this lolpim reads lolpim-results/1") == true)
        let none = Self.decodeError(Array("{\"complete\": true}".utf8))
        #expect(none?.field == "schema")
        let broken = Self.decodeError(Array("{\n  \"schema\": \"lolpim-results/1\",\n  \"x\": [1, 2,\n".utf8))
        #expect(broken?.line == 4)
        #expect(broken?.message.hasPrefix("not valid JSON") == true)
        let deep = Self.decodeError(Array((String(repeating: "[", count: 100_000)).utf8))
        #expect(deep?.message.contains("nested deeper") == true)
    }

    /// Mutations of a real results.json: each decodes or fails with a `TopologyError` naming the file; none
    /// traps (a trap would end the test process).
    @Test("fuzz: mutated results.json files get a located error, never a trap")
    func resultsFuzz() {
        var random = SplitMix64(seed: 0x2E5)
        let text = Self.sample
        let extremes = [
            "-1", "0", "1e308", "-1e308", "1.5", "9223372036854775807", "18446744073709551616", "1e-320", "\"x\"",
            "null", "true", "[]", "{}", "[1,", "\"", "nan", "Infinity", "01", "-0",
            "1" + String(repeating: "9", count: 30),
        ]
        var refused = 0
        for _ in 0..<400 {
            var bytes = text
            for _ in 0..<(1 + Int(random.next() % 3)) {
                switch random.next() % 3 {
                case 0:
                    // Replace a number with an extreme value.
                    let digits = bytes.indices.filter { (0x30...0x39).contains(bytes[$0]) }
                    guard let at = digits.isEmpty ? nil : digits[Int(random.next() % UInt64(digits.count))] else {
                        continue
                    }
                    var end = at
                    while end < bytes.count, "0123456789.e+-".utf8.contains(bytes[end]) { end += 1 }
                    let value = extremes[Int(random.next() % UInt64(extremes.count))]
                    bytes.replaceSubrange(at..<end, with: Array(value.utf8))
                case 1:
                    bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(random.next() % 256)
                default:
                    let at = Int(random.next() % UInt64(bytes.count))
                    bytes.removeSubrange(at..<min(bytes.count, at + Int(random.next() % 40)))
                }
            }
            do {
                _ = try RunResults.decode(bytes, file: "fuzz.json")
            } catch let error as TopologyError {
                #expect(error.file == "fuzz.json" && !error.message.isEmpty)
                refused += 1
            } catch {
                Issue.record("not a located error: \(error)")
            }
        }
        #expect(refused > 200)
    }

    // MARK: Process endings (items 7, 8)

    @Test("a process's ending names the process, its rank and pid, and the signal or status")
    func processEnds() {
        #expect(
            ProcessEnd(role: .worker(rank: 2, host: nil), pid: 42, cause: .signal(SIGKILL)).description
                == "worker 2 (rank 2, pid 42) was killed by signal 9 (SIGKILL)")
        #expect(
            ProcessEnd(role: .coordinator, pid: 7, cause: .exited(status: 1)).description
                == "the coordinator (pid 7) exited with status 1")
        #expect(
            ProcessEnd(role: .worker(rank: 0, host: "node2"), pid: 9, cause: .exited(status: 255)).description
                == "worker 0 on node2 (rank 0, remote shell pid 9) exited with status 255 (the remote shell's own "
                + "failure: host unreachable or login refused?)")
        #expect(
            ProcessEnd(role: .coordinator, pid: 7, cause: .stopped(seconds: 3)).description
                == "the coordinator (pid 7) was stopped (SIGSTOP or SIGTSTP) for more than 3 s, so lolpim run ended it")
        let end = ProcessEnd(role: .worker(rank: 5, host: nil), pid: 1, cause: .signal(SIGSEGV))
        #expect(
            RuntimeError.workersEnded([end], coordinatorStopped: true).description
                == "workers failed: worker 5 (rank 5, pid 1) was killed by signal 11 (SIGSEGV); the coordinator was "
                + "stopped 1 s after the first of them ended")
        #expect(RuntimeError.stoppedByLauncher(end).description == "stopped: \(end)")
        #expect(!ProcessEnd(role: .coordinator, pid: 1, cause: .exited(status: 0)).failed)
    }

    @Test("the coordinator takes the launcher's reason instead of 'interrupted'")
    func stopReason() throws {
        let dir = Self.scratch("reason")
        var options = CoordinatorOptions(
            controlBind: "ipc://x", topologyFile: "t.yaml", outputDirectory: dir, transportLabel: "ipc")
        let end = ProcessEnd(role: .worker(rank: 3, host: nil), pid: 99, cause: .signal(SIGKILL))
        #expect(options.stopReason(instead: RuntimeError.interrupted) is RuntimeError)
        options.stopReasonFile = dir + "/reason.json"
        try JSONEncoder().encode(end).write(to: URL(fileURLWithPath: dir + "/reason.json"))
        let replaced = options.stopReason(instead: RuntimeError.interrupted)
        #expect("\(replaced)" == "stopped: worker 3 (rank 3, pid 99) was killed by signal 9 (SIGKILL)")
        // Only the stop signal is replaced: an error of the coordinator's own stays.
        #expect("\(options.stopReason(instead: RuntimeError.timeout("x")))" == "time-out: x")
    }
}
