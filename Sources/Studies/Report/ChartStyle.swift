import Foundation

/// What every chart shares: colours, round ticks, and text measured before it is placed, so that titles,
/// labels and legends are wrapped, rotated or given room instead of running off the picture.
public enum ChartStyle {
    /// Okabe & Ito's palette for colour-blind readers ("Color Universal Design", 2008), yellow left out (too
    /// light on white); beyond seven series the colours repeat and line charts dash the repeats.
    public static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]

    public static func color(_ i: Int) -> String { palette[i % palette.count] }

    /// Dash pattern of series `i` on line charts (solid for the first round of colours).
    public static func dash(_ i: Int) -> String? {
        switch i / palette.count {
        case 0: nil
        case 1: "6 3"
        default: "2 3"
        }
    }

    // MARK: Text

    /// Width of `text` in a sans-serif font of `size` px, estimated from character classes (narrow letters,
    /// wide letters, capitals, digits, others) with the advances of DejaVu Sans, the widest common sans-serif
    /// font (librsvg's and most Linux browsers' default); bold text is 12 % wider. Generous, so that the real
    /// font fits inside it.
    public static func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
        var em = 0.0
        for c in text {
            switch c {
            case "i", "j", "l", "I", ".", ",", ":", ";", "'", "|", "!", "(", ")", "[", "]":
                em += 0.34
            case " ", "f", "t", "r", "-":
                em += 0.4
            case "m", "w", "M", "W", "@", "%", "×", "—", "…":
                em += 0.98
            case "A"..."Z":
                em += 0.74
            case "0"..."9":
                em += 0.64
            default:
                em += 0.63
            }
        }
        return em * size * (bold ? 1.12 : 1)
    }

    /// `text` broken at spaces into lines no wider than `width` (a word longer than the width stays whole on
    /// its own line; callers shrink the font when even that does not fit).
    public static func wrap(_ text: String, size: Double, width: Double, bold: Bool = false) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            let candidate = line.isEmpty ? word : line + " " + word
            if line.isEmpty || textWidth(candidate, size: size, bold: bold) <= width {
                line = candidate
            } else {
                lines.append(line)
                line = word
            }
        }
        return line.isEmpty ? lines : lines + [line]
    }

    /// A text of at most two lines that fits `width`: wrapped at `size`, shrunk (down to 10 px) when two
    /// lines are not enough. Returns the lines and the font size.
    public static func fit(
        _ text: String, size: Double, width: Double,
        bold: Bool = false
    ) -> (lines: [String], size: Double) {
        var s = size
        while true {
            let lines = wrap(text, size: s, width: width, bold: bold)
            let widest = lines.map { textWidth($0, size: s, bold: bold) }.max() ?? 0
            if (lines.count <= 2 && widest <= width) || s <= 10 { return (lines, s) }
            s -= 0.5
        }
    }

    /// `<text>` with one `<tspan>` per line, `size` × 1.25 apart, starting at baseline `y`.
    static func text(
        _ lines: [String], x: Double, y: Double, size: Double, anchor: String = "start",
        attributes: String = ""
    ) -> String {
        var s =
            "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(f(size))\" text-anchor=\"\(anchor)\""
            + (attributes.isEmpty ? "" : " " + attributes) + ">"
        for (i, line) in lines.enumerated() {
            s += "<tspan x=\"\(f(x))\" dy=\"\(f(i == 0 ? 0 : size * 1.25))\">\(escape(line))</tspan>"
        }
        return s + "</text>\n"
    }

    /// A coordinate as SVG writes it (one decimal).
    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    // MARK: Ticks

    /// Round tick step for a range of `span` with about `count` ticks: 1, 2 or 5 × 10^k.
    public static func tickStep(span: Double, count: Int = 5) -> Double {
        guard span > 0, span.isFinite else { return 1 }
        let raw = span / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        for m in [1.0, 2.0, 5.0, 10.0] where m * magnitude >= raw * 0.999_999 { return m * magnitude }
        return 10 * magnitude
    }

    /// The largest magnitude a chart draws (values beyond are drawn at ±1e300): sums and spans of a few
    /// such values stay finite.
    public static let largestValue = 1e300

    /// `v` as a chart draws it: nil when it is not finite, else clamped to ±`largestValue`.
    public static func plottable(_ v: Double) -> Double? {
        v.isFinite ? min(max(v, -largestValue), largestValue) : nil
    }

    /// A linear axis over [lo, hi] widened to round ticks: the axis ends and the ticks between them. Ends that
    /// are not finite give the axis 0 … 1; a range the ticks cannot divide (ends so large that a tick step is
    /// below their precision) keeps its ends as its only ticks.
    public static func linearTicks(
        lo: Double, hi: Double,
        count: Int = 5
    ) -> (lo: Double, hi: Double, ticks: [Double]) {
        guard let lo = plottable(lo), let hi = plottable(hi) else { return (0, 1, [0, 1]) }
        let step = tickStep(span: hi > lo ? hi - lo : max(abs(hi), 1), count: count)
        let a = (lo / step).rounded(.down) * step
        var b = (hi / step).rounded(.up) * step
        if b <= a { b = a + step }
        let n = ((b - a) / step).rounded()
        guard a.isFinite, b.isFinite, b > a, n >= 1, n <= Double(20 * max(count, 1)) else {
            let top = hi > lo ? hi : lo + max(abs(lo), 1)
            return (lo, top, [lo, top])
        }
        return (a, b, (0...Int(n)).map { a + Double($0) * step })
    }

    /// A log axis over [lo, hi] (both > 0) whose ends are widened to the nearest 1-2-5 values (…, 50, 100,
    /// 200, 500, …), so that the data fill it: ticks at both ends and at every decade between them, and at 2
    /// and 5 times each decade when the axis spans at most two decades. Ends that are not positive and finite
    /// give the axis 1 … 10; ends below 1e-300 are raised to it.
    public static func logTicks(lo: Double, hi: Double) -> (lo: Double, hi: Double, ticks: [Double]) {
        guard var lo = plottable(lo), var hi = plottable(hi), lo > 0, hi > 0 else { return (1, 10, [1, 10]) }
        // Below 1e-300 the decades' powers of ten would underflow to 0.
        lo = max(lo, 1 / largestValue)
        hi = max(hi, lo)
        let tolerance = 1e-9
        /// The 1-2-5 values of the decades around `v`.
        func candidates(_ v: Double) -> [Double] {
            let decade = pow(10, floor(log10(v)))
            return [0.5, 1, 2, 5, 10, 20].map { $0 * decade }
        }
        let a = candidates(lo).last { $0 <= lo * (1 + tolerance) } ?? lo
        var b = candidates(hi).first { $0 >= hi * (1 - tolerance) } ?? hi
        if b <= a * (1 + tolerance) { b = candidates(a).first { $0 > a * (1 + tolerance) } ?? 10 * a }
        let dense = log10(b / a) <= 2 + tolerance
        var ticks = [a]
        for e in Int(floor(log10(a)))...Int(ceil(log10(b))) {
            for m in dense ? [1.0, 2, 5] : [1.0] {
                let t = m * pow(10, Double(e))
                if t > a * (1 + tolerance) && t < b * (1 - tolerance) { ticks.append(t) }
            }
        }
        return (a, b, ticks + [b])
    }

    /// A tick label: plain digits with thousands kept short (1.2k, 3M), no trailing zeros.
    public static func tickLabel(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1e6 { return trim(String(format: "%.3g", v / 1e6)) + "M" }
        if a >= 1e4 { return trim(String(format: "%.3g", v / 1e3)) + "k" }
        if a >= 1 { return trim(String(format: "%.4g", v)) }
        return trim(String(format: "%.3g", v))
    }

    static func trim(_ s: String) -> String {
        guard s.contains("."), !s.contains("e") else { return s }
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }
}
