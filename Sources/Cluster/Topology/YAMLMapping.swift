import Yams

/// Reads one YAML mapping of a topology file field by field, remembering which keys were used so that
/// unknown keys (typos) are reported, and locating every error at its line and column.
struct YAMLMapping {
    let file: String
    /// Dotted path of this mapping ("" for the document root).
    let path: String
    let mark: Mark?
    private var entries: [String: (key: Mark?, value: Node)] = [:]
    private var order: [String] = []
    private var used: Set<String> = []
    /// Every key the reader asked for, present or not: the keys this mapping accepts.
    private var known: Set<String> = []

    init(file: String, path: String, node: Node) throws {
        self.file = file
        self.path = path
        self.mark = node.mark
        guard case .mapping(let mapping) = node else {
            throw TopologyError(file: file, line: node.mark?.line, column: node.mark?.column,
                                field: path, message: "expected a mapping of keys to values, found \(node.kindName)")
        }
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                throw TopologyError(file: file, line: key.mark?.line, column: key.mark?.column, field: path,
                                    message: "keys must be plain names")
            }
            let name = scalar.string
            if entries[name] != nil {
                throw TopologyError(file: file, line: key.mark?.line, column: key.mark?.column,
                                    field: Self.join(path, name), message: "key appears twice")
            }
            entries[name] = (key.mark, value)
            order.append(name)
        }
    }

    /// The root mapping of a YAML file; `what` names the file in messages ("topology", "sweep").
    static func readFile(_ path: String, what: String) throws -> YAMLMapping {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TopologyError(file: path, field: "", message: "cannot read the \(what) file (\(error.localizedDescription))")
        }
        return try document(yaml: text, file: path, whenEmpty: "the \(what) file is empty")
    }

    /// The root mapping of YAML text; syntax errors are located at their line and column.
    static func document(yaml: String, file: String, whenEmpty: String) throws -> YAMLMapping {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw TopologyError(file: file, field: "", message: whenEmpty)
            }
            root = node
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                 .composer(_, let problem, let mark, _):
                throw TopologyError(file: file, line: mark.line, column: mark.column, field: "",
                                    message: "not valid YAML: \(problem)")
            default:
                throw TopologyError(file: file, field: "", message: "not valid YAML: \(error)")
            }
        }
        return try YAMLMapping(file: file, path: "", node: root)
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func field(_ key: String) -> String { Self.join(path, key) }

    /// An error located at `key`'s value (or at this mapping when the key is absent).
    func error(_ key: String, _ message: String) -> TopologyError {
        let at = entries[key]?.value.mark ?? mark
        return TopologyError(file: file, line: at?.line, column: at?.column, field: field(key), message: message)
    }

    func has(_ key: String) -> Bool { entries[key] != nil }

    /// The raw node of `key`, marking it used.
    mutating func node(_ key: String) -> Node? {
        known.insert(key)
        guard let entry = entries[key] else { return nil }
        used.insert(key)
        if case .scalar(let s) = entry.value, ["~", "null", ""].contains(s.string) && s.style == .plain {
            return nil
        }
        return entry.value
    }

    /// Line of `key`, for errors found after parsing.
    func line(of key: String) -> (Int?, Int?) {
        let at = entries[key]?.value.mark ?? mark
        return (at?.line, at?.column)
    }

    mutating func scalar(_ key: String) throws -> String? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node else {
            throw error(key, "expected a single value, found \(node.kindName)")
        }
        return scalar.string
    }

    mutating func string(_ key: String, default value: String) throws -> String {
        try scalar(key) ?? value
    }

    /// An integer ≥ `minimum`; underscores as digit separators are allowed (`32_768`).
    mutating func int(_ key: String, default value: Int?, minimum: Int = 1, unit: String = "") throws -> Int {
        guard let text = try scalar(key) else {
            guard let value else { throw error(key, "required\(unit.isEmpty ? "" : " (\(unit))") but missing") }
            return value
        }
        guard let number = Int(text.replacingOccurrences(of: "_", with: "")) else {
            throw error(key, "expected an integer\(unit.isEmpty ? "" : " (\(unit))"), found '\(text)'")
        }
        guard number >= minimum else {
            throw error(key, "must be at least \(minimum)\(unit.isEmpty ? "" : " \(unit)"), found \(number)")
        }
        return number
    }

    /// A finite number > 0 (or ≥ 0 when `allowZero`).
    mutating func double(_ key: String, default value: Double?, allowZero: Bool = false,
                         unit: String = "") throws -> Double? {
        guard let text = try scalar(key) else { return value }
        guard let number = Double(text.replacingOccurrences(of: "_", with: "")), number.isFinite else {
            throw error(key, "expected a number\(unit.isEmpty ? "" : " (\(unit))"), found '\(text)'")
        }
        guard allowZero ? number >= 0 : number > 0 else {
            throw error(key, "must be \(allowZero ? "zero or more" : "positive"), found \(text)")
        }
        return number
    }

    /// A nested mapping, or nil when absent.
    mutating func mapping(_ key: String) throws -> YAMLMapping? {
        guard let node = node(key) else { return nil }
        return try YAMLMapping(file: file, path: field(key), node: node)
    }

    /// Reports the first key that was never read, listing the keys this mapping accepts. Call it after
    /// reading every field.
    func rejectUnknownKeys() throws {
        for key in order where !used.contains(key) {
            let at = entries[key]?.key
            let hint = known.sorted().joined(separator: ", ")
            throw TopologyError(file: file, line: at?.line, column: at?.column, field: field(key),
                                message: "unknown key; expected one of: \(hint)")
        }
    }
}

extension Node {
    var kindName: String {
        switch self {
        case .scalar(let s): return "the value '\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}
