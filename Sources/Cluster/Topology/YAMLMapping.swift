import Foundation
import Workload
import Yams

/// Reads one YAML mapping of a topology file field by field, remembering which keys were used so that
/// unknown keys (typos) are reported, and locating every error at its line and column.
package struct YAMLMapping {
    package let file: String
    /// Dotted path of this mapping ("" for the document root).
    package let path: String
    package let mark: Mark?
    private var entries: [String: (key: Mark?, value: Node)] = [:]
    private var order: [String] = []
    private var used: Set<String> = []
    /// Every key the reader asked for, present or not: the keys this mapping accepts.
    private var known: Set<String> = []

    package init(file: String, path: String, node: Node) throws {
        self.file = file
        self.path = path
        self.mark = node.mark
        guard case .mapping(let mapping) = node else {
            throw TopologyError(
                file: file, line: node.mark?.line, column: node.mark?.column,
                field: path, message: "expected a mapping of keys to values, found \(node.kindName)")
        }
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                throw TopologyError(
                    file: file, line: key.mark?.line, column: key.mark?.column, field: path,
                    message: "keys must be plain names")
            }
            let name = scalar.string
            if entries[name] != nil {
                throw TopologyError(
                    file: file, line: key.mark?.line, column: key.mark?.column,
                    field: Self.join(path, name), message: "key appears twice")
            }
            entries[name] = (key.mark, value)
            order.append(name)
        }
    }

    /// The largest topology or sweep file read (16 MiB; the shipped ones are a few KiB).
    package static let maxFileBytes = 16 << 20

    /// The root mapping of a YAML file; `what` names the file in messages ("topology", "sweep"). The file is
    /// read as `InputFile` reads every input: a regular UTF-8 file of at most `maxFileBytes`.
    package static func readFile(_ path: String, what: String) throws -> YAMLMapping {
        let text: String
        do {
            text = try InputFile.text(path, what: "\(what) file", maxBytes: maxFileBytes)
        } catch {
            throw TopologyError(file: path, line: error.line, field: "", message: error.message)
        }
        return try document(yaml: text, file: path, whenEmpty: "the \(what) file is empty")
    }

    /// The root mapping of YAML text; syntax errors are located at their line and column.
    package static func document(yaml: String, file: String, whenEmpty: String) throws -> YAMLMapping {
        let root: Node
        let anchored: Node?
        do {
            // The parser holds the anchors (nodes refer to them weakly), so the walk runs while it lives.
            let parser = try Parser(yaml: yaml)
            guard let node = try parser.singleRoot() else {
                throw TopologyError(file: file, field: "", message: whenEmpty)
            }
            root = node
            anchored = withExtendedLifetime(parser) { firstAnchor(node) }
        } catch let error as YamlError {
            switch error {
            case .duplicatedKeysInMapping(let duplicates, let context):
                throw duplicateKey(duplicates.first ?? "?", first: context.mark, yaml: yaml, file: file)
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                throw TopologyError(
                    file: file, line: mark.line, column: mark.column, field: "",
                    message: "not valid YAML: \(problem)")
            default:
                throw TopologyError(file: file, field: "", message: "not valid YAML: \(error)")
            }
        }
        if let anchored {
            throw TopologyError(
                file: file, line: anchored.mark?.line, column: anchored.mark?.column, field: "",
                message: "YAML anchors and aliases (&name, *name) are not accepted: they can expand "
                    + "without bound; write the value out where it is used")
        }
        return try YAMLMapping(file: file, path: "", node: root)
    }

    /// A key that appears twice in one mapping, located at its second appearance: the first line after the
    /// first one that holds the key at the same indentation (block style), else at the first.
    private static func duplicateKey(_ key: String, first: Mark, yaml: String, file: String) -> TopologyError {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        let indent = String(repeating: " ", count: max(0, first.column - 1))
        let second = lines.indices.dropFirst(first.line).first { index in
            let line = lines[index]
            guard line.hasPrefix(indent), line.dropFirst(indent.count).first != " " else { return false }
            let rest = line.dropFirst(indent.count)
            return rest.hasPrefix(key + ":") || rest.hasPrefix("\"\(key)\":") || rest.hasPrefix("'\(key)':")
        }
        return TopologyError(
            file: file, line: second.map { $0 + 1 } ?? first.line,
            column: second == nil ? first.column : indent.count + 1,
            field: clip(key),
            message: "key appears twice in one mapping (first at line \(first.line)); keep one of them")
    }

    /// The first node in document order that carries an anchor. An alias can only refer to an anchor defined
    /// before it, so the walk meets the anchor before any expansion and stops there: it never walks an
    /// expanded alias.
    private static func firstAnchor(_ node: Node) -> Node? {
        if node.anchor != nil { return node }
        switch node {
        case .scalar, .alias: return nil
        case .sequence(let items):
            for item in items { if let found = firstAnchor(item) { return found } }
        case .mapping(let pairs):
            for (key, value) in pairs {
                if let found = firstAnchor(key) ?? firstAnchor(value) { return found }
            }
        }
        return nil
    }

    package static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    package func field(_ key: String) -> String { Self.join(path, key) }

    /// An error located at `key`'s value (or at this mapping when the key is absent). When `key` is absent
    /// and the mapping holds an unknown key spelt like it (`modueles:` for `modules`), the error is about that
    /// key instead, at its line: a misspelt key is not a missing one.
    package func error(_ key: String, _ message: String) -> TopologyError {
        if entries[key] == nil, let typo = misspelling(of: key) {
            let at = entries[typo]?.key
            return TopologyError(
                file: file, line: at?.line, column: at?.column, field: field(typo),
                message: "unknown key; did you mean '\(key)'?")
        }
        let at = entries[key]?.value.mark ?? mark
        return TopologyError(file: file, line: at?.line, column: at?.column, field: field(key), message: message)
    }

    /// A key of this mapping that is not one it reads, spelt within a few edits of `key`.
    private func misspelling(of key: String) -> String? {
        let unknown = order.filter {
            !used.contains($0) && !known.contains($0) && !TopologySchema.fields.contains(field($0))
        }
        return Self.nearest(key, among: unknown)
    }

    /// The word of `candidates` nearest to `word` when it is within a few edits (a likely typo), else nil.
    package static func nearest(_ word: String, among candidates: some Sequence<String>) -> String? {
        var best: (word: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(candidate, word)
            if let known = best, known.distance < distance || (known.distance == distance && known.word < candidate) {
                continue
            }
            best = (candidate, distance)
        }
        guard let best, best.distance <= typoDistance(word) else { return nil }
        return best.word
    }

    /// Edits that still make a typo rather than another word: 1 for short words, up to 3 for long ones.
    static func typoDistance(_ word: String) -> Int { min(3, max(1, word.count / 4)) }

    /// Levenshtein distance (insertions, deletions, substitutions; a swap of neighbours counts as one).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.prefix(100)), b = Array(b.prefix(100))
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], before[j - 2] + 1)
                }
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }

    package func has(_ key: String) -> Bool { entries[key] != nil }

    /// The raw node of `key`, marking it used.
    package mutating func node(_ key: String) -> Node? {
        known.insert(key)
        guard let entry = entries[key] else { return nil }
        used.insert(key)
        if case .scalar(let s) = entry.value, ["~", "null", ""].contains(s.string) && s.style == .plain {
            return nil
        }
        return entry.value
    }

    /// Line of `key`, for errors found after parsing.
    package func line(of key: String) -> (Int?, Int?) {
        let at = entries[key]?.value.mark ?? mark
        return (at?.line, at?.column)
    }

    package mutating func scalar(_ key: String) throws -> String? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node else {
            throw error(key, "expected a single value, found \(node.kindName)")
        }
        return scalar.string
    }

    /// The value of `key` as one of `T`'s cases by name, or nil when the key is absent; any other name is refused
    /// with the names `T` has.
    package mutating func choice<T: RawRepresentable & CaseIterable>(_ key: String, as _: T.Type) throws -> T?
    where T.RawValue == String {
        guard let name = try scalar(key) else { return nil }
        guard let value = T(rawValue: name) else {
            throw error(
                key,
                "unknown \(key) '\(name)'; expected one of: " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }

    package mutating func string(_ key: String, default value: String) throws -> String {
        try scalar(key) ?? value
    }

    /// An integer in `limit`'s range, or `value` when the key is absent (required when `value` is nil).
    package mutating func int(_ key: String, default value: Int?, within limit: TopologyLimits.IntRange) throws -> Int {
        if let number = try optionalInt(key, within: limit) { return number }
        guard let value else { throw error(key, "required\(limit.unit.isEmpty ? "" : " (\(limit.unit))") but missing") }
        return value
    }

    /// An integer in `limit`'s range, or nil when the key is absent; underscores as digit separators are
    /// allowed (`32_768`).
    package mutating func optionalInt(_ key: String, within limit: TopologyLimits.IntRange) throws -> Int? {
        let unit = limit.unit.isEmpty ? "" : " \(limit.unit)"
        guard let text = try scalar(key) else { return nil }
        let digits = text.replacingOccurrences(of: "_", with: "")
        guard let number = Int(digits) else {
            let tooLarge = !digits.isEmpty && digits.drop(while: { $0 == "-" || $0 == "+" }).allSatisfy(\.isNumber)
            throw error(
                key,
                tooLarge
                    ? "must be \(Self.describe(limit.range))\(unit), found \(Self.clip(text))"
                    : "expected an integer\(unit.isEmpty ? "" : " (\(limit.unit))"), found '\(Self.clip(text))'")
        }
        guard limit.range.contains(number) else {
            throw error(key, "must be \(Self.describe(limit.range))\(unit), found \(number)")
        }
        return number
    }

    /// A finite number in `limit`'s range.
    package mutating func double(
        _ key: String, default value: Double?,
        within limit: TopologyLimits.RealRange
    ) throws -> Double? {
        guard let text = try scalar(key) else { return value }
        guard let number = Double(text.replacingOccurrences(of: "_", with: "")), number.isFinite else {
            throw error(
                key,
                "expected a number\(limit.unit.isEmpty ? "" : " (\(limit.unit))"), found '\(Self.clip(text))'")
        }
        guard limit.range.contains(number) else {
            throw error(
                key,
                "must be between \(Self.format(limit.range.lowerBound)) and "
                    + "\(Self.format(limit.range.upperBound)) \(limit.unit), found \(Self.clip(text))")
        }
        return number
    }

    package static func describe(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max
            ? "at least \(range.lowerBound)"
            : "between \(range.lowerBound) and \(range.upperBound)"
    }

    package static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    /// A value quoted in a message: at most 40 characters, control characters escaped.
    package static func clip(_ text: String) -> String { SafeText.clip(text, limit: 40) }

    /// A nested mapping, or nil when absent.
    package mutating func mapping(_ key: String) throws -> YAMLMapping? {
        guard let node = node(key) else { return nil }
        return try YAMLMapping(file: file, path: field(key), node: node)
    }

    /// Reports the first key that was never read, listing the keys this mapping accepts. Call it after
    /// reading every field.
    package func rejectUnknownKeys() throws {
        for key in order where !used.contains(key) {
            let at = entries[key]?.key
            let hint = known.sorted().joined(separator: ", ")
            let guess = Self.nearest(key, among: known).map { "did you mean '\($0)'? " } ?? ""
            throw TopologyError(
                file: file, line: at?.line, column: at?.column, field: field(key),
                message: "unknown key; \(guess)expected one of: \(hint)")
        }
    }
}

extension Node {
    package var kindName: String {
        switch self {
        case .scalar(let s): return "the value '\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}
