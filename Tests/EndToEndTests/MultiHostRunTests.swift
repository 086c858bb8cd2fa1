@testable import Cluster
import Foundation
import Pipeline
import TestSupport
import Testing
import Transport
import Workload

@Suite("Runs across hosts, ranks and keys", .serialized)
struct MultiHostRunTests {
    /// The reference: the same topology run locally over inproc.
    func reference(_ dir: String, _ file: String) throws -> Data {
        let run = try Harness.run(["run", file, "--transport", "inproc", "--output", dir + "/ref", "--quiet"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        return try Harness.results(in: dir + "/ref").simulatedSectionBytes()
    }

    @Test("under a launcher's ranks (PMI_RANK), rank 0 coordinates and the others work; results equal a local run")
    func launcherRanks() throws {
        let dir = Harness.directory("ranks")
        let file = Harness.topology(determinismTopology, in: dir)
        let expected = try reference(dir, file)
        let address = "127.0.0.1:\(try Harness.freePort())"
        let processes = try (0...4).map { rank in
            try Harness.Running(
                ["rank", file, "--coordinator", address, "--output", dir + "/out", "--quiet"], in: dir,
                environment: ["PMI_RANK": "\(rank)", "PMI_SIZE": "5"])
        }
        for p in processes { #expect(p.wait(seconds: 60).status == 0) }
        #expect(try Harness.results(in: dir + "/out").simulatedSectionBytes() == expected)
        let wrongSize = try Harness.run(["rank", file, "--coordinator", address], in: dir)
        #expect(wrongSize.status != 0 && wrongSize.stderr.contains("no rank in the environment"))
    }

    /// A PUSH socket that sends well-formed micro-batches to `endpoint`, with `keys` (nil: no CURVE).
    struct Injector {
        let push: Socket
        var sent = 0

        init(_ endpoint: String, keys: ClusterKeys?, serverKey: String) throws {
            push = try Socket(try Context(), .push)
            if let keys {
                try push.set(.curveServerKey(serverKey))
                try push.set(.curvePublicKey(keys.pair.publicKey))
                try push.set(.curveSecretKey(keys.pair.secretKey))
            }
            try push.set(.sendTimeout(10))
            try push.set(.linger(0))
            try push.connect(endpoint)
        }

        /// Sends one every 10 ms for `seconds`, or until `running` is false.
        mutating func send(for seconds: Double, while running: () -> Bool = { true }) throws {
            let header = MicroBatchHeader(
                microBatch: 0, step: 0, transit: Transit(readyPs: 0, headPs: 0, tailPs: 0), wallSendNs: 0,
                entries: [MicroBatchHeader.Entry(request: 0, context: 5000, flags: MicroBatchHeader.Entry.first)])
            let deadline = Date(timeIntervalSinceNow: seconds)
            while running() && Date() < deadline {
                if try push.send(
                    WireCodec.encode(.microBatch(header, payload: Message(Array(repeating: 1, count: 8192)))))
                {
                    sent += 1
                }
                usleep(10_000)
            }
        }
    }

    @Test("CURVE: a peer without the cluster's key can neither register nor inject a micro-batch; results unaffected")
    func curve() throws {
        let dir = Harness.directory("curve")
        let file = Harness.topology(determinismTopology, in: dir)
        let expected = try reference(dir, file)
        let cluster = try ClusterKeys.create(in: dir + "/keys")
        let stranger = try ClusterKeys.create(in: dir + "/stranger")

        func securedRun(
            keys: Bool
        ) throws -> (
            coordinator: Harness.Outcome, target: Harness.Outcome, intruders: [Harness.Outcome],
            injected: Int
        ) {
            let secured = keys ? ["--keys", dir + "/keys"] : []
            let endpointFile = dir + "/endpoint-\(keys)"
            let out = dir + (keys ? "/out" : "/open")
            let coordinator = try Harness.Running(
                [
                    "coordinator", file, "--bind", "tcp://127.0.0.1:*", "--endpoint-file", endpointFile,
                    "--output", out, "--quiet", "--transport-label", "tcp",
                ] + secured, in: dir)
            let control = try #require(Harness.waitForFile(endpointFile))
            // Intruders try to register first: one with its own keys, one without CURVE.
            let intruders =
                keys
                ? [
                    try Harness.worker(
                        rank: 0, control: control, in: dir,
                        ["--keys", dir + "/stranger", "--registration-timeout", "3"]),
                    try Harness.worker(rank: 1, control: control, in: dir, ["--registration-timeout", "3"]),
                ] : []
            usleep(500_000)
            // Workers 0-2 register; the injector aims at worker 2's data socket before the run starts (the
            // coordinator waits for worker 3) and keeps at it until the run ends.
            let data = "tcp://127.0.0.1:\(try Harness.freePort())"
            var workers = try (0..<3).map { rank in
                try Harness.worker(
                    rank: rank, control: control, in: dir, secured + (rank == 2 ? ["--data-bind", data] : []))
            }
            var injector = try Injector(data, keys: keys ? stranger : nil, serverKey: cluster.pair.publicKey)
            try injector.send(for: 0.5)
            workers.append(try Harness.worker(rank: 3, control: control, in: dir, secured))
            try injector.send(for: 60) { coordinator.process.isRunning }
            let outcome = coordinator.wait(seconds: 60)
            let workerOutcomes = workers.map { $0.wait(seconds: 30) }
            return (outcome, workerOutcomes[2], intruders.map { $0.wait(seconds: 30) }, injector.sent)
        }

        // Without keys the same injection reaches the worker and spoils the run: the test can fail.
        let open = try securedRun(keys: false)
        #expect(open.injected > 0)
        let spoiled =
            open.coordinator.status != 0
            || (try? Harness.results(in: dir + "/open").simulatedSectionBytes()) != expected
        #expect(spoiled, "an injected micro-batch went unnoticed without keys")

        let run = try securedRun(keys: true)
        #expect(run.coordinator.status == 0, "\(run.coordinator.stderr)")
        // The worker whose data socket was attacked names the refused key; the intruders that tried to
        // register never got a configuration (their CURVE handshake with the coordinator fails).
        #expect(run.target.stderr.contains("public key \(stranger.pair.publicKey) is not authorised"))
        #expect(run.intruders.allSatisfy { $0.status != 0 && $0.stderr.contains("time-out") })
        #expect(try Harness.results(in: dir + "/out").simulatedSectionBytes() == expected)
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("a hosts file whose host cannot be reached fails fast, naming the worker and host")
    func unreachableHost() throws {
        let dir = Harness.directory("unreachable")
        let file = Harness.topology(determinismTopology, in: dir)
        let hosts = Harness.topology("coordinator 127.0.0.1\nhost.invalid\n", in: dir, name: "hosts")
        let shell = dir + "/no-such-host"
        try "#!/bin/sh\necho \"no route to $1\" >&2\nexit 255\n".write(toFile: shell, atomically: true, encoding: .utf8)
        chmod(shell, 0o755)
        let started = Date()
        let run = try Harness.run(
            [
                "run", file, "--hosts", hosts, "--remote-shell", shell, "--heartbeat-timeout", "2",
                "--output", dir + "/out", "--quiet",
            ], in: dir)
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(run.status == 1)
        #expect(run.stderr.contains("worker 0 on host.invalid (rank 0, remote shell pid "), "\(run.stderr)")
        #expect(run.stderr.contains(") exited with status 255 (the remote shell's own failure"))
        // results.json names it the same way, not as an interruption.
        let error = try Harness.results(in: dir + "/out").error ?? ""
        #expect(error.hasPrefix("stopped: worker 0 on host.invalid (rank 0, remote shell pid "), "\(error)")
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test(
        "workers on separate network hosts (namespaces joined by veth pairs) give the local run's results, with CURVE",
        .enabled(if: NetworkLab.available, "needs root and network namespaces (iproute2 `ip netns`); skipped here"))
    func separateHosts() throws {
        let dir = Harness.directory("netns")
        let file = Harness.topology(determinismTopology, in: dir)
        let expected = try reference(dir, file)
        _ = try ClusterKeys.create(in: dir + "/keys")
        let lab = try NetworkLab(hosts: 4)
        defer { lab.destroy() }
        // Stand-in for ssh: "HOST COMMAND" runs COMMAND inside the host's namespace.
        let shell = dir + "/netns-ssh"
        try "#!/bin/sh\nhost=$1; shift\nexec ip netns exec \"$host\" sh -c \"$*\"\n"
            .write(toFile: shell, atomically: true, encoding: .utf8)
        chmod(shell, 0o755)
        let hosts = Harness.topology(
            """
            coordinator \(lab.addresses[0])
            \(lab.names[1]) workers=2
            \(lab.names[2]) ranks=2-2 address=\(lab.addresses[2])
            \(lab.names[3])
            """, in: dir, name: "hosts")
        let run = try Harness.Running(
            [
                "netns", "exec", lab.names[0], Harness.binary, "run", file, "--hosts", hosts,
                "--remote-shell", shell, "--keys", dir + "/keys", "--output", dir + "/out", "--quiet",
            ],
            in: dir, executable: NetworkLab.ip
        ).wait(seconds: 90)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Harness.results(in: dir + "/out").simulatedSectionBytes() == expected)
        // The coordinator's namespace cannot reach loopback endpoints of the others: the run really crossed
        // the veth links. Its wall-clock section says tcp.
        #expect(try Harness.results(in: dir + "/out").wallclock.transport == "tcp")
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }
}

/// Network namespaces as separate hosts: one namespace per host, each with a veth pair whose other end sits
/// on a bridge in a switch namespace; host i has address 10.231.S.(i+1)/24. Everything is deleted by
/// `destroy()` (processes left in a namespace are killed first).
struct NetworkLab {
    static let ip =
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first(where: FileManager.default.isExecutableFile)
        ?? "ip"

    let names: [String]
    let addresses: [String]
    let switchName: String

    /// Root, and `ip netns` works here.
    static let available: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: ip) else { return false }
        let probe = "lpprobe\(getpid())"
        guard (try? run(["netns", "add", probe])) != nil else { return false }
        _ = try? run(["netns", "del", probe])
        return true
    }()

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw InputFileError(file: "ip", message: "ip \(arguments.joined(separator: " ")): \(output)")
        }
        return output
    }

    init(hosts: Int) throws {
        let tag = "\(getpid() % 100_000)"
        let subnet = Int(getpid() % 200) + 20
        switchName = "lpsw\(tag)"
        names = (0..<hosts).map { "lph\($0)-\(tag)" }
        addresses = (0..<hosts).map { "10.231.\(subnet).\($0 + 1)" }
        let lab = self
        do {
            try Self.run(["netns", "add", switchName])
            try Self.run(["-n", switchName, "link", "add", "br0", "type", "bridge"])
            try Self.run(["-n", switchName, "link", "set", "br0", "up"])
            for (i, name) in names.enumerated() {
                let inside = "va\(i)-\(tag)", outside = "vb\(i)-\(tag)"
                try Self.run(["netns", "add", name])
                try Self.run([
                    "link", "add", inside, "netns", name, "type", "veth", "peer", "name", outside, "netns", switchName,
                ])
                try Self.run(["-n", name, "addr", "add", "\(addresses[i])/24", "dev", inside])
                try Self.run(["-n", name, "link", "set", inside, "up"])
                try Self.run(["-n", name, "link", "set", "lo", "up"])
                try Self.run(["-n", switchName, "link", "set", outside, "master", "br0"])
                try Self.run(["-n", switchName, "link", "set", outside, "up"])
            }
        } catch {
            lab.destroy()
            throw error
        }
    }

    /// Kills what is left in the namespaces and deletes them (the veth pairs and the bridge go with them).
    func destroy() {
        for name in names + [switchName] {
            let pids = (try? Self.run(["netns", "pids", name])) ?? ""
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            _ = try? Self.run(["netns", "del", name])
        }
    }
}
