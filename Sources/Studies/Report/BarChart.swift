import Foundation

/// A bar chart for comparisons: one bar per category with its value (and an optional note such as a speedup)
/// printed on it, bars coloured by group (with a legend when there is more than one group), ticks at round
/// 1-2-5 steps, category labels slanted so that neighbours never overlap and given the room they need, a title
/// wrapped to the picture, and optional reference marks (a published figure) drawn as a black tick with a
/// diamond. Self-contained SVG.
public struct BarChart {
    public struct Bar: Sendable {
        public var category: String
        public var value: Double
        public var group: String
        /// A reference value or range to mark on the bar (for example the paper's), nil for none.
        public var reference: ClosedRange<Double>?
        /// A second line over the value (for example the speedup over a baseline), nil for none.
        public var note: String?

        public init(
            category: String, value: Double, group: String = "", reference: ClosedRange<Double>? = nil,
            note: String? = nil
        ) {
            self.category = category
            self.value = value
            self.group = group
            self.reference = reference
            self.note = note
        }
    }

    public var title: String
    public var yLabel: String
    /// What a reference mark means, for the legend ("paper (arXiv 2412.20166)").
    public var referenceLabel = "published value"
    /// printf format of the values on the bars.
    public var valueFormat = "%.1f"

    public init(title: String, yLabel: String) {
        self.title = title
        self.yLabel = yLabel
    }

    let plotHeight = 280.0, left = 84.0, right = 24.0
    static let tickSize = 11.0, categorySize = 11.0, legendSize = 11.0

    public func svg(_ allBars: [Bar]) -> String {
        // A value that is not finite is drawn as 0, the others within ±1e300.
        let bars = allBars.map { bar in
            var bar = bar
            bar.value = ChartStyle.plottable(bar.value) ?? 0
            return bar
        }
        let width = max(640.0, left + right + Double(bars.count) * 64)
        let peak = bars.map { max($0.value, $0.reference?.upperBound ?? 0) }.max() ?? 1
        let axis = ChartStyle.linearTicks(lo: 0, hi: peak > 0 ? peak * 1.12 : 1)
        let groups = bars.reduce(into: [String]()) { if !$0.contains($1.group) { $0.append($1.group) } }
        // Legend entries (several groups, a reference mark) flow left to right and wrap to new rows.
        var entries = groups.count > 1 ? groups.enumerated().map { ($1, ChartStyle.color($0), false) } : []
        if bars.contains(where: { $0.reference != nil }) { entries.append((referenceLabel, "black", true)) }
        var placed: [(name: String, color: String, isReference: Bool, x: Double, row: Int)] = []
        var lx = 20.0, row = 0
        for (name, color, isReference) in entries {
            let w = 16 + ChartStyle.textWidth(name, size: Self.legendSize) + 14
            if lx + w > width - 20 && lx > 20 { row += 1; lx = 20 }
            placed.append((name, color, isReference, lx, row))
            lx += w
        }
        let title = ChartStyle.fit(title, size: 16, width: width - 40, bold: true)
        let titleBottom = 12 + Double(title.lines.count) * title.size * 1.25
        let legendTop = titleBottom + 6
        let top = legendTop + Double(placed.isEmpty ? 0 : row + 1) * 16 + 18
        // Slanted category labels: room below for the longest, and on the left for the first ones.
        let slot = (width - left - right) / Double(max(bars.count, 1))
        let slant = 35.0 * Double.pi / 180
        let labelWidths = bars.map { ChartStyle.textWidth($0.category, size: Self.categorySize) }
        let overhang = labelWidths.enumerated().map { $1 * cos(slant) - slot * (Double($0) + 0.5) }.max() ?? 0
        let left = max(self.left, overhang + 12)
        let plotWidth = width - left - right
        let barSlot = plotWidth / Double(max(bars.count, 1))
        let bottom = 24 + (labelWidths.max() ?? 0) * sin(slant) + 14
        let height = top + plotHeight + bottom
        func y(_ v: Double) -> Double { top + (1 - v / axis.hi) * plotHeight }
        var s = "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"white\"/>\n"
        s += ChartStyle.text(
            title.lines, x: width / 2, y: 12 + title.size, size: title.size, anchor: "middle",
            attributes: "class=\"title\" font-weight=\"bold\"")
        for tick in axis.ticks {
            s += String(
                format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                left, y(tick), left + plotWidth, y(tick))
            s += ChartStyle.text(
                [ChartStyle.tickLabel(tick)], x: left - 6, y: y(tick) + 4, size: Self.tickSize,
                anchor: "end", attributes: "class=\"tick\"")
        }
        s += String(
            format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
            left, y(0), left + plotWidth, y(0))
        let mid = top + plotHeight / 2
        let yText = ChartStyle.fit(yLabel, size: 12, width: plotHeight)
        s += ChartStyle.text(
            yText.lines, x: 18, y: mid, size: yText.size, anchor: "middle",
            attributes: String(format: "class=\"ylabel\" transform=\"rotate(-90 18 %.1f)\"", mid))
        for (i, bar) in bars.enumerated() {
            let color = ChartStyle.color(groups.firstIndex(of: bar.group) ?? 0)
            let x = left + barSlot * Double(i), v = max(0, bar.value)
            s += String(
                format: "<rect class=\"bar\" data-category=\"%@\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    + "height=\"%.1f\" fill=\"%@\"/>\n", SVGChart.escape(bar.category), x + barSlot * 0.15, y(v),
                barSlot * 0.7, y(0) - y(v), color)
            // The value, and under it (inside the picture, above the bar) the bar's note, e.g. a speedup.
            let labels = [String(format: valueFormat, bar.value)] + (bar.note.map { [$0] } ?? [])
            // Lines 12 px apart, the last one's baseline 4 px above the bar; above a reference mark (its line and
            // diamond, 5 px each side) it would cover, lowest mark first. A range's shading may stay behind it.
            var lastBaseline = y(v) - 4
            for mark in bar.reference.map({ Set([$0.lowerBound, $0.upperBound]).sorted() }) ?? [] {
                let text = (lastBaseline - Double(labels.count - 1) * 12 - 10)...lastBaseline
                if (y(mark) - 5...y(mark) + 5).overlaps(text) { lastBaseline = y(mark) - 8 }
            }
            let valueY = lastBaseline - Double(labels.count - 1) * 12
            s += ChartStyle.text(
                labels, x: x + barSlot / 2, y: valueY, size: 10, anchor: "middle",
                attributes: "class=\"value\"")
            if let r = bar.reference {
                if r.upperBound > r.lowerBound {
                    s += String(
                        format: "<rect class=\"reference-range\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                            + "height=\"%.1f\" fill=\"black\" fill-opacity=\"0.18\"/>\n", x + barSlot * 0.08,
                        y(r.upperBound), barSlot * 0.84, y(r.lowerBound) - y(r.upperBound))
                }
                for v in Set([r.lowerBound, r.upperBound]).sorted() {
                    s += String(
                        format: "<line class=\"reference\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                            + "stroke=\"black\" stroke-width=\"2\"/>\n", x + barSlot * 0.08, y(v),
                        x + barSlot * 0.92, y(v))
                    s += diamond(x + barSlot / 2, y(v))
                }
            }
            let cx = x + barSlot / 2, cy = y(0) + 14
            s += ChartStyle.text(
                [bar.category], x: cx, y: cy, size: Self.categorySize, anchor: "end",
                attributes: String(
                    format: "class=\"category\" transform=\"rotate(-35 %.1f %.1f)\"",
                    cx, cy))
        }
        for entry in placed {
            let ey = legendTop + Double(entry.row) * 16 + 10
            s +=
                entry.isReference
                ? diamond(entry.x + 6, ey - 4)
                : String(
                    format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%@\"/>\n",
                    entry.x, ey - 10, entry.color)
            s += ChartStyle.text(
                [entry.name], x: entry.x + 16, y: ey, size: Self.legendSize,
                attributes: "class=\"legend\"")
        }
        let h = Int(height.rounded(.up))
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            + "width=\"\(Int(width))\" height=\"\(h)\" viewBox=\"0 0 \(Int(width)) \(h)\" "
            + "font-family=\"sans-serif\">\n" + s + "</svg>\n"
    }

    func diamond(_ x: Double, _ y: Double) -> String {
        String(
            format: "<path class=\"reference-mark\" d=\"M %.1f %.1f l 5 5 l -5 5 l -5 -5 z\" fill=\"black\"/>\n",
            x, y - 5)
    }
}
