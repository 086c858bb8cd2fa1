import CSV
import Foundation

/// A CSV file with a header row, read and written through yaslab/CSV.swift (RFC 4180: quoted cells may hold
/// commas, quotes and line breaks; LF or CRLF line ends). Every row keeps the line it starts on, and a row
/// whose cell count differs from the header's is an error naming that line.
public struct CSVTable: Sendable, Equatable {
    public var header: [String]
    /// The data rows, in file order.
    public var rows: [Row]

    public struct Row: Sendable, Equatable {
        /// 1-based line of the file the row starts on.
        public var line: Int
        public var cells: [String]
    }

    /// A malformed CSV file: the file, the line, and what was expected.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    public init(header: [String], rows: [Row]) {
        self.header = header
        self.rows = rows
    }

    /// Parses `text`. Blank lines are skipped, and with `comments` so are lines starting with `#`. With
    /// `strict`, a row with another number of cells than the header is refused.
    public static func parse(
        _ text: String, file: String, comments: Bool = false,
        strict: Bool = true
    ) throws(Problem) -> CSVTable {
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: false)
        } catch {
            throw Problem(file: file, line: 1, message: "not a CSV file (\(error))")
        }
        var header: [String]?
        var rows: [Row] = []
        var line = 1
        while let cells = reader.next() {
            let start = line
            line += 1 + cells.reduce(0) { $0 + $1.reduce(0) { $1 == "\n" ? $0 + 1 : $0 } }
            let first = cells.first?.trimmingCharacters(in: .whitespaces) ?? ""
            if (cells.count == 1 && first.isEmpty) || (comments && first.hasPrefix("#")) { continue }
            guard let columns = header else {
                header = cells.map { $0.trimmingCharacters(in: .whitespaces) }
                continue
            }
            if strict && cells.count != columns.count {
                throw Problem(
                    file: file, line: start,
                    message: "expected \(columns.count) cells "
                        + "(\(columns.joined(separator: ","))), found \(cells.count)")
            }
            rows.append(Row(line: start, cells: cells))
        }
        guard let header else { throw Problem(file: file, line: 1, message: "empty: expected a header row") }
        return CSVTable(header: header, rows: rows)
    }

    /// The rows as column → cell.
    public var records: [[String: String]] {
        rows.map { Dictionary(zip(header, $0.cells), uniquingKeysWith: { first, _ in first }) }
    }

    /// `rows` as CSV text, each line ended by LF, cells quoted where they need it.
    public static func encode(_ rows: [[String]]) -> String {
        let stream = OutputStream(toMemory: ())
        stream.open()
        defer { stream.close() }
        guard let writer = try? CSVWriter(stream: stream) else { return "" }
        for row in rows { try? writer.write(row: row) }
        let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        return String(decoding: data, as: UTF8.self) + (rows.isEmpty ? "" : "\n")
    }
}
