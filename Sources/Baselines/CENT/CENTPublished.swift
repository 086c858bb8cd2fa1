import Workload

/// One row of CENT's published table as lolpim keeps it (docs/validation/cent/cent-published.csv: the facts
/// from `cent_simulation/simulation_results.csv` at CENT commit 8c79786, in our own file and column names).
public struct CENTPublishedRow: Sendable, Hashable {
    public var model: String
    public var devices: Int
    public var pp: Int
    public var tp: Int
    public var channelsPerBlock: Int
    public var seqLen: Int
    /// Milliseconds.
    public var pim: Double
    public var cxl: Double
    public var acc: Double
    public var token: Double
    public var throughputTokensPerS: Double
    public var tokenEnergyMJ: Double

    /// A bad file: where and why.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    /// The columns of cent-published.csv, in order.
    public static let columns = [
        "model", "devices", "pp", "tp", "channels_per_block", "seq_len", "pim_ms", "cxl_ms", "acc_ms", "token_ms",
        "throughput_tokens_per_s", "token_energy_mj",
    ]

    /// Reads cent-published.csv (`#` lines are comments); a missing column or a cell that is not a number is
    /// refused with the file and line.
    public static func parse(_ text: String, file: String) throws(ParseError) -> [CENTPublishedRow] {
        let table: CSVTable
        do {
            table = try CSVTable.parse(text, file: file, comments: true)
        } catch {
            throw ParseError(file: error.file, line: error.line, message: error.message)
        }
        if let missing = columns.first(where: { !table.header.contains($0) }) {
            throw ParseError(file: file, line: 1, message: "missing column '\(missing)'")
        }
        var rows: [CENTPublishedRow] = []
        for row in table.rows {
            let cells = Dictionary(zip(table.header, row.cells), uniquingKeysWith: { a, _ in a })
            func number(_ column: String) throws(ParseError) -> Double {
                guard let v = Double(cells[column, default: ""].trimmingCharacters(in: .whitespaces)) else {
                    throw ParseError(file: file, line: row.line, message: "\(column): not a number")
                }
                return v
            }
            rows.append(
                CENTPublishedRow(
                    model: cells["model", default: ""], devices: Int(try number("devices")),
                    pp: Int(try number("pp")), tp: Int(try number("tp")),
                    channelsPerBlock: Int(try number("channels_per_block")), seqLen: Int(try number("seq_len")),
                    pim: try number("pim_ms"), cxl: try number("cxl_ms"), acc: try number("acc_ms"),
                    token: try number("token_ms"), throughputTokensPerS: try number("throughput_tokens_per_s"),
                    tokenEnergyMJ: try number("token_energy_mj")))
        }
        return rows
    }
}
