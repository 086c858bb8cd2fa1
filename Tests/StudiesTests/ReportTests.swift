@testable import Cluster
import Foundation
import Pipeline
@testable import Studies
import TestSupport
import Testing

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

    @Test("a run with a network gets a link-utilisation chart (two bars per used class) and an exposed-comm chart")
    func networkCharts() throws {
        let yaml = """
            model: llm-7b-32k
            cluster: {modules: 4}
            network: {nodes: 2, nic: {bandwidth_gbit: 25}}
            workload: {batch_size: 2, context: 1000, decode_steps: 2, prefill_kv: transfer}
            """
        let network = try #require(try sequential(yaml).simulated.network)
        let charts = Report.networkCharts(network)
        #expect(charts.map(\.0) == ["link-utilisation", "exposed-communication"])
        for (_, svg) in charts {
            #expect(ElementCounter.parse(svg) != nil)
            #expect(TextBounds.overflows(svg).isEmpty, "\(TextBounds.overflows(svg))")
        }
        // module_port, host_port, switch_uplink and nic are all used with two nodes: 8 bars.
        #expect(ElementCounter.parse(charts[0].1)?.classes["bar"] == 8)
        #expect(ElementCounter.parse(charts[1].1)?.classes["bar"] == 4)
    }

    @Test("axes have round 1-2-5 ticks, log axes 1-2-5 ends and decades, and one series no legend")
    func ticks() throws {
        #expect(ChartStyle.linearTicks(lo: 0, hi: 3156).ticks == [0, 1000, 2000, 3000, 4000])
        #expect(ChartStyle.linearTicks(lo: 0, hi: 0.42).ticks.map { ($0 * 100).rounded() } == [0, 10, 20, 30, 40, 50])
        let wide = ChartStyle.logTicks(lo: 0.096, hi: 1099).ticks.map(ChartStyle.tickLabel)
        #expect(wide == ["0.05", "0.1", "1", "10", "100", "1000", "2000"])
        // The memory-scaling chart of lolpim paper: 128 to 1,024 GB.
        #expect(ChartStyle.logTicks(lo: 128, hi: 1024).ticks == [100, 200, 500, 1000, 2000])
        #expect(ChartStyle.logTicks(lo: 100, hi: 100).ticks == [100, 200])
        #expect(
            ChartStyle.tickLabel(2000) == "2000" && ChartStyle.tickLabel(20000) == "20k"
                && ChartStyle.tickLabel(1_048_576) == "1.05M" && ChartStyle.tickLabel(0.5) == "0.5")
        let one = SVGChart(title: "t", xLabel: "x", yLabel: "y").line([.init(name: "only", points: [(1, 2), (2, 3)])])
        #expect(try #require(ElementCounter.parse(one)).classes["legend"] == nil)
    }
}
