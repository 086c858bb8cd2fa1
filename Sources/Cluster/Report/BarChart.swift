import Foundation

/// A bar chart for comparisons: one bar per category with its value printed on it, bars coloured by group
/// (with a legend when there is more than one group), ticks at round steps, category labels slanted so that
/// neighbours never overlap, and optional reference marks (a published figure) drawn as a black tick with a
/// diamond. Self-contained SVG.
public struct BarChart {
    public struct Bar: Sendable {
        public var category: String
        public var value: Double
        public var group: String
        /// A reference value or range to mark on the bar (for example the paper's), nil for none.
        public var reference: ClosedRange<Double>?

        public init(category: String, value: Double, group: String = "", reference: ClosedRange<Double>? = nil) {
            self.category = category
            self.value = value
            self.group = group
            self.reference = reference
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

    let height = 460.0, top = 56.0, left = 84.0, right = 24.0, bottom = 130.0

    /// Round tick step for a range of `span` with about `count` ticks: 1, 2 or 5 × 10^k.
    static func tickStep(span: Double, count: Int = 5) -> Double {
        guard span > 0 else { return 1 }
        let raw = span / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        for m in [1.0, 2.0, 5.0, 10.0] where m * magnitude >= raw { return m * magnitude }
        return 10 * magnitude
    }

    public func svg(_ bars: [Bar]) -> String {
        let width = max(640.0, left + right + Double(bars.count) * 64)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let peak = bars.map { max($0.value, $0.reference?.upperBound ?? 0) }.max() ?? 1
        let step = Self.tickStep(span: peak > 0 ? peak * 1.12 : 1)
        let axisMax = (peak * 1.12 / step).rounded(.up) * step
        func y(_ v: Double) -> Double { top + (1 - v / axisMax) * plotHeight }
        let groups = bars.reduce(into: [String]()) { if !$0.contains($1.group) { $0.append($1.group) } }
        var s = "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"white\"/>\n"
        // A long title gets a smaller font rather than running off the edge.
        let titleSize = min(16, (width - 40) / (Double(title.count) * 0.56))
        s += String(format: "<text class=\"title\" x=\"%.1f\" y=\"26\" font-size=\"%.1f\" font-weight=\"bold\" "
                    + "text-anchor=\"middle\">%@</text>\n", width / 2, titleSize, SVGChart.escape(title))
        var tick = 0.0
        while tick <= axisMax + step / 2 {
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                        left, y(tick), left + plotWidth, y(tick))
            s += String(format: "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%@"
                        + "</text>\n", left - 6, y(tick) + 4, SVGChart.number(tick))
            tick += step
        }
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                    left, y(0), left + plotWidth, y(0))
        s += String(format: "<text class=\"ylabel\" x=\"18\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
                    + "transform=\"rotate(-90 18 %.1f)\">%@</text>\n", top + plotHeight / 2,
                    top + plotHeight / 2, SVGChart.escape(yLabel))
        let slot = plotWidth / Double(max(bars.count, 1))
        for (i, bar) in bars.enumerated() {
            let color = SVGChart.palette[(groups.firstIndex(of: bar.group) ?? 0) % SVGChart.palette.count]
            let x = left + slot * Double(i), v = max(0, bar.value)
            s += String(format: "<rect class=\"bar\" data-category=\"%@\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                        + "height=\"%.1f\" fill=\"%@\"/>\n", SVGChart.escape(bar.category), x + slot * 0.15, y(v),
                        slot * 0.7, y(0) - y(v), color)
            s += String(format: "<text class=\"value\" x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">"
                        + "%@</text>\n", x + slot / 2, y(v) - 4, String(format: valueFormat, bar.value))
            if let r = bar.reference {
                if r.upperBound > r.lowerBound {
                    s += String(format: "<rect class=\"reference-range\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                                + "height=\"%.1f\" fill=\"black\" fill-opacity=\"0.18\"/>\n", x + slot * 0.08,
                                y(r.upperBound), slot * 0.84, y(r.lowerBound) - y(r.upperBound))
                }
                for v in Set([r.lowerBound, r.upperBound]).sorted() {
                    s += String(format: "<line class=\"reference\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                                + "stroke=\"black\" stroke-width=\"2\"/>\n", x + slot * 0.08, y(v), x + slot * 0.92, y(v))
                    s += diamond(x + slot / 2, y(v))
                }
            }
            let lx = x + slot / 2, ly = y(0) + 14
            s += String(format: "<text class=\"category\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" "
                        + "transform=\"rotate(-35 %.1f %.1f)\">%@</text>\n", lx, ly, lx, ly,
                        SVGChart.escape(bar.category))
        }
        var entries = groups.count > 1 ? groups.enumerated().map { ($1, SVGChart.palette[$0 % 16], false) } : []
        if bars.contains(where: { $0.reference != nil }) { entries.append((referenceLabel, "black", true)) }
        var lx = left
        for (name, color, isReference) in entries {
            s += isReference ? diamond(lx + 6, 42)
                : String(format: "<rect x=\"%.1f\" y=\"36\" width=\"12\" height=\"12\" fill=\"%@\"/>\n", lx, color)
            s += String(format: "<text class=\"legend\" x=\"%.1f\" y=\"46\" font-size=\"11\">%@</text>\n", lx + 16,
                        SVGChart.escape(name))
            lx += 28 + Double(name.count) * 6.2
        }
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            + "width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
            + "font-family=\"sans-serif\">\n" + s + "</svg>\n"
    }

    func diamond(_ x: Double, _ y: Double) -> String {
        String(format: "<path class=\"reference-mark\" d=\"M %.1f %.1f l 5 5 l -5 5 l -5 -5 z\" fill=\"black\"/>\n",
               x, y - 5)
    }
}
