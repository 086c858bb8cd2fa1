@testable import Cluster
import Foundation
import Pipeline
import TestSupport
import Testing
import Transport
import Workload

@Suite("Hosts files, launcher ranks, cluster keys")
struct MultiHostInputTests {
    @Test("ranks go to ranks= ranges, then workers= counts in file order, then contiguous blocks over the rest")
    func assignment() throws {
        let file = try HostsFile.parse(
            """
            # a cluster
            coordinator 10.0.0.1
            a workers=2            # ranks 0-1
            b ranks=6-7 address=10.0.0.2
            c
            d
            """, file: "hosts")
        #expect(file.coordinator == "10.0.0.1")
        let placed = try file.assign(workers: 9)
        #expect(placed.map(\.host) == ["a", "a", "c", "c", "c", "d", "b", "b", "d"])
        #expect(placed[6].address == "10.0.0.2" && placed[0].address == nil)
    }

    @Test("with a network, the ranks nobody claimed go node by node: node i's workers on the i-th free host")
    func assignmentByNode() throws {
        let file = try HostsFile.parse("coordinator 10.0.0.1\nh0\nh1\nh2 ranks=7-7\n", file: "hosts")
        // 8 ranks on 4 nodes of 2 (the default placement of tp 1 × pp 8); rank 7 claimed by h2.
        let topology = try TopologyLoader.parse(
            yaml: """
                model: llm-7b-32k
                cluster: {modules: 8}
                network: {nodes: 4}
                workload: {batch_size: 1, context: 100, decode_steps: 1}
                """, file: "n.yaml")
        let plan = try PipelinePlan(topology: topology)
        let nodes = (0..<8).map { topology.network!.stageNodes[plan.position(rank: $0).stage] }
        #expect(nodes == [0, 0, 1, 1, 2, 2, 3, 3])
        let placed = try file.assign(workers: 8, nodeOfRank: nodes)
        #expect(placed.map(\.host) == ["h0", "h0", "h1", "h1", "h0", "h0", "h1", "h2"])
    }

    @Test("hosts file errors name the file, the line and what was expected")
    func errors() throws {
        func error(_ text: String, workers: Int = 4) -> String {
            do {
                _ = try HostsFile.parse(text, file: "h.txt").assign(workers: workers)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(error("a workers=0") == "h.txt:1: workers: expected an integer ≥ 1, got `0`")
        #expect(error("\na ranks=3-1") == "h.txt:2: ranks: expected A-B with 0 ≤ A ≤ B (or one rank A), got `3-1`")
        #expect(error("a slots=2").hasPrefix("h.txt:1: unknown key `slots`"))
        #expect(error("a address=node1") == "h.txt:1: address: expected an IPv4 address, got `node1`")
        #expect(error("a ranks=0-1\nb ranks=1-3") == "h.txt:2: rank 1 is already on a (line 1)")
        #expect(error("a ranks=2-5") == "h.txt:1: ranks=2-5: the topology has only 4 workers (ranks 0-3)")
        #expect(
            error("a workers=2") == "h.txt: ranks 2, 3 have no host: raise a workers= count or add a host without one")
        #expect(error("a workers=5") == "h.txt:1: workers=5: only 4 of the topology's 4 ranks are left")
        #expect(error("# nothing").hasPrefix("h.txt: lists no host: give one line per host"))
        #expect(error("coordinator\na") == "h.txt:1: expected `coordinator ADDRESS`")
    }

    @Test("the launcher's rank variable: SLURM first, then PMI, Open MPI, PMIx; sizes checked")
    func rankEnvironment() throws {
        let slurm = try RankEnvironment.detect(["SLURM_PROCID": "3", "SLURM_NTASKS": "9", "PMI_RANK": "1"])
        #expect(slurm == RankEnvironment(rank: 3, size: 9, variable: "SLURM_PROCID"))
        #expect(try RankEnvironment.detect(["OMPI_COMM_WORLD_RANK": "0"]).rank == 0)
        #expect(try RankEnvironment.detect(["MY_RANK": "2"], variable: "MY_RANK").rank == 2)
        #expect(throws: RuntimeError.self) { try RankEnvironment.detect([:]) }
        #expect(throws: RuntimeError.self) { try RankEnvironment.detect(["PMI_RANK": "x"]) }
        #expect(throws: RuntimeError.self) { try RankEnvironment.detect(["PMI_RANK": "4", "PMI_SIZE": "4"]) }
        #expect(throws: RuntimeError.self) { try slurm.check(workers: 4) }
        try slurm.check(workers: 8)
    }

    @Test("cluster keys: made once, read back; damaged files are refused with file and line")
    func keys() throws {
        let dir = Harness.directory("keys")
        let made = try ClusterKeys.create(in: dir)
        #expect(try ClusterKeys.load(from: dir) == made)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/cluster.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(throws: InputFileError.self) { try ClusterKeys.create(in: dir) }
        try "# keys\nshort-key\n".write(toFile: dir + "/authorized_keys", atomically: true, encoding: .utf8)
        #expect(
            throws: InputFileError(
                file: dir + "/authorized_keys", line: 2,
                message: "expected a public key (40 Z85 characters), got `short-key`")
        ) {
            try ClusterKeys.load(from: dir)
        }
        let other = try ClusterKeys.create(in: dir + "/other")
        try "public-key = \(other.pair.publicKey)\nsecret-key = \(made.pair.secretKey)\n"
            .write(toFile: dir + "/cluster.key", atomically: true, encoding: .utf8)
        #expect(throws: InputFileError.self) { try ClusterKeys.load(from: dir) }
        #expect(throws: InputFileError.self) { try ClusterKeys.load(from: dir + "/missing") }
    }
}
