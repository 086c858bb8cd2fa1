@testable import Cluster
import Foundation
@testable import Studies
import TestSupport
import Testing
import Workload

/// Issue 29, "Faults and bad input, second round": every case that could hang, trap or lose a result runs as a
/// lolpim process under the harness's deadline, so that a regression fails its own test instead of the suite.
@Suite("Faults and bad input, second round: processes", .serialized)
struct FaultTests {
    /// The pid of the launcher's child whose command line starts with `role` (`coordinator`, `worker`).
    static func child(of run: Harness.Running, _ role: String, rank: Int? = nil) -> Int32? {
        let marker = "--parent-pid\0\(run.process.processIdentifier)\0"
        let deadline = Date(timeIntervalSinceNow: 30)
        while Date() < deadline {
            for pid in Harness.processes(mentioning: "--parent-pid \(run.process.processIdentifier)") {
                let line = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                let words = line.split(separator: "\0")
                guard line.contains(marker), words.count > 1, words[1] == role else { continue }
                if let rank, !line.contains("\0--rank\0\(rank)\0") { continue }
                return pid
            }
            usleep(50_000)
        }
        return nil
    }

    // MARK: Hangs (item 1)

    @Test("a stopped coordinator: lolpim run notices, ends it, names it, keeps partial results and exits 1")
    func stoppedCoordinator() throws {
        let dir = Harness.directory("fault-stopped")
        let file = Harness.topology(longRunTopology, in: dir)
        let run = try Harness.Running(
            ["run", file, "--output", dir + "/out", "--quiet", "--heartbeat-timeout", "2"], in: dir)
        let coordinator = try #require(Self.child(of: run, "coordinator"))
        usleep(1_500_000)
        kill(coordinator, SIGSTOP)
        let outcome = run.wait(seconds: 45)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        let named = "the coordinator (pid \(coordinator)) was stopped (SIGSTOP or SIGTSTP) for more than 2 s"
        #expect(outcome.stderr.contains(named), "\(outcome.stderr)")
        let results = try Harness.results(in: dir + "/out")
        #expect(!results.complete)
        #expect(results.error?.contains(named) == true, "\(results.error ?? "")")
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test(
        "Ctrl-C (SIGINT) and SIGTERM always stop lolpim run, even with its coordinator stopped",
        arguments: [
            SIGINT, SIGTERM,
        ])
    func interruptWithStoppedCoordinator(signal: Int32) throws {
        let dir = Harness.directory("fault-interrupt-\(signal)")
        let file = Harness.topology(longRunTopology, in: dir)
        let run = try Harness.Running(
            ["run", file, "--output", dir + "/out", "--quiet", "--heartbeat-timeout", "600"], in: dir)
        let coordinator = try #require(Self.child(of: run, "coordinator"))
        usleep(1_500_000)
        kill(coordinator, SIGSTOP)
        usleep(300_000)
        kill(run.process.processIdentifier, signal)
        let outcome = run.wait(seconds: 30)
        #expect(outcome.status == 130, "\(outcome.stderr)")
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
        #expect(try !Harness.results(in: dir + "/out").complete)
    }

    // MARK: Deaths named (items 7, 8)

    @Test("a SIGKILLed coordinator is named with its pid and signal; the workers the launcher stopped are not")
    func killedCoordinator() throws {
        let dir = Harness.directory("fault-killed-coordinator")
        let file = Harness.topology(longRunTopology, in: dir)
        let run = try Harness.Running(["run", file, "--output", dir + "/out", "--quiet"], in: dir)
        let coordinator = try #require(Self.child(of: run, "coordinator"))
        usleep(1_500_000)
        kill(coordinator, SIGKILL)
        let outcome = run.wait(seconds: 45)
        #expect(outcome.status == 1)
        #expect(
            outcome.stderr.contains("the coordinator (pid \(coordinator)) was killed by signal 9 (SIGKILL)"),
            "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("workers failed"), "\(outcome.stderr)")
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    // MARK: Special files (item 13)

    @Test("a FIFO, a device or a directory as an input is named at once; nothing waits for a writer")
    func specialFiles() throws {
        let dir = Harness.directory("fault-special")
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o644) == 0)
        let topology = Harness.topology(
            "model: llm-7b-32k\ncluster: {modules: 4}\nworkload:\n  batch_size: 4\n  trace: fifo\n", in: dir)
        let good = Harness.topology(minimalTopology, in: dir, name: "good.yaml")
        let cases: [([String], String)] = [
            (["validate", fifo], "fifo: is a FIFO (named pipe), not a topology file"),
            (["validate", "/dev/zero"], "/dev/zero: is a character device, not a topology file"),
            (["validate", dir], "is a directory, not a topology file"),
            (["validate", topology], "workload.trace: \(fifo): is a FIFO (named pipe), not a request trace"),
            (["report", fifo], "is a FIFO (named pipe), not a results file"),
            (["report", "/dev/urandom"], "is a character device, not a results file"),
            (["report", fifo + ".csv"], "no such sweep CSV"),
            (["run", good, "--hosts", fifo, "--output", dir + "/o"], "is a FIFO (named pipe), not a hosts file"),
            (["kernel", "--replay", fifo], "is a FIFO (named pipe), not an AiM trace"),
            (["sweep", fifo], "is a FIFO (named pipe), not a sweep file"),
        ]
        for (arguments, fragment) in cases {
            let outcome = try Harness.run(arguments, in: dir, seconds: 20)
            #expect(outcome.status == 2, "\(arguments): \(outcome.stderr)")
            #expect(outcome.stderr.contains(fragment), "\(arguments): \(outcome.stderr)")
            #expect(!outcome.stderr.contains("NSCocoaErrorDomain") && !outcome.stderr.contains("permission"))
        }
    }

    // MARK: Traps (items 2, 3)

    @Test("tcp endpoints without a port, or with one out of range, are usage errors (64), never a trap")
    func endpoints() throws {
        let dir = Harness.directory("fault-endpoints")
        let file = Harness.topology(minimalTopology, in: dir)
        let cases: [([String], [String: String], String)] = [
            (["coordinator", file, "--bind", "tcp://127.0.0.1"], [:], "--bind: 'tcp://127.0.0.1' is not tcp://"),
            (["coordinator", file, "--bind", "tcp://127.0.0.1:99999"], [:], "between 0 and 65535"),
            (["rank", file, "--coordinator", "nohostport"], ["PMI_RANK": "1"], "must be HOST:PORT"),
            (["rank", file, "--coordinator", "127.0.0.1:99999"], ["PMI_RANK": "1"], "between 1 and 65535"),
            (["rank", file], ["PMI_RANK": "1", "LOLPIM_COORDINATOR": "garbage"], "LOLPIM_COORDINATOR must be"),
            (
                ["worker", "--data-bind", "tcp://127.0.0.1", "--coordinator", "tcp://127.0.0.1:5", "--rank", "0"], [:],
                "--data-bind"
            ),
            (["worker", "--coordinator", "tcp://127.0.0.1", "--rank", "0"], [:], "--coordinator"),
            (["run", file, "--hosts", "h", "--coordinator-address", "0.0.0.0"], [:], "means every interface"),
        ]
        for (arguments, environment, fragment) in cases {
            let outcome = try Harness.Running(arguments, in: dir, environment: environment).wait(seconds: 20)
            #expect(outcome.status == 64, "\(arguments): \(outcome.stderr)")
            #expect(outcome.stderr.contains(fragment), "\(arguments): \(outcome.stderr)")
        }
    }

    @Test("lolpim report on non-finite, extreme or foreign values exits 2 naming the field, never traps")
    func reportValues() throws {
        let dir = Harness.directory("fault-report")
        let header = ["point", "cluster.modules", "status", "error"] + SweepCSV.figures
        for value in ["nan", "inf", "1e308"] {
            let row = ["m=2", "2", "ok", ""] + SweepCSV.figures.map { _ in value }
            try CSVTable.encode([header, row]).write(toFile: dir + "/s.csv", atomically: true, encoding: .utf8)
            let outcome = try Harness.run(["report", dir + "/s.csv"], in: dir, seconds: 20)
            #expect(outcome.status == 2, "\(value): \(outcome.stderr)")
            #expect(outcome.stderr.contains("s.csv:2: throughput_tokens_per_s: expected a finite number"))
        }
        let run = try Harness.run(
            [
                "run", Harness.topology(minimalTopology, in: dir), "--output", dir + "/run", "--quiet", "--transport",
                "inproc",
            ], in: dir)
        #expect(run.status == 0)
        let text = try String(contentsOfFile: dir + "/run/results.json", encoding: .utf8)
        for (from, to, fragment) in [
            ("\"makespan_ps\" : ", "\"makespan_ps\" : 9223372036854775807, \"x\" : ", "makespan_ps: expected a number"),
            (
                "\"energy_per_token_j\" : ", "\"energy_per_token_j\" : 1.7e308, \"x\" : ",
                "energy_per_token_j: expected a number"
            ),
            ("\"makespan_ps\" : ", "\"makespan_ps\" : -1, \"x\" : ", "makespan_ps: expected a number"),
            ("lolpim-results\\/1", "lolpim-results\\/999", "schema: this file is \"lolpim-results/999\""),
        ] {
            guard let range = text.range(of: from) else {
                Issue.record("no \(from) in results.json")
                continue
            }
            try text.replacingCharacters(in: range, with: to).write(
                toFile: dir + "/r.json", atomically: true, encoding: .utf8)
            let outcome = try Harness.run(["report", dir + "/r.json", "--output", dir + "/rep"], in: dir, seconds: 20)
            #expect(outcome.status == 2, "\(outcome.stderr)")
            #expect(outcome.stderr.contains(fragment), "\(outcome.stderr)")
            #expect(!outcome.stderr.contains("not valid JSON"))
        }
        // Every number at the largest value a results.json may hold (2^62): read, and drawn without a trap.
        let largest = text.replacingOccurrences(
            of: #"(?<=: )-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"#, with: "4611686018427387904",
            options: .regularExpression)
        #expect(largest != text)
        try largest.write(toFile: dir + "/largest.json", atomically: true, encoding: .utf8)
        let drawn = try Harness.run(
            ["report", dir + "/largest.json", "--output", dir + "/largest"], in: dir, seconds: 20)
        #expect(drawn.status == 0, "\(drawn.stderr)")
        let charts = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/largest")) ?? []
        #expect(charts.contains { $0.hasSuffix(".svg") }, "\(charts)")
    }

    // MARK: Unbounded memory (items 4, 5, 6)

    @Test("lolpim kernel refuses, before starting, streams beyond its bound (64), in bounded memory")
    func kernelBounds() throws {
        let dir = Harness.directory("fault-kernel")
        for arguments in [
            ["kernel", "gemv", "--rows", "1048576", "--columns", "262144", "--batch", "65536"],
            [
                "kernel", "attention", "--tokens", "16777216", "--kv-heads", "4096", "--head-dim", "4096", "--group",
                "4096",
            ],
            ["kernel", "attention", "--tokens", "16777216", "--kv-heads", "4096", "--scheduling", "static"],
        ] {
            let outcome = try Harness.Running(
                ["-c", "ulimit -v 2000000; exec \"$0\" \"$@\"", Harness.binary] + arguments, in: dir,
                executable: "/bin/sh"
            ).wait(seconds: 20)
            #expect(outcome.status == 64, "\(arguments): \(outcome.stderr)")
            #expect(outcome.stderr.contains("lolpim kernel"), "\(outcome.stderr)")
        }
    }

    @Test(
        "a request trace is streamed: 1,000,001 requests and 100 MB after them are refused at once, in bounded memory")
    func hugeTrace() throws {
        let dir = Harness.directory("fault-trace")
        let path = dir + "/big.csv"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.write(contentsOf: Data("arrival_s,context_tokens,output_tokens\n".utf8))
        let block = Data(String(repeating: "0,100,4\n", count: 131_072).utf8)  // 1 MiB
        for _ in 0..<108 { try handle.write(contentsOf: block) }
        try handle.close()
        let file = Harness.topology(
            "model: llm-7b-32k\ncluster: {modules: 4}\nworkload:\n  batch_size: 4\n  trace: big.csv\n", in: dir)
        let outcome = try Harness.Running(
            ["-c", "ulimit -v 1500000; exec \"$0\" \"$@\"", Harness.binary, "validate", file], in: dir,
            executable: "/bin/sh"
        ).wait(seconds: 120)
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("big.csv:1000002: more than 1000000 requests"), "\(outcome.stderr)")
    }

    // MARK: Lost or misleading results (items 9, 10, 14)

    @Test("a lock file left with the pid of a live process that is not lolpim does not block the directory")
    func staleLock() throws {
        let dir = Harness.directory("fault-lock")
        let file = Harness.topology(minimalTopology, in: dir)
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try "1\n".write(toFile: dir + "/out/" + OutputDirectory.lockName, atomically: true, encoding: .utf8)
        let run = try Harness.run(
            ["run", file, "--output", dir + "/out", "--quiet", "--transport", "inproc"], in: dir, seconds: 60)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Harness.results(in: dir + "/out").complete)
    }

    @Test("a sweep's missing base and unusable CSV are refused (exit 2) before any point runs")
    func sweepChecks() throws {
        let dir = Harness.directory("fault-sweep")
        let missing = Harness.topology("base: none.yaml\naxes:\n  seed: [1, 2]\n", in: dir, name: "m.yaml")
        let first = try Harness.run(["sweep", missing, "--quiet"], in: dir, seconds: 20)
        #expect(first.status == 2)
        #expect(first.stderr.contains("m.yaml:1:7: base: \(dir)/none.yaml: no such base topology"), "\(first.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.csv"))
        _ = Harness.topology(minimalTopology, in: dir, name: "base.yaml")
        try FileManager.default.createDirectory(atPath: dir + "/out.csv", withIntermediateDirectories: true)
        let directory = Harness.topology(
            "base: base.yaml\noutput: out.csv\naxes:\n  seed: [1, 2]\n", in: dir, name: "d.yaml")
        let second = try Harness.run(["sweep", directory, "--quiet"], in: dir, seconds: 20)
        #expect(second.status == 2)
        #expect(second.stderr.contains("out.csv: is a directory, not a sweep CSV"), "\(second.stderr)")
        // A CSV that cannot be written, found before any point runs: under a regular file, and in /proc (which
        // refuses new files even to root).
        try "x".write(toFile: dir + "/plain", atomically: true, encoding: .utf8)
        for (output, fragment) in [("plain/out.csv", "plain is a file, not a directory"), ("/proc/out.csv", "/proc")] {
            let spec = Harness.topology(
                "base: base.yaml\noutput: \(output)\naxes:\n  seed: [1, 2]\n", in: dir, name: "u.yaml")
            let outcome = try Harness.run(["sweep", spec, "--quiet"], in: dir, seconds: 20)
            #expect(outcome.status == 2, "\(output): \(outcome.stderr)")
            #expect(outcome.stderr.contains(fragment), "\(outcome.stderr)")
            #expect(!outcome.stderr.contains("NSCocoaErrorDomain"), "\(outcome.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/u-points"))
        }
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("outputs and inputs that Foundation would dump raw get lolpim's message and exit 2")
    func rawDumps() throws {
        let dir = Harness.directory("fault-raw")
        try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        let paper = try Harness.run(["paper", "--output", dir + "/file", "--quick"], in: dir, seconds: 20)
        #expect(paper.status == 2, "\(paper.stderr)")
        #expect(paper.stderr.contains("\(dir)/file is a file, not a directory"), "\(paper.stderr)")
        try Data(Array("point,status\n".utf8) + [0xE9, 0x2C, 0x6F, 0x6B, 0x0A]).write(
            to: URL(fileURLWithPath: dir + "/l.csv"))
        let report = try Harness.run(["report", dir + "/l.csv"], in: dir, seconds: 20)
        #expect(report.status == 2)
        #expect(report.stderr.contains("l.csv:2: the sweep CSV is not UTF-8 text: byte 0xE9"), "\(report.stderr)")
        for outcome in [paper, report] { #expect(!outcome.stderr.contains("NSCocoaErrorDomain")) }
    }

    // MARK: Unclear errors (items 15, 16)

    @Test("a duplicate key and a misspelt key are located by lolpim validate")
    func keys() throws {
        let dir = Harness.directory("fault-keys")
        let duplicate = Harness.topology(minimalTopology + "\nseed: 4\n", in: dir, name: "dup.yaml")
        let outcome = try Harness.run(["validate", duplicate], in: dir)
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("dup.yaml:12:1: seed: key appears twice"), "\(outcome.stderr)")
        #expect(outcome.stderr.count < 300)
        let typo = Harness.topology(
            minimalTopology.replacingOccurrences(of: "modules: 4", with: "modueles: 4"), in: dir, name: "typo.yaml")
        let misspelt = try Harness.run(["validate", typo], in: dir)
        #expect(misspelt.status == 2)
        #expect(misspelt.stderr.contains("typo.yaml:5:3: cluster.modueles: unknown key; did you mean 'modules'?"))
    }

    @Test("a hosts file's wildcard coordinator is refused at its line, before anything binds")
    func hostsWildcard() throws {
        let dir = Harness.directory("fault-hosts")
        let file = Harness.topology(minimalTopology, in: dir)
        let hosts = Harness.topology("node1\ncoordinator 0.0.0.0\n", in: dir, name: "hosts")
        let outcome = try Harness.run(["run", file, "--hosts", hosts, "--output", dir + "/o"], in: dir, seconds: 20)
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("hosts:2: coordinator: '0.0.0.0' means every interface"), "\(outcome.stderr)")
        let empty = Harness.topology("", in: dir, name: "empty")
        let none = try Harness.run(["run", file, "--hosts", empty, "--output", dir + "/o"], in: dir, seconds: 20)
        #expect(none.status == 2)
        #expect(none.stderr.contains("the hosts file is empty"), "\(none.stderr)")
    }
}
