import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif
import Studies

/// Counts elements of an XML document by name and attribute (parsing fails on invalid XML).
public final class ElementCounter: NSObject, XMLParserDelegate {
    public var counts: [String: Int] = [:]
    public var classes: [String: Int] = [:]
    public func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        counts[name, default: 0] += 1
        if let c = attributes["class"] { classes[c, default: 0] += 1 }
    }

    public static func parse(_ svg: String) -> ElementCounter? {
        let counter = ElementCounter()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = counter
        return parser.parse() ? counter : nil
    }
}

/// The text elements of an SVG that reach past its edges, as "text (x0…x1, y0…y1)": each line's box from
/// `ChartStyle.textWidth` (the estimate the charts lay out with) and the font size, rotated as its transform
/// says, checked against the SVG's width and height.
public final class TextBounds: NSObject, XMLParserDelegate {
    public var width = 0.0, height = 0.0
    public var overflows: [String] = []
    private var element:
        (
            x: Double, y: Double, size: Double, anchor: String, bold: Bool,
            rotation: (Double, Double, Double)?
        )?
    private var line: (x: Double, y: Double)?
    private var text = ""

    public func parser(
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

    public func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    public func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
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

    public static func overflows(_ svg: String) -> [String] {
        let bounds = TextBounds()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = bounds
        return parser.parse() ? bounds.overflows : ["not XML"]
    }
}
