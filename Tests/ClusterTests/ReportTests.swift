import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Cluster

/// Counts elements of an XML document by name and attribute (parsing fails on invalid XML).
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var classes: [String: Int] = [:]
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
        if let c = attributes["class"] { classes[c, default: 0] += 1 }
    }

    static func parse(_ svg: String) -> ElementCounter? {
        let counter = ElementCounter()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = counter
        return parser.parse() ? counter : nil
    }
}

@Suite("Charts and reports")
struct ReportTests {
    @Test("a line chart is valid SVG with one polyline per series, title, axis labels and a legend")
    func lineChart() throws {
        let svg = SVGChart(title: "throughput <vs> modules", xLabel: "modules", yLabel: "throughput (tokens/s)", logX: true)
            .line([.init(name: "a & b", points: [(8, 100), (16, 190), (64, 700)]), .init(name: "c", points: [(8, 50), (64, 90)])])
        let counter = try #require(ElementCounter.parse(svg))
        #expect(counter.counts["svg"] == 1)
        #expect(counter.classes["series"] == 2)
        #expect(counter.counts["circle"] == 5)
        #expect(counter.classes["title"] == 1 && counter.classes["xlabel"] == 1 && counter.classes["ylabel"] == 1)
        #expect(counter.classes["legend"] == 2)
        #expect(svg.contains("modules (log scale)"))
        #expect(svg.contains("throughput &lt;vs&gt; modules"))
    }

    @Test("a stacked bar chart has a segment per layer and category")
    func stackedBars() throws {
        let svg = SVGChart(title: "t", xLabel: "stage", yLabel: "time (ms)")
            .stackedBars(categories: ["s0", "s1", "s2"], layers: ["compute", "idle"], values: [[1, 2, 3], [3, 2, 1]])
        let counter = try #require(ElementCounter.parse(svg))
        #expect(counter.classes["segment"] == 6)
        #expect(counter.classes["legend"] == 2)
    }

    @Test("lolpim report turns results.json and a sweep CSV into SVG charts and an HTML page")
    func reportFiles() throws {
        let dir = Harness.directory("report")
        let file = Harness.topology(determinismTopology, in: dir)
        let run = try Harness.run(["run", file, "--output", dir + "/run", "--quiet", "--transport", "inproc"], in: dir)
        #expect(run.status == 0)
        let report = try Harness.run(["report", dir + "/run/results.json", "--output", dir + "/report"], in: dir)
        #expect(report.status == 0, "\(report.stderr)")
        for name in ["time-breakdown", "energy", "kv-capacity", "effective-batch"] {
            let svg = try String(contentsOfFile: dir + "/report/\(name).svg", encoding: .utf8)
            #expect(ElementCounter.parse(svg) != nil, "\(name).svg is not valid XML")
        }
        let html = try String(contentsOfFile: dir + "/report/index.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("tokens/s"))

        let csv = dir + "/sweep.csv"
        let header = ["point", "cluster.modules", "status", "error"] + SweepCSV.figures
        let rows = [header] + [4, 8, 16].map { m in
            ["cluster.modules=\(m)", "\(m)", "ok", ""] + SweepCSV.figures.indices.map { "\(Double($0 + 1) * Double(m))" }
        } + [["cluster.modules=32", "32", "failed", "does not fit"] + Array(repeating: "", count: SweepCSV.figures.count)]
        try rows.map { SweepCSV.line($0) }.joined(separator: "\n").appending("\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let sweep = try Harness.run(["report", csv, "--output", dir + "/sweep-report"], in: dir)
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let throughput = try String(contentsOfFile: dir + "/sweep-report/throughput_tokens_per_s.svg", encoding: .utf8)
        let counter = try #require(ElementCounter.parse(throughput))
        #expect(counter.classes["series"] == 1)
        #expect(counter.counts["circle"] == 3)
        let bad = try Harness.run(["report", file], in: dir)
        #expect(bad.status == 2)
    }
}
