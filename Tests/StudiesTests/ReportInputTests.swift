@testable import Cluster
import Foundation
import Pipeline
@testable import Studies
import TestSupport
import Testing
import Workload

/// Issue 29, "Faults and bad input, second round": what `lolpim report` and `lolpim sweep` read. Extreme values
/// never trap the charts, inputs are checked before anything is written, and large grids are counted first.
@Suite("Faults and bad input, second round: reports and sweeps")
struct ReportInputTests {
    static let header = ["point", "cluster.modules", "status", "error"] + SweepCSV.figures

    static func row(_ modules: String, figure: String, status: String = "ok") -> [String] {
        ["cluster.modules=\(modules)", modules, status, ""] + SweepCSV.figures.map { _ in figure }
    }

    @Test(
        "a sweep CSV whose ok row holds nan, inf or a number beyond 2^62 is refused at its line and field",
        arguments: ["nan", "inf", "-inf", "1e308", "-1e300", "1e19"])
    func extremeFigures(value: String) throws {
        let dir = Harness.directory("report-extreme")
        let csv = CSVTable.encode([Self.header, Self.row("2", figure: "1"), Self.row("4", figure: value)])
        try csv.write(toFile: dir + "/s.csv", atomically: true, encoding: .utf8)
        #expect {
            _ = try Report.generate(input: dir + "/s.csv", directory: dir + "/r")
        } throws: { error in
            (error as? TopologyError).map { $0.line == 3 && $0.field == "throughput_tokens_per_s" } == true
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/r"), "nothing is written for a refused input")
    }

    @Test("extreme swept values and figures at the edge of the range draw (no trap), and failed rows stay out")
    func extremeAxes() throws {
        let dir = Harness.directory("report-edge")
        let rows =
            [Self.header]
            + ["1e300", "-1e300", "inf", "nan", "5e-324", "0"].enumerated().map { i, x in
                Self.row(x, figure: i % 2 == 0 ? "4.6e18" : "0")
            } + [Self.row("7", figure: "", status: "failed")]
        try CSVTable.encode(rows).write(toFile: dir + "/s.csv", atomically: true, encoding: .utf8)
        let files = try Report.generate(input: dir + "/s.csv", directory: dir + "/r")
        #expect(files.contains(dir + "/r/index.html"))
        for file in files where file.hasSuffix(".svg") {
            let svg = try String(contentsOfFile: file, encoding: .utf8)
            #expect(ElementCounter.parse(svg) != nil, "\(file) is not valid XML")
            #expect(!svg.contains("nan") && !svg.contains("inf"), "\(file)")
        }
    }

    @Test(
        "ticks and axes never trap, whatever the range",
        arguments: [
            (0.0, 1e308), (-1e308, 1e308), (1e300, 1e300), (.nan, 1), (0, .infinity), (-.infinity, .infinity),
            (1e300, 1e300.nextUp), (Double.leastNonzeroMagnitude, 2 * Double.leastNonzeroMagnitude), (-0.0, 0),
            (1e17, 1e17 + 64),
        ])
    func ticks(lo: Double, hi: Double) {
        let linear = ChartStyle.linearTicks(lo: lo, hi: hi)
        #expect(linear.lo.isFinite && linear.hi.isFinite && linear.ticks.allSatisfy(\.isFinite))
        #expect(linear.ticks.count <= 101)
        let log = ChartStyle.logTicks(lo: abs(lo), hi: abs(hi))
        #expect(log.lo.isFinite && log.hi.isFinite && log.ticks.allSatisfy(\.isFinite))
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", logX: true)
            .line([SVGChart.Series(name: "s", points: [(lo, hi), (hi, lo), (1, .nan)])])
        #expect(ElementCounter.parse(chart) != nil)
        let bars = SVGChart(title: "t", xLabel: "x", yLabel: "y")
            .stackedBars(categories: ["a", "b"], layers: ["l1", "l2"], values: [[lo, hi], [hi, 1e308]])
        #expect(!bars.contains("nan"))
        var barChart = BarChart(title: "t", yLabel: "y")
        barChart.valueFormat = "%.1f"
        #expect(ElementCounter.parse(barChart.svg([BarChart.Bar(category: "a", value: hi)])) != nil)
    }

    @Test("report inputs that are not what they should be are named: a directory, non-UTF-8, another schema")
    func reportInputs() throws {
        let dir = Harness.directory("report-inputs")
        try FileManager.default.createDirectory(atPath: dir + "/d.csv", withIntermediateDirectories: true)
        #expect {
            _ = try Report.generate(input: dir + "/d.csv", directory: dir + "/r")
        } throws: { error in
            "\(error)".contains("is a directory, not a sweep CSV")
        }
        try Data(Array("point,status\n".utf8) + [0xFF, 0x2C, 0x6F, 0x6B, 0x0A]).write(
            to: URL(fileURLWithPath: dir + "/l.csv"))
        #expect {
            _ = try Report.generate(input: dir + "/l.csv", directory: dir + "/r")
        } throws: { error in
            (error as? TopologyError).map { $0.line == 2 && $0.message.contains("not UTF-8") } == true
        }
        try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        let csv = CSVTable.encode([Self.header, Self.row("2", figure: "1")])
        try csv.write(toFile: dir + "/ok.csv", atomically: true, encoding: .utf8)
        #expect {
            _ = try Report.generate(input: dir + "/ok.csv", directory: dir + "/file")
        } throws: { error in
            "\(error)".contains("is a file, not a directory")
        }
    }

    /// Mutated sweep CSVs: each draws or fails with a located error; none traps.
    @Test("fuzz: mutated sweep CSVs get a report or a located error, never a trap")
    func csvFuzz() throws {
        let dir = Harness.directory("report-fuzz")
        var random = SplitMix64(seed: 0xC5F)
        let values = [
            "1", "0", "-1", "nan", "inf", "1e308", "4.6e18", "", "ok", "failed", "x", "\"", ",", "\n", "1e-320",
            "9223372036854775807", "-0", "0x10",
        ]
        for index in 0..<300 {
            var rows = [Self.header]
            for _ in 0..<(1 + Int(random.next() % 5)) {
                var row = Self.row(values[Int(random.next() % UInt64(values.count))], figure: "1")
                for _ in 0..<Int(random.next() % 4) {
                    row[Int(random.next() % UInt64(row.count))] = values[Int(random.next() % UInt64(values.count))]
                }
                if random.next() % 10 == 0 { row.removeLast() }
                rows.append(row)
            }
            if random.next() % 4 == 0 {
                // A header cell renamed, dropped or duplicated.
                let at = Int(random.next() % UInt64(rows[0].count))
                switch random.next() % 3 {
                case 0: rows[0][at] += "x"
                case 1: rows[0].remove(at: at)
                default: rows[0].append(rows[0][at])
                }
            }
            var bytes = Array(CSVTable.encode(rows).utf8)
            switch random.next() % 4 {
            case 0:
                // Cut anywhere, mid-cell included.
                bytes.removeLast(Int(random.next() % UInt64(bytes.count)))
            case 1:
                // Any byte, UTF-8 or not, somewhere.
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(random.next() % 256)
            default: break
            }
            let path = dir + "/f\(index).csv"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let files = try Report.generate(input: path, directory: dir + "/r\(index)")
                for file in files where file.hasSuffix(".svg") {
                    #expect(ElementCounter.parse(try String(contentsOfFile: file, encoding: .utf8)) != nil)
                }
            } catch {
                // Whatever is wrong is said of this file.
                #expect("\(error)".contains(path), "\(error)")
            }
        }
    }

    /// results.json files whose numbers are replaced by values the reader accepts (0 to 2^62, fractions, tiny
    /// values): each one that is read is drawn, and no chart traps.
    @Test("fuzz: results.json files with extreme accepted numbers are read and drawn, never a trap")
    func resultsDrawFuzz() throws {
        let dir = Harness.directory("report-results-fuzz")
        let file = Harness.topology(minimalTopology, in: dir)
        var launcher = Launcher(topologyFile: file, transport: .inproc, outputDirectory: dir + "/out")
        launcher.progress = false
        _ = try launcher.run(plan: PipelinePlan(topology: TopologyLoader.load(path: file)))
        let text = try String(contentsOfFile: dir + "/out/results.json", encoding: .utf8)
        // Each number after a key (": " then digits), as a range of the text.
        let numbers = try NSRegularExpression(pattern: #"(?<=: )[0-9][0-9.eE+-]*"#)
        let ranges = numbers.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range, in: text)
        }
        // Whole numbers stay whole (a count may not be 0.5); others take any accepted extreme.
        let whole = ["0", "1", "3", "4611686018427387904"]
        let real = whole + ["4.6e18", "1e-300", "5e-324", "0.5", "1e15"]
        var random = SplitMix64(seed: 0x5EED)
        var drawn = 0
        for index in 0..<40 {
            var mutated = text
            for range in ranges.reversed() where random.next() % 3 == 0 {
                let values = text[range].allSatisfy(\.isNumber) ? whole : real
                mutated.replaceSubrange(range, with: values[Int(random.next() % UInt64(values.count))])
            }
            let path = dir + "/r\(index).json"
            try mutated.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                let files = try Report.generate(input: path, directory: dir + "/d\(index)")
                for file in files where file.hasSuffix(".svg") {
                    #expect(ElementCounter.parse(try String(contentsOfFile: file, encoding: .utf8)) != nil)
                }
                drawn += 1
            } catch {
                #expect("\(error)".contains(path), "\(error)")
            }
        }
        #expect(drawn > 0)
    }

    // MARK: Sweeps (items 4, 10)

    @Test("a grid of 10^10 points is counted and refused at once, in bounded memory, with its count")
    func hugeGrid() throws {
        let dir = Harness.directory("sweep-grid")
        _ = Harness.topology(minimalTopology, in: dir, name: "base.yaml")
        let values = "[" + (1...100).map(String.init).joined(separator: ", ") + "]"
        let axes = ["seed", "workload.decode_steps", "workload.context", "workload.batch_size", "cluster.modules"]
        let file = Harness.topology(
            "base: base.yaml\naxes:\n" + axes.map { "  \($0): \(values)\n" }.joined(), in: dir, name: "s.yaml")
        let started = ContinuousClock.now
        #expect {
            _ = try SweepSpec.load(path: file)
        } throws: { error in
            (error as? TopologyError).map {
                $0.field == "axes" && $0.line == 3
                    && $0.message.hasPrefix(
                        "10000000000 points (100 × 100 × 100 × 100 × 100); a sweep runs at most")
            } == true
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test("points of a grid are made one at a time, in file order (the last axis fastest)")
    func lazyPoints() throws {
        let dir = Harness.directory("sweep-lazy")
        _ = Harness.topology(minimalTopology, in: dir, name: "base.yaml")
        let file = Harness.topology(
            "base: base.yaml\naxes:\n  cluster.modules: [2, 4]\n  seed: [1, 2, 3]\n", in: dir, name: "s.yaml")
        let spec = try SweepSpec.load(path: file)
        #expect(spec.points.count == 6)
        #expect(
            spec.points.map { spec.key($0) } == [
                "cluster.modules=2;seed=1", "cluster.modules=2;seed=2", "cluster.modules=2;seed=3",
                "cluster.modules=4;seed=1", "cluster.modules=4;seed=2", "cluster.modules=4;seed=3",
            ])
    }

    @Test("a sweep's base is read when the sweep file is: missing, a directory or not YAML, it is named at `base`")
    func baseChecked() throws {
        let dir = Harness.directory("sweep-base")
        try FileManager.default.createDirectory(atPath: dir + "/d.yaml", withIntermediateDirectories: true)
        try "a: [1,\n".write(toFile: dir + "/broken.yaml", atomically: true, encoding: .utf8)
        for (base, fragment) in [
            ("none.yaml", "no such base topology"), ("d.yaml", "is a directory, not a base topology"),
            ("broken.yaml", "not valid YAML"),
        ] {
            let file = Harness.topology("base: \(base)\naxes:\n  seed: [1]\n", in: dir, name: "s.yaml")
            #expect {
                _ = try SweepSpec.load(path: file)
            } throws: { error in
                "\(error)".contains(fragment)
            }
        }
    }

    @Test("a sweep's CSV that is a directory, or cannot be written, is refused before the first point")
    func csvChecked() throws {
        let dir = Harness.directory("sweep-csv")
        _ = Harness.topology(minimalTopology, in: dir, name: "base.yaml")
        try FileManager.default.createDirectory(atPath: dir + "/out.csv", withIntermediateDirectories: true)
        let file = Harness.topology("base: base.yaml\noutput: out.csv\naxes:\n  seed: [1]\n", in: dir, name: "s.yaml")
        var runner = SweepRunner(spec: try SweepSpec.load(path: file))
        runner.progress = false
        #expect {
            _ = try runner.run()
        } throws: { error in
            "\(error)".contains("is a directory, not a sweep CSV")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out-points/point-0/results.json"))
    }
}
