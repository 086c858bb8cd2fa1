import Foundation

/// A small SVG chart writer: line charts (linear or log axes) and stacked bar charts, with a title, axis
/// labels (which carry the units), tick labels and a legend. Self-contained SVG, no scripts or fonts.
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
    let width = 860.0, height = 440.0
    let left = 80.0, right = 300.0, top = 40.0, bottom = 60.0
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                          "#bcbd22", "#393b79", "#ad494a", "#637939", "#843c39", "#7b4173", "#3182bd", "#c7c7c7"]

    public init(title: String, xLabel: String, yLabel: String, logX: Bool = false, logY: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
        self.logY = logY
    }

    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }

    /// A line chart; each series a polyline with point markers.
    public func line(_ series: [Series]) -> String {
        let xs = series.flatMap { $0.points.map(\.x) }.filter { !logX || $0 > 0 }
        let ys = series.flatMap { $0.points.map(\.y) }.filter { !logY || $0 > 0 }
        let xr = Self.range(xs, log: logX), yr = Self.range(ys + (logY ? [] : [0]), log: logY)
        var body = frame(xRange: xr, yRange: yr, categories: nil)
        for (i, s) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            let pts = s.points.filter { (!logX || $0.x > 0) && (!logY || $0.y > 0) }
                .map { (px(scale($0.x, xr, logX)), py(scale($0.y, yr, logY))) }
            body += "<polyline class=\"series\" data-series=\"\(Self.escape(s.name))\" fill=\"none\" stroke=\"\(color)\" "
                + "stroke-width=\"2\" points=\"\(pts.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " "))\"/>\n"
            for p in pts { body += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", p.0, p.1, color) }
        }
        return document(body + legend(series.map(\.name)))
    }

    /// Stacked bars: one bar per category, one segment per layer (`values[layer][category]`).
    public func stackedBars(categories: [String], layers: [String], values: [[Double]]) -> String {
        let totals = categories.indices.map { c in layers.indices.reduce(0.0) { $0 + values[$1][c] } }
        let yr = Self.range(totals + [0], log: false)
        var body = frame(xRange: (0, Double(categories.count)), yRange: yr, categories: categories)
        let slot = plotWidth / Double(max(categories.count, 1))
        for c in categories.indices {
            var base = 0.0
            for l in layers.indices {
                let v = values[l][c]
                let y0 = py(scale(base, yr, false)), y1 = py(scale(base + v, yr, false))
                body += String(format: "<rect class=\"segment\" data-layer=\"%@\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"/>\n",
                               Self.escape(layers[l]), left + slot * (Double(c) + 0.15), y1, slot * 0.7, max(0, y0 - y1),
                               Self.palette[l % Self.palette.count])
                base += v
            }
        }
        return document(body + legend(layers))
    }

    // MARK: Pieces

    func px(_ f: Double) -> Double { left + f * plotWidth }
    func py(_ f: Double) -> Double { top + (1 - f) * plotHeight }

    func scale(_ v: Double, _ r: (Double, Double), _ log: Bool) -> Double {
        let (a, b) = log ? (log10(r.0), log10(r.1)) : r
        let x = log ? log10(v) : v
        return b > a ? (x - a) / (b - a) : 0.5
    }

    static func range(_ values: [Double], log: Bool) -> (Double, Double) {
        guard let lo = values.min(), let hi = values.max() else { return (0, 1) }
        if log { return (pow(10, floor(log10(lo))), pow(10, ceil(log10(hi)))) }
        if hi == lo { return (lo - 1, hi + 1) }
        return (lo, hi + (hi - lo) * 0.05)
    }

    func frame(xRange: (Double, Double), yRange: (Double, Double), categories: [String]?) -> String {
        var s = "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"white\"/>\n"
        s += "<text class=\"title\" x=\"\(left)\" y=\"24\" font-size=\"16\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, top + plotHeight, left + plotWidth, top + plotHeight)
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, top, left, top + plotHeight)
        for i in 0...4 {
            let f = Double(i) / 4
            let value = logY ? pow(10, log10(yRange.0) + f * (log10(yRange.1) - log10(yRange.0))) : yRange.0 + f * (yRange.1 - yRange.0)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%@</text>\n", left - 6, py(f) + 4, Self.number(value))
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, py(f), left + plotWidth, py(f))
        }
        if let categories {
            let slot = plotWidth / Double(max(categories.count, 1))
            for (i, c) in categories.enumerated() {
                s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%@</text>\n",
                            left + slot * (Double(i) + 0.5), top + plotHeight + 16, Self.escape(c))
            }
        } else {
            for i in 0...4 {
                let f = Double(i) / 4
                let value = logX ? pow(10, log10(xRange.0) + f * (log10(xRange.1) - log10(xRange.0))) : xRange.0 + f * (xRange.1 - xRange.0)
                s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%@</text>\n", px(f), top + plotHeight + 16, Self.number(value))
            }
        }
        s += String(format: "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%@</text>\n",
                    left + plotWidth / 2, height - 18, Self.escape(xLabel + (logX ? " (log scale)" : "")))
        s += String(format: "<text class=\"ylabel\" x=\"18\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.1f)\">%@</text>\n",
                    top + plotHeight / 2, top + plotHeight / 2, Self.escape(yLabel + (logY ? " (log scale)" : "")))
        return s
    }

    func legend(_ names: [String]) -> String {
        var s = ""
        for (i, name) in names.enumerated() {
            let y = top + 14 + Double(i) * 18
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%@\"/>\n", width - right + 12, y - 10, Self.palette[i % Self.palette.count])
            s += String(format: "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%@</text>\n", width - right + 30, y, Self.escape(name))
        }
        return s
    }

    func document(_ body: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\">\n" + body + "</svg>\n"
    }

    static func number(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1e6 || a < 1e-2 { return String(format: "%.2g", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        return String(format: "%.3g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
