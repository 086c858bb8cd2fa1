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
    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
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

/// The text elements of an SVG that reach past its edges, as "text (x0…x1, y0…y1)": each line's box from
/// `ChartStyle.textWidth` (the estimate the charts lay out with) and the font size, rotated as its transform
/// says, checked against the SVG's width and height.
final class TextBounds: NSObject, XMLParserDelegate {
    var width = 0.0, height = 0.0
    var overflows: [String] = []
    private var element:
        (
            x: Double, y: Double, size: Double, anchor: String, bold: Bool,
            rotation: (Double, Double, Double)?
        )?
    private var line: (x: Double, y: Double)?
    private var text = ""

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes a: [String: String] = [:]
    ) {
        func number(_ key: String) -> Double { a[key].flatMap(Double.init) ?? 0 }
        switch name {
        case "svg":
            width = number("width")
            height = number("height")
        case "text":
            var rotation: (Double, Double, Double)?
            if let t = a["transform"], t.hasPrefix("rotate(") {
                let v = t.dropFirst(7).dropLast().split(separator: " ").compactMap { Double($0) }
                if v.count == 3 { rotation = (v[0], v[1], v[2]) }
            }
            element = (
                number("x"), number("y"), a["font-size"].flatMap(Double.init) ?? 16,
                a["text-anchor"] ?? "start", a["font-weight"] == "bold", rotation
            )
            line = (number("x"), number("y"))
            text = ""
        case "tspan":
            finishLine()
            if let e = element { line = (a["x"].flatMap(Double.init) ?? e.x, (line?.y ?? e.y) + number("dy")) }
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "tspan" || name == "text" { finishLine() }
        if name == "text" { element = nil }
    }

    private func finishLine() {
        defer { text = "" }
        guard let e = element, let l = line, !text.isEmpty else { return }
        let w = ChartStyle.textWidth(text, size: e.size, bold: e.bold)
        let x0 = e.anchor == "middle" ? l.x - w / 2 : e.anchor == "end" ? l.x - w : l.x
        var corners = [
            (x0, l.y - e.size * 0.8), (x0 + w, l.y - e.size * 0.8), (x0, l.y + e.size * 0.2),
            (x0 + w, l.y + e.size * 0.2),
        ]
        if let (angle, cx, cy) = e.rotation {
            let r = angle * Double.pi / 180
            corners = corners.map {
                (
                    cx + ($0.0 - cx) * cos(r) - ($0.1 - cy) * sin(r),
                    cy + ($0.0 - cx) * sin(r) + ($0.1 - cy) * cos(r)
                )
            }
        }
        let xs = corners.map(\.0), ys = corners.map(\.1)
        if xs.min()! < -0.5 || ys.min()! < -0.5 || xs.max()! > width + 0.5 || ys.max()! > height + 0.5 {
            overflows.append(
                String(
                    format: "%@ (%.0f…%.0f, %.0f…%.0f in %.0f × %.0f)", text, xs.min()!, xs.max()!,
                    ys.min()!, ys.max()!, width, height))
        }
    }

    static func overflows(_ svg: String) -> [String] {
        let bounds = TextBounds()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = bounds
        return parser.parse() ? bounds.overflows : ["not XML"]
    }
}

@Suite("Charts and reports")
struct ReportTests {
    @Test("a line chart is valid SVG with one polyline per series, title, axis labels and a legend")
    func lineChart() throws {
        let svg = SVGChart(
            title: "throughput <vs> modules", xLabel: "modules", yLabel: "throughput (tokens/s)", logX: true
        )
        .line([
            .init(name: "a & b", points: [(8, 100), (16, 190), (64, 700)]),
            .init(name: "c", points: [(8, 50), (64, 90)]),
        ])
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
            .stackedBars(
                categories: ["s0", "s1", "s2"], layers: ["compute", "idle"], values: [[1, 2, 3], [3, 2, 1]])
        let counter = try #require(ElementCounter.parse(svg))
        #expect(counter.classes["segment"] == 6)
        #expect(counter.classes["legend"] == 2)
    }

    @Test("no text reaches past a chart's edge: long titles, labels and legends are wrapped, slanted or given room")
    func textInside() {
        let long = "a rather long title that names the model, the dataset, the system and what the chart shows"
        let line = SVGChart(
            title: long, xLabel: "context (tokens)", yLabel: "throughput (tokens/s)", logX: true,
            logY: true
        )
        .line(
            (0..<9).map { i in
                .init(
                    name: "series \(i) with a long name: LoL-PIM on xPU+PIM",
                    points: [(256, 10), (1_048_576, Double(100 * (i + 1)))])
            })
        let stacked = SVGChart(title: long, xLabel: "stage", yLabel: "time (ms)")
            .stackedBars(
                categories: (0..<12).map { "pipeline stage number \($0)" }, layers: ["compute", "idle"],
                values: [Array(repeating: 1.5, count: 12), Array(repeating: 1099, count: 12)])
        var chart = BarChart(
            title: long + ", and then some more words so that it needs two lines",
            yLabel: "× over CENT")
        chart.referenceLabel = "paper (LoL-PIM over CENT or NeuPIMs; \"up to\" figures are maxima)"
        let bars = (0..<10).map { i in
            BarChart.Bar(
                category: "+tcp +dcs +dpa (LoL-PIM on xPU+PIM) \(i)", value: Double(i) * 3.3,
                group: "group \(i % 4) with a name", reference: i == 3 ? 2.1...4.5 : nil, note: "\(i)×")
        }
        let outside = "<svg width=\"100\" height=\"50\"><text x=\"95\" y=\"20\" font-size=\"12\">too long</text></svg>"
        #expect(TextBounds.overflows(outside).count == 1, "the check itself finds a text past the edge")
        for (name, svg) in [
            ("line", line), ("stacked", stacked), ("bars", chart.svg(bars)),
            ("one bar", chart.svg(Array(bars.prefix(1)))),
        ] {
            #expect(TextBounds.overflows(svg).isEmpty, "\(name): \(TextBounds.overflows(svg))")
        }
    }

    @Test("axes have round 1-2-5 ticks, log axes whole decades, and one series no legend")
    func ticks() throws {
        #expect(ChartStyle.linearTicks(lo: 0, hi: 3156).ticks == [0, 1000, 2000, 3000, 4000])
        #expect(ChartStyle.linearTicks(lo: 0, hi: 0.42).ticks.map { ($0 * 100).rounded() } == [0, 10, 20, 30, 40, 50])
        #expect(ChartStyle.logTicks(lo: 0.096, hi: 1099).ticks == [0.01, 0.1, 1, 10, 100, 1000, 10000])
        #expect(
            ChartStyle.tickLabel(2000) == "2000" && ChartStyle.tickLabel(20000) == "20k"
                && ChartStyle.tickLabel(1_048_576) == "1.05M" && ChartStyle.tickLabel(0.5) == "0.5")
        let one = SVGChart(title: "t", xLabel: "x", yLabel: "y").line([.init(name: "only", points: [(1, 2), (2, 3)])])
        #expect(try #require(ElementCounter.parse(one)).classes["legend"] == nil)
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
            #expect(TextBounds.overflows(svg).isEmpty, "\(name).svg: \(TextBounds.overflows(svg))")
        }
        let html = try String(contentsOfFile: dir + "/report/index.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("tokens/s"))

        let csv = dir + "/sweep.csv"
        let header = ["point", "cluster.modules", "status", "error"] + SweepCSV.figures
        let rows =
            [header]
            + [4, 8, 16].map { m in
                ["cluster.modules=\(m)", "\(m)", "ok", ""]
                    + SweepCSV.figures.indices.map { "\(Double($0 + 1) * Double(m))" }
            } + [
                ["cluster.modules=32", "32", "failed", "does not fit"]
                    + Array(repeating: "", count: SweepCSV.figures.count)
            ]
        try rows.map { SweepCSV.line($0) }.joined(separator: "\n").appending("\n").write(
            toFile: csv, atomically: true, encoding: .utf8)
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
