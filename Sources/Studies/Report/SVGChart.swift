import Foundation

/// A small SVG chart writer: line charts (linear or log axes) and stacked bar charts, with a title, axis
/// labels (which carry the units), round tick labels, values on the bars and, for more than one series, a
/// legend. Every text is measured (`ChartStyle`) and given room, wrapped or rotated so that it stays inside
/// the picture. Self-contained SVG, no scripts or fonts.
public struct SVGChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logX = false
    public var logY = false
    let width = 860.0, plotHeight = 320.0
    static let tickSize = 11.0, labelSize = 12.0, legendSize = 11.0, titleSize = 16.0

    public init(title: String, xLabel: String, yLabel: String, logX: Bool = false, logY: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
        self.logY = logY
    }

    /// An axis: its ends, its ticks, and whether it is logarithmic.
    struct Axis {
        var lo: Double, hi: Double, ticks: [Double], log: Bool

        init(_ values: [Double], log: Bool, includeZero: Bool) {
            self.log = log
            let finite = values.compactMap(ChartStyle.plottable)
            let v = log ? finite.filter { $0 > 0 } : finite + (includeZero ? [0] : [])
            let lo = v.min() ?? (log ? 1 : 0), hi = v.max() ?? (log ? 10 : 1)
            (self.lo, self.hi, ticks) =
                log
                ? ChartStyle.logTicks(lo: lo, hi: hi)
                : ChartStyle.linearTicks(lo: lo, hi: hi)
        }

        /// Where `v` falls, 0 at `lo` to 1 at `hi`.
        func fraction(_ v: Double) -> Double {
            let (a, b, x) = log ? (log10(lo), log10(hi), log10(v)) : (lo, hi, v)
            return b > a ? (x - a) / (b - a) : 0.5
        }
    }

    /// The picture's layout: margins found from the texts they hold.
    struct Layout {
        var left: Double, right: Double, top: Double, bottom: Double, width: Double, plotHeight: Double
        var title: (lines: [String], size: Double)
        var legend: [[String]]
        var rotateCategories = false
        var plotWidth: Double { width - left - right }
        var height: Double { top + plotHeight + bottom }
        func px(_ f: Double) -> Double { left + f * plotWidth }
        func py(_ f: Double) -> Double { top + (1 - f) * plotHeight }
    }

    func layout(yAxis: Axis, legend names: [String], categories: [String]? = nil) -> Layout {
        let title = ChartStyle.fit(title, size: Self.titleSize, width: width - 40, bold: true)
        let top = 16 + Double(title.lines.count) * title.size * 1.25 + 12
        let tickWidth =
            yAxis.ticks.map { ChartStyle.textWidth(ChartStyle.tickLabel($0), size: Self.tickSize) }
            .max() ?? 0
        let left = max(70, tickWidth + 40)
        // A legend only tells series apart: none for a single one. Names wrap inside 200 px.
        let legend = names.count > 1 ? names.map { ChartStyle.wrap($0, size: Self.legendSize, width: 200) } : []
        let legendWidth = legend.flatMap { $0 }.map { ChartStyle.textWidth($0, size: Self.legendSize) }.max() ?? 0
        let right = legend.isEmpty ? 24 : legendWidth + 50
        var l = Layout(
            left: left, right: right, top: top, bottom: 56, width: width, plotHeight: plotHeight,
            title: title, legend: legend)
        let legendHeight = legend.reduce(0.0) { $0 + Double($1.count) * 14 + 6 }
        l.plotHeight = max(plotHeight, legendHeight)
        if let categories, !categories.isEmpty {
            let slot = l.plotWidth / Double(categories.count)
            let widest = categories.map { ChartStyle.textWidth($0, size: Self.tickSize) }.max() ?? 0
            if widest > slot * 0.95 {
                // Slanted labels: room below for the longest, and on the left for the first ones.
                l.rotateCategories = true
                l.bottom = 58 + widest * sin(Self.slant)
                let overhang =
                    categories.enumerated().map { i, c in
                        ChartStyle.textWidth(c, size: Self.tickSize) * cos(Self.slant) - slot * (Double(i) + 0.5)
                    }.max() ?? 0
                l.left = max(l.left, overhang + 12)
            }
        }
        return l
    }

    /// Slant of category labels that do not fit their slot (35°).
    static let slant = 35.0 * Double.pi / 180

    /// A line chart; each series a polyline with point markers.
    public func line(_ allSeries: [Series]) -> String {
        // Points that are not finite are left out; the others are drawn within ±1e300.
        let series = allSeries.map { s in
            Series(
                name: s.name,
                points: s.points.compactMap { p in
                    ChartStyle.plottable(p.x).flatMap { x in ChartStyle.plottable(p.y).map { (x, $0) } }
                })
        }
        let xAxis = Axis(series.flatMap { $0.points.map(\.x) }, log: logX, includeZero: false)
        let yAxis = Axis(series.flatMap { $0.points.map(\.y) }, log: logY, includeZero: true)
        let l = layout(yAxis: yAxis, legend: series.map(\.name))
        var body = frame(l, yAxis: yAxis)
        for t in xAxis.ticks {
            body += ChartStyle.text(
                [ChartStyle.tickLabel(t)], x: l.px(xAxis.fraction(t)), y: l.top + l.plotHeight + 16,
                size: Self.tickSize, anchor: "middle", attributes: "class=\"tick\"")
        }
        for (i, s) in series.enumerated() {
            let color = ChartStyle.color(i)
            let pts = s.points.filter { (!logX || $0.x > 0) && (!logY || $0.y > 0) }
                .map { (l.px(xAxis.fraction($0.x)), l.py(yAxis.fraction($0.y))) }
            let dash = ChartStyle.dash(i).map { " stroke-dasharray=\"\($0)\"" } ?? ""
            body +=
                "<polyline class=\"series\" data-series=\"\(Self.escape(s.name))\" fill=\"none\" "
                + "stroke=\"\(color)\" stroke-width=\"2\"\(dash) points=\""
                + pts.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ") + "\"/>\n"
            for p in pts {
                body += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", p.0, p.1, color)
            }
        }
        return document(l, body + legend(l))
    }

    /// Stacked bars: one bar per category, one segment per layer (`values[layer][category]`), the total on top
    /// where it fits.
    /// Layers beyond the palette's distinct colours are merged, smallest first, into one "other" layer, so that
    /// every colour means one thing.
    public func stackedBars(categories: [String], layers allLayers: [String], values allValues: [[Double]]) -> String {
        // A value that is not finite is drawn as 0, the others within ±1e300 (so totals stay finite).
        let finite = allValues.map { $0.map { ChartStyle.plottable($0) ?? 0 } }
        let (layers, values) = Self.merged(layers: allLayers, values: finite, keep: ChartStyle.palette.count)
        let totals = categories.indices.map { c in layers.indices.reduce(0.0) { $0 + values[$1][c] } }
        let yAxis = Axis(totals, log: false, includeZero: true)
        let l = layout(yAxis: yAxis, legend: layers, categories: categories)
        var body = frame(l, yAxis: yAxis)
        let slot = l.plotWidth / Double(max(categories.count, 1))
        for c in categories.indices {
            var base = 0.0
            let x = l.left + slot * Double(c)
            for layer in layers.indices {
                let v = values[layer][c]
                let y0 = l.py(yAxis.fraction(base)), y1 = l.py(yAxis.fraction(base + v))
                body += String(
                    format: "<rect class=\"segment\" data-layer=\"%@\" x=\"%.1f\" y=\"%.1f\" "
                        + "width=\"%.1f\" height=\"%.1f\" fill=\"%@\"/>\n", Self.escape(layers[layer]),
                    x + slot * 0.15, y1, slot * 0.7, max(0, y0 - y1), ChartStyle.color(layer))
                base += v
            }
            // The total over the bar, when it fits its slot (on narrow slots neighbours' totals would overlap; the
            // y axis still reads them).
            let total = ChartStyle.tickLabel(totals[c])
            if ChartStyle.textWidth(total, size: 10) <= slot {
                body += ChartStyle.text(
                    [total], x: x + slot / 2, y: l.py(yAxis.fraction(totals[c])) - 4, size: 10, anchor: "middle",
                    attributes: "class=\"value\"")
            }
            let ly = l.top + l.plotHeight + 16
            body += ChartStyle.text(
                [categories[c]], x: x + slot / 2, y: ly, size: Self.tickSize,
                anchor: l.rotateCategories ? "end" : "middle",
                attributes: "class=\"category\""
                    + (l.rotateCategories
                        ? String(format: " transform=\"rotate(-35 %.1f %.1f)\"", x + slot / 2, ly)
                        : ""))
        }
        return document(l, body + legend(l))
    }

    /// At most `keep` layers: the largest `keep` − 1 in their order, the rest summed into "other (N layers)".
    static func merged(layers: [String], values: [[Double]], keep: Int) -> (layers: [String], values: [[Double]]) {
        guard layers.count > keep else { return (layers, values) }
        let totals = values.map { $0.reduce(0, +) }
        let kept = Set(layers.indices.sorted { totals[$0] > totals[$1] }.prefix(keep - 1))
        let rest = layers.indices.filter { !kept.contains($0) }
        let other = values[0].indices.map { c in rest.reduce(0.0) { $0 + values[$1][c] } }
        let order = layers.indices.filter(kept.contains)
        return (order.map { layers[$0] } + ["other (\(rest.count) layers)"], order.map { values[$0] } + [other])
    }

    // MARK: Pieces

    func frame(_ l: Layout, yAxis: Axis) -> String {
        var s = "<rect x=\"0\" y=\"0\" width=\"\(l.width)\" height=\"\(l.height)\" fill=\"white\"/>\n"
        s += ChartStyle.text(
            l.title.lines, x: l.width / 2, y: 16 + l.title.size, size: l.title.size,
            anchor: "middle", attributes: "class=\"title\" font-weight=\"bold\"")
        for t in yAxis.ticks {
            let y = l.py(yAxis.fraction(t))
            s += String(
                format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                l.left, y, l.left + l.plotWidth, y)
            s += ChartStyle.text(
                [ChartStyle.tickLabel(t)], x: l.left - 6, y: y + 4, size: Self.tickSize,
                anchor: "end", attributes: "class=\"tick\"")
        }
        let bottom = l.top + l.plotHeight
        s += String(
            format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
            l.left, bottom, l.left + l.plotWidth, bottom)
        s += String(
            format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
            l.left, l.top, l.left, bottom)
        s += ChartStyle.text(
            [xLabel + (logX ? " (log scale)" : "")], x: l.left + l.plotWidth / 2, y: l.height - 14,
            size: Self.labelSize, anchor: "middle", attributes: "class=\"xlabel\"")
        let mid = l.top + l.plotHeight / 2
        let yText = ChartStyle.fit(yLabel + (logY ? " (log scale)" : ""), size: Self.labelSize, width: l.plotHeight)
        s += ChartStyle.text(
            yText.lines, x: 18, y: mid, size: yText.size, anchor: "middle",
            attributes: String(format: "class=\"ylabel\" transform=\"rotate(-90 18 %.1f)\"", mid))
        return s
    }

    func legend(_ l: Layout) -> String {
        var s = "", y = l.top + 10
        let x = l.width - l.right + 16
        for (i, lines) in l.legend.enumerated() {
            s += String(
                format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%@\"/>\n",
                x, y - 10, ChartStyle.color(i))
            s += ChartStyle.text(lines, x: x + 18, y: y, size: Self.legendSize, attributes: "class=\"legend\"")
            y += Double(lines.count) * 14 + 6
        }
        return s
    }

    func document(_ l: Layout, _ body: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            + "width=\"\(Int(l.width))\" height=\"\(Int(l.height.rounded(.up)))\" "
            + "viewBox=\"0 0 \(Int(l.width)) \(Int(l.height.rounded(.up)))\" font-family=\"sans-serif\">\n"
            + body + "</svg>\n"
    }

    static func number(_ v: Double) -> String { ChartStyle.tickLabel(v) }

    static func escape(_ s: String) -> String { ChartStyle.escape(s) }
}
