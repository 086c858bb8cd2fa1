@testable import Cluster
import Foundation
@testable import Studies
import TestSupport
import Testing

@Suite("Sweeps", .serialized)
struct SweepTests {
    /// 5 points: four that run and one (0 modules) that fails validation.
    func sweepFile(in dir: String) -> String {
        _ = Harness.topology(
            minimalTopology.replacingOccurrences(of: "decode_steps: 4", with: "decode_steps: 3000"),
            in: dir, name: "base.yaml")
        return Harness.topology(
            """
            base: base.yaml
            output: out/sweep.csv
            transport: ipc
            axes:
              cluster.modules: [2, 0, 4]
              parallelism.micro_batches: [1, 2]
            """, in: dir, name: "sweep.yaml")
    }

    func rows(_ path: String) throws -> [[String]] {
        SweepCSV.parse(try String(contentsOfFile: path, encoding: .utf8))
    }

    @Test("--jobs 2 writes the rows of --jobs 1, in point order, with the same figures (but the wall time)")
    func jobs() throws {
        var tables: [[[String]]] = []
        for jobs in [1, 2] {
            let dir = Harness.directory("sweep-jobs-\(jobs)")
            let file = sweepFile(in: dir).replacingOccurrences(of: "decode_steps: 3000", with: "decode_steps: 30")
            _ = Harness.topology(
                minimalTopology.replacingOccurrences(of: "decode_steps: 4", with: "decode_steps: 30"),
                in: dir, name: "base.yaml")
            let run = try Harness.run(["sweep", file, "--quiet", "--jobs", "\(jobs)"], in: dir, seconds: 120)
            #expect(run.status == 0, "\(run.stderr)")
            let table = try rows(dir + "/out/sweep.csv")
            let wall = try #require(table.first?.firstIndex(of: "wall_seconds"))
            // Errors name the point's file, under this run's own directory.
            tables.append(
                table.map { row in
                    row.enumerated().filter { $0.offset != wall }.map {
                        $0.element.replacingOccurrences(of: dir, with: "DIR")
                    }
                })
        }
        #expect(tables[0].count == 7)
        #expect(tables[0] == tables[1])
    }

    @Test("a sweep killed midway resumes: every point exactly once, failures recorded with their error")
    func resume() throws {
        let dir = Harness.directory("sweep")
        let file = sweepFile(in: dir)
        let csv = dir + "/out/sweep.csv"
        let first = try Harness.Running(["sweep", file, "--quiet"], in: dir)
        // Wait for the first point's row, then kill the sweep mid-run.
        let deadline = Date(timeIntervalSinceNow: 60)
        while Date() < deadline, ((try? rows(csv))?.count ?? 0) < 2 { usleep(50_000) }
        kill(first.process.processIdentifier, SIGKILL)
        _ = first.wait(seconds: 10)
        _ = Harness.leftovers(mentioning: dir, within: 5)
        let partial = try rows(csv).count - 1
        #expect(partial >= 1 && partial < 6)

        let second = try Harness.run(["sweep", file, "--quiet"], in: dir, seconds: 120)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("6 points, \(partial) already done"))
        let table = try rows(csv)
        #expect(
            table[0] == ["point", "cluster.modules", "parallelism.micro_batches", "status", "error"] + SweepCSV.figures)
        let keys = table.dropFirst().map { $0[0] }
        #expect(keys.count == 6)
        #expect(Set(keys).count == 6)
        let failed = table.dropFirst().filter { $0[3] == "failed" }
        #expect(failed.count == 2)
        #expect(failed.allSatisfy { $0[1] == "0" && $0[4].contains("cluster.modules") })
        let ok = table.dropFirst().filter { $0[3] == "ok" }
        #expect(ok.allSatisfy { Double($0[5])! > 0 })

        // A third run has nothing left to do.
        let third = try Harness.run(["sweep", file, "--quiet"], in: dir, seconds: 60)
        #expect(third.stdout.contains("6 already done, 0 run"))
        #expect(Harness.leftovers(mentioning: dir).isEmpty)
    }

    @Test("sweep files are validated with located errors")
    func invalid() throws {
        let dir = Harness.directory("sweep-invalid")
        _ = Harness.topology(minimalTopology, in: dir, name: "base.yaml")
        let file = Harness.topology("base: base.yaml\naxes:\n  cluster.modules: 4\n", in: dir, name: "bad.yaml")
        let run = try Harness.run(["sweep", file], in: dir)
        #expect(run.status == 2)
        #expect(run.stderr.contains("axes.cluster.modules: expected a non-empty list of values"))
        #expect(throws: TopologyError.self) { try SweepSpec.load(path: dir + "/missing.yaml") }
    }

    @Test("sweep axes are checked against the topology's keys; a sweep whose every point failed exits 1")
    func axes() throws {
        let dir = Harness.directory("sweep-axes")
        _ = Harness.topology(minimalTopology, in: dir, name: "base.yaml")
        for (axes, fragment) in [
            ("cluster.moduels: [2]", "'cluster.moduels' is not a topology field; expected one of"),
            ("\"\": [2]", "an empty part"), ("cluster..modules: [2]", "an empty part"),
            ("links.host: [{bandwidth_gbps: 8}]\n  workload.zz: [1]", "'workload.zz'"),
        ] {
            let file = Harness.topology("base: base.yaml\naxes:\n  \(axes)\n", in: dir, name: "bad.yaml")
            #expect(throws: TopologyError.self) { try SweepSpec.load(path: file) }
            let run = try Harness.run(["sweep", file], in: dir)
            #expect(run.status == 2)
            #expect(run.stderr.contains(fragment), "\(run.stderr)")
        }
        let points = Harness.topology(
            "base: base.yaml\npoints:\n  - {cluster.modules: 2}\n  - {clster.modules: 4}\n",
            in: dir, name: "points.yaml")
        #expect(throws: TopologyError.self) { try SweepSpec.load(path: points) }
        // Every point fails validation: recorded in the CSV, and the exit status says so.
        let failing = Harness.topology(
            "base: base.yaml\noutput: failing.csv\naxes:\n  cluster.modules: [0, 100000]\n",
            in: dir, name: "failing.yaml")
        let run = try Harness.run(["sweep", failing, "--quiet"], in: dir, seconds: 60)
        #expect(run.status == 1)
        #expect(run.stderr.contains("every point of the sweep failed"))
        #expect(try rows(dir + "/failing.csv").count == 3)
    }

    @Test("explicit points: a field a point leaves out keeps the base file's value")
    func points() throws {
        let dir = Harness.directory("sweep-points")
        _ = Harness.topology(minimalTopology, in: dir, name: "base.yaml")
        let file = Harness.topology(
            """
            base: base.yaml
            points:
              - {cluster.modules: 2}
              - {parallelism.micro_batches: 2, workload.arrival: {poisson_per_s: 5}}
            """, in: dir, name: "points.yaml")
        let spec = try SweepSpec.load(path: file)
        #expect(spec.fields == ["cluster.modules", "parallelism.micro_batches", "workload.arrival"])
        #expect(spec.key(spec.points[1]) == "parallelism.micro_batches=2;workload.arrival=poisson_per_s: 5")
        let first = try TopologyLoader.parse(yaml: spec.topologyText(for: spec.points[0]), file: "p0.yaml")
        #expect(first.cluster.modules == 2 && first.parallelism.microBatches == 3)
        let second = try TopologyLoader.parse(yaml: spec.topologyText(for: spec.points[1]), file: "p1.yaml")
        #expect(second.cluster.modules == 4 && second.parallelism.microBatches == 2)
        #expect(second.workload.arrival == .poisson(perSecond: 5))
    }

    @Test("CSV cells with commas and quotes round-trip")
    func csvQuoting() {
        let cells = ["a,b", "say \"hi\"", "plain", ""]
        #expect(SweepCSV.parse(SweepCSV.line(cells) + "\n") == [cells])
    }
}
