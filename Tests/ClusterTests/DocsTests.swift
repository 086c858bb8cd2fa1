@testable import Cluster
import Foundation
import Testing

/// Facts the docs state that the code decides, held to the code so that they cannot drift: the wire protocol's
/// version, the files of the layout page, and every topology key with its range.
@Suite("Docs against the code")
struct DocsTests {
    /// The repository root: this file is Tests/ClusterTests/DocsTests.swift.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func text(_ path: String) throws -> String {
        try String(contentsOfFile: root + "/" + path, encoding: .utf8)
    }

    /// README.md and every page under docs/, by path from the root.
    static func pages() throws -> [(path: String, text: String)] {
        let docs = try FileManager.default.subpathsOfDirectory(atPath: root + "/docs")
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return try (["README.md"] + docs).map { ($0, try text($0)) }
    }

    // MARK: The protocol version

    /// The ways a page names the wire protocol's current version N: "protocol N" (any case, as in
    /// `lolpim 0.1.0 (protocol N)`), "wire protocol, version N", "wire protocol (version N)", the common header's
    /// "LPIM, version N" and its table row "| version | `N` |", and "this process speaks N". An earlier version is
    /// named "version N" or "protocol version N" (PROTOCOL.md §10), which none of them matches.
    static let versionPatterns = [
        #"(?i)\bprotocol (\d+)"#, #"wire protocol, version (\d+)"#, #"wire protocol \(version (\d+)\)"#,
        #"LPIM`?, version (\d+)"#, #"\| version \| `(\d+)` \|"#, #"speaks (\d+)"#,
    ]

    /// Every version a text names as the current one, with its line (from 1).
    static func versionsNamed(in text: String) throws -> [(line: Int, version: Int)] {
        let patterns = try versionPatterns.map { try Regex($0) }
        var found: [(line: Int, version: Int)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            for pattern in patterns {
                for match in line.matches(of: pattern) {
                    if let digits = match.output[1].substring, let version = Int(digits) {
                        found.append((index + 1, version))
                    }
                }
            }
        }
        return found
    }

    @Test("every protocol version a page names as the current one is WireCodec.version; PROTOCOL.md's title names it")
    func protocolVersion() throws {
        var named = 0
        for page in try Self.pages() {
            for (line, version) in try Self.versionsNamed(in: page.text) {
                named += 1
                #expect(
                    version == Int(WireCodec.version),
                    "\(page.path):\(line) names protocol \(version); the code speaks \(WireCodec.version)")
            }
        }
        let title = try Self.text("docs/PROTOCOL.md").split(separator: "\n").first.map(String.init)
        #expect(title == "# lolpim wire protocol, version \(WireCodec.version)")
        #expect(named > 1)
    }

    @Test("the version patterns find a stale version and pass over an earlier one")
    func versionPatterns() throws {
        let text = "prints `lolpim 0.1.0 (protocol 5)`\n| 4 | 2 | u16 LE | version | `6` |\nVersion 3 peers are refused"
        let found = try Self.versionsNamed(in: text)
        #expect(found.map(\.line) == [1, 2] && found.map(\.version) == [5, 6])
    }

    // MARK: The layout page

    /// LAYOUT.md's tree of `Sources/`, one part per target: from the target's line (two spaces, then
    /// `Target/`) to the next line indented by exactly two spaces.
    static func layoutSections(_ layout: String) -> [String: String] {
        var sections: [String: String] = [:]
        var current: String?
        var inSources = false
        for line in layout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "Sources/" {
                inSources = true
                continue
            }
            guard inSources else { continue }
            if !line.hasPrefix(" ") { break }  // the next top-level entry (Tests/) ends the tree of Sources/
            if line.hasPrefix("  "), !line.hasPrefix("   "), let slash = line.firstIndex(of: "/") {
                current = line.dropFirst(2).prefix(upTo: slash).trimmingCharacters(in: .whitespaces)
            }
            if let current { sections[current, default: ""] += line + "\n" }
        }
        return sections
    }

    /// Whether `word` occurs in `text` with no letter, digit or underscore right before or after it.
    static func containsWord(_ text: String, _ word: String) -> Bool {
        func isIdentifier(_ c: Character?) -> Bool { c.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false }
        var from = text.startIndex
        while let range = text.range(of: word, range: from..<text.endIndex) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            if !isIdentifier(before) && !isIdentifier(after) { return true }
            from = text.index(after: range.lowerBound)
        }
        return false
    }

    /// The rule: a file `Sources/T/…/Name.swift` is named when `Name` appears as a whole word in target T's
    /// part of the tree (in a file line or in a folder line that lists its types); any other file (CZMQ's
    /// module map and header) by its whole file name.
    @Test("docs/LAYOUT.md names every file under Sources/ in its target's part of the tree")
    func layoutNamesEveryFile() throws {
        let sections = Self.layoutSections(try Self.text("docs/LAYOUT.md"))
        var isDirectory: ObjCBool = false
        let files = try FileManager.default.subpathsOfDirectory(atPath: Self.root + "/Sources").filter {
            FileManager.default.fileExists(atPath: Self.root + "/Sources/" + $0, isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }
        #expect(!files.isEmpty && !sections.isEmpty)
        for file in files {
            let parts = file.split(separator: "/").map(String.init)
            let name = parts.last!.hasSuffix(".swift") ? String(parts.last!.dropLast(6)) : parts.last!
            #expect(
                Self.containsWord(sections[parts[0]] ?? "", name),
                "docs/LAYOUT.md does not name Sources/\(file) under \(parts[0])/")
        }
    }

    /// Every test file is named (its base name as a whole word) in docs/TESTING.md's map of the test targets.
    @Test("docs/TESTING.md names every test file under Tests/")
    func testingNamesEveryTestFile() throws {
        let testing = try Self.text("docs/TESTING.md")
        let files = try FileManager.default.subpathsOfDirectory(atPath: Self.root + "/Tests").filter {
            $0.hasSuffix(".swift")
        }
        #expect(!files.isEmpty)
        for file in files {
            let name = String(file.split(separator: "/").last!.dropLast(6))
            #expect(Self.containsWord(testing, name), "docs/TESTING.md does not name Tests/\(file)")
        }
    }

    @Test("the layout rule finds a file only in its own target's part, as a whole word")
    func layoutRule() {
        let layout = "Sources/\n  A/\n    Port.swift   ports\n  B/   PortMap (maps)\nTests/\n  C/   Port\n"
        let sections = Self.layoutSections(layout)
        #expect(Self.containsWord(sections["A"] ?? "", "Port"))
        #expect(!Self.containsWord(sections["B"] ?? "", "Port"))
        #expect(sections["C"] == nil)
    }

    // MARK: Topology keys and their ranges

    /// The rows (as cells) of the first table under `heading` in a page, without its header and rule rows.
    static func tableRows(_ page: String, under heading: String) -> [[String]] {
        guard let start = page.range(of: "\n" + heading + "\n") else { return [] }
        var rows: [[String]] = []
        for line in page[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") || (!rows.isEmpty && !line.hasPrefix("|")) { break }
            guard line.hasPrefix("|") else { continue }
            rows.append(line.dropFirst().components(separatedBy: "|").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return Array(rows.dropFirst(2))
    }

    /// The key a table row is for: the name in backticks its first cell begins with.
    static func key(_ row: [String]) -> String? {
        guard let cell = row.first, cell.hasPrefix("`") else { return nil }
        return cell.dropFirst().split(separator: "`", maxSplits: 1).first.map(String.init)
    }

    /// The rule: every key of `TopologySchema` without sub-keys has a row in TOPOLOGY.md's "Keys" table (and every
    /// row there is a schema key); every key whose unit there is not "—" or "path" (it takes a number), and every
    /// key `TopologyLimits` bounds, has exactly one row of its own in "Accepted ranges", with a number in its
    /// range; no row there names keys with a wildcard; and an integer key's row starts with its bounds.
    @Test("docs/TOPOLOGY.md lists every topology key and gives each key that takes a number its own range")
    func topologyKeysAndRanges() throws {
        let doc = try Self.text("docs/TOPOLOGY.md")
        let fields = TopologySchema.fields
        var units: [String: String] = [:]
        for row in Self.tableRows(doc, under: "## Keys") where row.count > 1 {
            if let key = Self.key(row) { units[key] = row[1] }
        }
        for field in fields.sorted() where !fields.contains(where: { $0.hasPrefix(field + ".") }) {
            #expect(units[field] != nil, "docs/TOPOLOGY.md's keys table has no row for \(field)")
        }
        for key in units.keys.sorted() { #expect(fields.contains(key), "\(key) in docs/TOPOLOGY.md is no key") }
        var ranges: [String: [String]] = [:]
        for row in Self.tableRows(doc, under: "## Accepted ranges") where row.count > 1 {
            #expect(!row[0].contains("*"), "a range row of docs/TOPOLOGY.md names keys by a wildcard: \(row[0])")
            if let key = Self.key(row) { ranges[key, default: []].append(row[1]) }
        }
        var bounded = Set(units.filter { $0.value != "—" && $0.value != "path" }.keys)
        for key in TopologyLimits.integers.map(\.key) + TopologyLimits.reals.map(\.key) where !key.contains(" ") {
            let pattern = try Regex(
                "^" + key.replacingOccurrences(of: ".", with: "\\.").replacingOccurrences(of: "*", with: "[a-z_]*")
                    + "$")
            let matching = fields.filter { $0.wholeMatch(of: pattern) != nil }
            #expect(!matching.isEmpty, "TopologyLimits names \(key), which matches no topology key")
            bounded.formUnion(matching)
        }
        #expect(bounded.count > 1)
        for key in bounded.sorted() {
            #expect(ranges[key]?.count == 1, "docs/TOPOLOGY.md has \(ranges[key]?.count ?? 0) range rows for \(key)")
            #expect(ranges[key]?.first?.contains(where: \.isNumber) == true, "\(key)'s range has no number")
        }
        for limit in TopologyLimits.integers where fields.contains(limit.key) {
            let bounds = YAMLMapping.describe(limit.range).replacingOccurrences(of: "between ", with: "")
                .replacingOccurrences(of: " and ", with: " … ")
            #expect(ranges[limit.key]?.first?.hasPrefix(bounds) == true, "\(limit.key): expected \(bounds)")
        }
    }
}
