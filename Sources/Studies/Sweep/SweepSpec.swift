import Cluster
import Foundation
import Workload
import Yams

/// A sweep file: a base topology and the topology fields to vary. Keys:
/// - `base` (required): the topology file the points start from, relative to the sweep file.
/// - `axes`: a mapping from dotted topology field (e.g. `cluster.modules`, `workload.context`) to a list of
///   values; the points are the cross product, in file order (the last axis varies fastest).
/// - `points`: instead of `axes`, an explicit list of mappings from field to value.
/// - `output`: the CSV file, relative to the sweep file (default: the sweep file's name with `.csv`).
/// - `transport`: how each point's processes talk (ipc, tcp or inproc; default ipc).
public struct SweepSpec {
    public var file: String
    public var baseFile: String
    /// The base topology's text, read once when the sweep file is loaded (nil: read it when a point needs it).
    public var baseText: String?
    public var output: String
    public var transport: TransportKind
    /// Field names, in column order.
    public var fields: [String]
    /// Each point: a value per field (YAML nodes, so lists and mappings work as values); nil where a point
    /// of an explicit `points` list leaves the field out (the base file's value stays).
    public var points: SweepPoints

    /// The most points one sweep may have: each is a whole run, and 100,000 runs of a second take more than a
    /// day. A larger grid is refused before anything runs, with its count.
    public static let maxPoints = 100_000

    public init(
        file: String, baseFile: String, baseText: String? = nil, output: String, transport: TransportKind,
        fields: [String], points: [[Node?]]
    ) {
        self.init(
            file: file, baseFile: baseFile, baseText: baseText, output: output, transport: transport, fields: fields,
            points: SweepPoints(list: points))
    }

    init(
        file: String, baseFile: String, baseText: String?, output: String, transport: TransportKind,
        fields: [String], points: SweepPoints
    ) {
        self.file = file
        self.baseFile = baseFile
        self.baseText = baseText
        self.output = output
        self.transport = transport
        self.fields = fields
        self.points = points
    }

    public static func load(path: String) throws -> SweepSpec {
        var doc = try YAMLMapping.readFile(path, what: "sweep")
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        guard let base = try doc.scalar("base") else {
            throw doc.error("base", "required: the topology file to start from")
        }
        let baseFile = base.hasPrefix("/") ? base : directory.appendingPathComponent(base).path
        // The base is read and parsed now: a missing or broken base would otherwise fail every point.
        let baseText: String
        do {
            baseText = try InputFile.text(baseFile, what: "base topology", maxBytes: YAMLMapping.maxFileBytes)
            _ = try YAMLMapping.document(yaml: baseText, file: baseFile, whenEmpty: "the base topology is empty")
        } catch let error as InputFileError {
            throw doc.error("base", "\(SafeText.clip(baseFile, limit: 500)): \(error.message)")
        }
        let defaultOutput = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + ".csv"
        let outputName = try doc.string("output", default: defaultOutput)
        let output = outputName.hasPrefix("/") ? outputName : directory.appendingPathComponent(outputName).path
        let transportName = try doc.string("transport", default: "ipc")
        guard let transport = TransportKind(rawValue: transportName) else {
            throw doc.error("transport", "expected ipc, tcp or inproc, found '\(transportName)'")
        }
        var fields: [String] = []
        var points = SweepPoints(list: [])
        if let axesNode = doc.node("axes") {
            guard case .mapping(let axes) = axesNode, !axes.isEmpty else {
                throw doc.error("axes", "expected a mapping from topology field to a list of values")
            }
            var lists: [[Node]] = []
            for (key, value) in axes {
                guard case .sequence(let list) = value, !list.isEmpty else {
                    throw TopologyError(
                        file: path, line: value.mark?.line, column: value.mark?.column,
                        field: "axes.\(key.string ?? "?")", message: "expected a non-empty list of values")
                }
                let name = key.string ?? ""
                if let problem = TopologySchema.problem(with: name) {
                    throw TopologyError(
                        file: path, line: key.mark?.line, column: key.mark?.column,
                        field: "axes", message: problem)
                }
                fields.append(name)
                lists.append(Array(list))
            }
            // Counted before anything is built; the points themselves are made one at a time when run.
            let count = lists.reduce(1) { product, list in
                let (next, overflow) = product.multipliedReportingOverflow(by: list.count)
                return overflow ? Int.max : next
            }
            guard count <= maxPoints else {
                let sizes = lists.map { String($0.count) }.joined(separator: " × ")
                throw doc.error(
                    "axes",
                    "\(count == Int.max ? "more than \(Int.max)" : String(count)) points (\(sizes)); a sweep runs at "
                        + "most \(maxPoints): split it into several sweeps or use fewer values")
            }
            points = SweepPoints(axes: lists)
        }
        if let pointsNode = doc.node("points") {
            guard points.isEmpty else { throw doc.error("points", "give either axes or points, not both") }
            guard case .sequence(let list) = pointsNode, !list.isEmpty else {
                throw doc.error("points", "expected a list of mappings from topology field to value")
            }
            guard list.count <= maxPoints else {
                throw doc.error("points", "\(list.count) points; a sweep runs at most \(maxPoints)")
            }
            for item in list {
                guard case .mapping(let m) = item else {
                    throw TopologyError(
                        file: path, line: item.mark?.line, column: item.mark?.column, field: "points",
                        message: "each point is a mapping from topology field to value")
                }
                for (keyNode, _) in m {
                    let key = keyNode.string ?? ""
                    if let problem = TopologySchema.problem(with: key) {
                        throw TopologyError(
                            file: path, line: keyNode.mark?.line, column: keyNode.mark?.column,
                            field: "points", message: problem)
                    }
                    if !fields.contains(key) { fields.append(key) }
                }
            }
            points = SweepPoints(
                list: list.map { item in
                    guard case .mapping(let m) = item else { return [] }
                    return fields.map { m[$0] }
                })
        }
        guard !points.isEmpty else { throw doc.error("axes", "required: axes (or points) to vary") }
        try doc.rejectUnknownKeys()
        return SweepSpec(
            file: path, baseFile: baseFile, baseText: baseText, output: output, transport: transport, fields: fields,
            points: points)
    }

    /// A value as one line of text (its CSV cell and part of the point's key): a scalar as written, a list
    /// or mapping as its YAML with the lines joined by spaces; empty for a field the point leaves at the
    /// base file's value.
    public static func text(_ node: Node?) -> String {
        guard let node else { return "" }
        if case .scalar(let s) = node { return s.string }
        let yaml = (try? Yams.serialize(node: node)) ?? "?"
        return yaml.split(separator: "\n").joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }

    /// The key identifying a point in the CSV: `field=value;…`.
    public func key(_ point: [Node?]) -> String {
        zip(fields, point).filter { $1 != nil }.map { "\($0)=\(Self.text($1))" }.joined(separator: ";")
    }

    /// The base topology with the point's values set.
    public func topologyText(for point: [Node?]) throws -> String {
        let text = try baseText ?? InputFile.text(baseFile, what: "base topology", maxBytes: YAMLMapping.maxFileBytes)
        guard var root = try Yams.compose(yaml: text) else {
            throw TopologyError(file: baseFile, field: "", message: "the base topology is empty")
        }
        for (field, value) in zip(fields, point) {
            guard let value else { continue }
            root = try Self.setting(root, path: field.split(separator: ".").map(String.init), to: value, field: field)
        }
        // Keep relative paths (a request trace, a checkpoint, a config.json) pointing at the base topology's directory.
        for path in [["workload", "trace"], ["model", "checkpoint"], ["model", "config"]] {
            if case .mapping(let m) = root, case .mapping(let inner)? = m[Node(path[0])],
                case .scalar(let t)? = inner[Node(path[1])], !t.string.hasPrefix("/")
            {
                let absolute = URL(fileURLWithPath: baseFile).deletingLastPathComponent()
                    .appendingPathComponent(t.string).path
                root = try Self.setting(root, path: path, to: Node(absolute), field: path.joined(separator: "."))
            }
        }
        return try Yams.serialize(node: root)
    }

    static func setting(_ node: Node, path: [String], to value: Node, field: String) throws -> Node {
        guard case .mapping(var m) = node else {
            throw TopologyError(file: "", field: field, message: "cannot set \(field): its parent is not a mapping")
        }
        if path.count == 1 {
            m[path[0]] = value
        } else {
            let child = m[path[0]] ?? .mapping(Node.Mapping([]))
            m[path[0]] = try setting(child, path: Array(path.dropFirst()), to: value, field: field)
        }
        return .mapping(m)
    }
}

/// The points of a sweep, made when asked for: an explicit list, or the cross product of axes, which is never
/// built whole (the point at an index is found from its digits, the last axis varying fastest).
public struct SweepPoints: RandomAccessCollection {
    private enum Storage {
        case list([[Node?]])
        case axes([[Node]])
    }

    private let storage: Storage
    public let count: Int

    init(list: [[Node?]]) {
        storage = .list(list)
        count = list.count
    }

    /// The cross product of `axes`; its size must fit an `Int` (the loader checks it first).
    init(axes: [[Node]]) {
        storage = .axes(axes)
        count = axes.reduce(1) { $0 * $1.count }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(index: Int) -> [Node?] {
        switch storage {
        case .list(let list): return list[index]
        case .axes(let axes):
            var rest = index
            var point = [Node?](repeating: nil, count: axes.count)
            for axis in axes.indices.reversed() {
                point[axis] = axes[axis][rest % axes[axis].count]
                rest /= axes[axis].count
            }
            return point
        }
    }
}
