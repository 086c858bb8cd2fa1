import Foundation
import Workload

/// Reading a results.json back (`lolpim report`, the launcher, studies): read as `InputFile` reads every input,
/// then checked before and after decoding, so that every problem names its field and line instead of "the data
/// is not valid JSON": the schema must be this lolpim's, every number lies between 0 and 2^62 (times, bytes,
/// counts, energies and fractions are never negative, and 2^62 leaves room to add a few of them; the seed, a
/// label, up to 2^63 − 1), and integer fields hold whole numbers.
extension RunResults {
    /// The largest results.json read (256 MiB; a 1,024-module run writes a few MiB).
    public static let maxFileBytes = 256 << 20
    /// The largest number a results.json may hold (2^62).
    public static let maxNumber = 4_611_686_018_427_387_904.0

    /// Reads and checks `path`; errors name the file, the line and the field.
    public static func load(path: String) throws -> RunResults {
        let bytes: [UInt8]
        do {
            bytes = try InputFile.data(path, what: "results file", maxBytes: maxFileBytes)
        } catch {
            throw TopologyError(file: path, line: error.line, field: "", message: error.message)
        }
        return try decode(bytes, file: path)
    }

    /// Decodes results.json bytes, checked as `load` checks them; `file` names them in errors.
    public static func decode(_ bytes: [UInt8], file: String) throws -> RunResults {
        let scan: JSONScan
        do {
            scan = try JSONScan(bytes)
        } catch {
            throw TopologyError(
                file: file, line: error.line, column: error.column, field: "",
                message: "not valid JSON: \(error.message)")
        }
        guard let schema = scan.leaves.first(where: { $0.path == "schema" }) else {
            throw TopologyError(
                file: file, line: 1, field: "schema",
                message: "missing: not a lolpim results.json (expected \"schema\": \"\(schemaVersion)\")")
        }
        let found = scan.string(schema)
        guard found == schemaVersion else {
            throw TopologyError(
                file: file, line: schema.line, column: schema.column, field: "schema",
                message:
                    "this file is \"\(SafeText.clip(found ?? scan.text(of: schema), limit: 60))\", but this lolpim "
                    + "reads \(schemaVersion) only (it was written by another version of lolpim)")
        }
        for leaf in scan.leaves where leaf.kind == .number {
            let text = scan.text(of: leaf)
            // The seed is a label, not a quantity: any the topology accepts (up to 2^63 − 1).
            let seed = leaf.path == "topology.seed"
            guard let value = Double(text), value.isFinite, value >= 0, value <= (seed ? 0x1p63 : maxNumber) else {
                let range = seed ? "2^63 − 1" : "2^62 (about 4.6e18)"
                throw TopologyError(
                    file: file, line: leaf.line, column: leaf.column, field: leaf.path,
                    message: "expected a number between 0 and \(range), found \(SafeText.clip(text, limit: 40))")
            }
        }
        do {
            return try decode(Data(bytes))
        } catch let error as DecodingError {
            throw located(error, scan: scan, bytes: bytes, file: file)
        }
    }

    /// A decoding error as a located `TopologyError`. The decoder names no field when a number does not fit its
    /// type; the culprit is then the fractional number whose rounding makes the file decode (found by halving).
    private static func located(
        _ error: DecodingError, scan: JSONScan, bytes: [UInt8], file: String
    ) -> TopologyError {
        let (path, message): ([CodingKey], String)
        switch error {
        case .typeMismatch(let type, let context): (path, message) = (context.codingPath, "expected \(describe(type))")
        case .valueNotFound(let type, let context): (path, message) = (context.codingPath, "expected \(describe(type))")
        case .keyNotFound(let key, let context):
            (path, message) = (context.codingPath, "the key \(snakeCase(key.stringValue)) is missing")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            (path, message) = (context.codingPath, context.debugDescription)
        case .dataCorrupted(let context):
            let fractional = scan.leaves.filter { leaf in
                leaf.kind == .number && Double(scan.text(of: leaf)).map { $0 != $0.rounded() } == true
            }
            func decodes(roundingFirst count: Int) -> Bool {
                var patched = bytes
                for leaf in fractional.prefix(count).reversed() {
                    let rounded = String(Int64(Double(scan.text(of: leaf))!.rounded()))
                    patched.replaceSubrange(leaf.range, with: Array(rounded.utf8))
                }
                return (try? decode(Data(patched))) != nil
            }
            guard !fractional.isEmpty, decodes(roundingFirst: fractional.count) else {
                return TopologyError(file: file, line: 1, field: "", message: context.debugDescription)
            }
            var low = 0, high = fractional.count  // decodes(high) holds, decodes(low) does not
            while high - low > 1 {
                let middle = (low + high) / 2
                if decodes(roundingFirst: middle) { high = middle } else { low = middle }
            }
            let leaf = fractional[high - 1]
            return TopologyError(
                file: file, line: leaf.line, column: leaf.column, field: leaf.path,
                message: "expected a whole number, found \(SafeText.clip(scan.text(of: leaf), limit: 40))")
        @unknown default:
            return TopologyError(file: file, line: 1, field: "", message: "\(error)")
        }
        let field = path.map { $0.intValue.map { "[\($0)]" } ?? "." + snakeCase($0.stringValue) }.joined()
        let name = field.hasPrefix(".") ? String(field.dropFirst()) : field
        let at = scan.leaves.first { $0.path == name }.map { ($0.line, $0.column) } ?? scan.containers[name]
        return TopologyError(file: file, line: at?.0 ?? 1, column: at?.1, field: name, message: message)
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type, is UInt32.Type: return "a whole number"
        default: return "a value of type \(type)"
        }
    }

    /// `meanUsedFraction` → `mean_used_fraction`, as the encoder writes keys.
    static func snakeCase(_ key: String) -> String {
        var out = ""
        for character in key {
            if character.isUppercase {
                if !out.isEmpty { out.append("_") }
                out += character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }
}

/// One pass over JSON text that records where every value is: its dotted path (`simulated.stages[2].idle_ps`),
/// line, column and byte range. It checks the syntax as it goes (iteratively: depth is bounded, not the stack).
struct JSONScan {
    enum Kind { case number, string, literal }

    struct Leaf {
        var path: String
        var kind: Kind
        var range: Range<Int>
        var line: Int
        var column: Int
    }

    struct Problem: Error {
        var line: Int
        var column: Int
        var message: String
    }

    private let bytes: [UInt8]
    private(set) var leaves: [Leaf] = []
    /// Where each object and array starts, by path.
    private(set) var containers: [String: (line: Int, column: Int)] = [:]
    static let maxDepth = 512

    func text(of leaf: Leaf) -> String { String(decoding: bytes[leaf.range], as: UTF8.self) }

    /// A string leaf's value, its escapes (`\/`, `\u00e9`, …) resolved; nil for another kind of leaf.
    func string(_ leaf: Leaf) -> String? {
        guard leaf.kind == .string else { return nil }
        let array = Data("[".utf8 + bytes[leaf.range] + "]".utf8)
        return (try? JSONSerialization.jsonObject(with: array) as? [String])?.first
    }

    private enum Frame {
        case object(path: String, key: String?)
        case array(path: String, index: Int)
    }

    init(_ bytes: [UInt8]) throws(Problem) {
        self.bytes = bytes
        var index = 0
        var line = 1
        var lineStart = 0
        var stack: [Frame] = []
        var expectValue = true
        var done = false

        func problem(_ message: String) -> Problem {
            Problem(line: line, column: index - lineStart + 1, message: message)
        }
        func skipBlanks() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) {
                if bytes[index] == 0x0A {
                    line += 1
                    lineStart = index + 1
                }
                index += 1
            }
        }
        /// The path of the value about to be read.
        func currentPath() -> String {
            switch stack.last {
            case nil: return ""
            case .object(let path, let key)?: return path.isEmpty ? key ?? "" : path + "." + (key ?? "")
            case .array(let path, let index)?: return path + "[\(index)]"
            }
        }
        func scanString() throws(Problem) -> Range<Int> {
            let start = index
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] < 0x20 { throw problem("a control character inside a string") }
                index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard index < bytes.count else { throw problem("a string that never ends") }
            index += 1
            return start..<index
        }

        /// `"key":` inside an object; the key becomes the current frame's.
        func readKey() throws(Problem) {
            skipBlanks()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw problem("expected a key in quotes")
            }
            let range = try scanString()
            let key = String(decoding: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)], as: UTF8.self)
            skipBlanks()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw problem("expected ':' after a key")
            }
            index += 1
            if case .object(let path, _)? = stack.last { stack[stack.count - 1] = .object(path: path, key: key) }
            expectValue = true
        }

        while true {
            skipBlanks()
            guard index < bytes.count else {
                if done { break }
                throw problem("the text ends before the value does")
            }
            if done { throw problem("more text after the value") }
            let byte = bytes[index]
            if expectValue {
                let path = currentPath()
                let column = index - lineStart + 1
                switch byte {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard stack.count < Self.maxDepth else {
                        throw problem("nested deeper than \(Self.maxDepth) levels")
                    }
                    containers[path] = (line, column)
                    stack.append(
                        byte == UInt8(ascii: "{") ? .object(path: path, key: nil) : .array(path: path, index: 0))
                    index += 1
                    skipBlanks()
                    if index < bytes.count,
                        bytes[index] == (byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]"))
                    {
                        index += 1
                        stack.removeLast()
                        expectValue = false
                        done = stack.isEmpty
                        continue
                    }
                    if byte == UInt8(ascii: "{") {
                        try readKey()
                    }
                    continue
                case UInt8(ascii: "\""):
                    leaves.append(Leaf(path: path, kind: .string, range: try scanString(), line: line, column: column))
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    let start = index
                    while index < bytes.count, "+-.eE0123456789".utf8.contains(bytes[index]) { index += 1 }
                    guard Double(String(decoding: bytes[start..<index], as: UTF8.self)) != nil else {
                        throw problem("a malformed number")
                    }
                    leaves.append(Leaf(path: path, kind: .number, range: start..<index, line: line, column: column))
                default:
                    let start = index
                    let word = ["true", "false", "null"].first { bytes[index...].starts(with: $0.utf8) }
                    guard let word else { throw problem("unexpected '\(Unicode.Scalar(byte))'") }
                    index += word.utf8.count
                    leaves.append(Leaf(path: path, kind: .literal, range: start..<index, line: line, column: column))
                }
                expectValue = false
                done = stack.isEmpty
                continue
            }
            // After a value: a comma or the end of its container.
            switch (stack.last, byte) {
            case (.object?, UInt8(ascii: ",")):
                index += 1
                try readKey()
            case (.array(let path, let count)?, UInt8(ascii: ",")):
                index += 1
                stack[stack.count - 1] = .array(path: path, index: count + 1)
                expectValue = true
            case (.object?, UInt8(ascii: "}")), (.array?, UInt8(ascii: "]")):
                index += 1
                stack.removeLast()
                done = stack.isEmpty
            case (.object?, _): throw problem("expected ',' or '}'")
            case (.array?, _): throw problem("expected ',' or ']'")
            case (nil, _): throw problem("more text after the value")
            }
        }

    }
}
