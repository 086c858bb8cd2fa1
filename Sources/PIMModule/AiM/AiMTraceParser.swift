/// Reads AiM instruction traces with the grammar of the public AiM toolchain's trace frontend:
/// - words are separated by spaces; other white space inside a word is dropped; empty lines are skipped;
/// - a line whose first word is `#` is a comment;
/// - `AiM OPCODE fields…` (the opcode with or without the `ISR_` prefix), with exactly the fields the
///   opcode carries (`AiMInstruction.Opcode.fields`); `W|R CFR|GPR|MEM …` host accesses;
/// - numbers are decimal or 0x-hex;
/// - reading stops at `AiM EOC`: a trace without one is refused (that simulator stops with an error at
///   the end of the file), lines after it are never read.
/// Everything that simulator would reject, or would mis-handle silently (a zero mask, a channel the module
/// does not have, a bank beyond 15), is refused here with the file, line and field.
public enum AiMTraceParser {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }

        public init(file: String, line: Int, message: String) {
            self.file = file
            self.line = line
            self.message = message
        }
    }

    public struct Parsed: Sendable {
        /// Every instruction up to and including the final EOC.
        public var instructions: [AiMInstruction]
        /// Host-access lines among them.
        public var hostLines: Int { instructions.filter { $0.opcode.isHostAccess }.count }
    }

    /// Largest opsize accepted (the toolchain takes any 32-bit count; one 2 KB row is 64 bursts).
    public static let maxOpsize = 1 << 20

    /// Largest value of any numeric field: the toolchain's fields are 32-bit words.
    public static let maxField = Int(UInt32.max)

    public static func parse(
        _ text: String, file: String, channels: Int = 32, banks: Int = 16,
        rows: Int = maxField + 1
    ) throws -> Parsed {
        var reader = Reader(file: file, channels: channels, banks: banks, rows: rows)
        var instructions: [AiMInstruction] = []
        // Lines end at LF; a CR before it (CRLF files) is dropped with the other white space.
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if let instruction = try reader.instruction(fromLine: Substring(decoding: line, as: UTF8.self)) {
                instructions.append(instruction)
                if instruction.opcode == .eoc { return Parsed(instructions: instructions) }
            }
        }
        throw reader.missingEOC()
    }

    /// Parses a trace line by line, so that a file can be read and replayed in constant memory.
    public struct Reader: Sendable {
        public let file: String
        public let channels: Int
        public let banks: Int
        /// Rows per bank: a row field must be below it.
        public let rows: Int
        /// Lines read so far.
        public private(set) var lineNumber = 0

        public init(file: String, channels: Int, banks: Int, rows: Int) {
            self.file = file
            self.channels = channels
            self.banks = banks
            self.rows = rows
        }

        /// The error for a trace that ended before its `AiM EOC`.
        public func missingEOC() -> ParseError {
            ParseError(
                file: file, line: max(1, lineNumber),
                message: "the trace ends without 'AiM EOC' "
                    + "(the AiM simulator needs one to finish)")
        }

        /// The instruction on the next line, or nil for a blank or comment line.
        public mutating func instruction(fromLine raw: Substring) throws(ParseError) -> AiMInstruction? {
            lineNumber += 1
            let line = lineNumber
            let words = raw.split(separator: " ").map { $0.filter { !$0.isWhitespace } }.filter { !$0.isEmpty }
            guard let first = words.first, first != "#" else { return nil }
            func fail(_ message: String) -> ParseError {
                ParseError(
                    file: file, line: line,
                    message: message.count > 300
                        ? String(message.prefix(300))
                            + "…" : message)
            }
            let opcode: AiMInstruction.Opcode
            let operands: ArraySlice<String>
            switch first {
            case "AiM":
                guard words.count >= 2 else { throw fail("'AiM' needs an opcode") }
                let name = words[1].hasPrefix("ISR_") ? String(words[1].dropFirst(4)) : words[1]
                guard let known = AiMInstruction.Opcode(rawValue: name), !known.isHostAccess else {
                    let names = AiMInstruction.Opcode.allCases.filter { !$0.isHostAccess }.map(\.rawValue)
                    throw fail(
                        "unknown AiM opcode '\(words[1].prefix(40))'; expected one of: "
                            + names.joined(separator: ", "))
                }
                opcode = known
                operands = words.dropFirst(2)
            case "W", "R":
                guard words.count >= 2, let known = AiMInstruction.Opcode(rawValue: first + " " + words[1]) else {
                    throw fail("a host access is '\(first) CFR|GPR|MEM …', found '\(raw.prefix(80))'")
                }
                opcode = known
                operands = words.dropFirst(2)
            default:
                throw fail("expected 'AiM', 'W', 'R' or a '#' comment, found '\(first.prefix(40))'")
            }
            let fields = opcode.fields
            guard operands.count == fields.count else {
                let names = fields.map(\.rawValue).joined(separator: ", ")
                throw fail(
                    "\(opcode.rawValue) takes \(fields.count) fields (\(names.isEmpty ? "none" : names)), "
                        + "found \(operands.count)")
            }
            if opcode == .wrAFLUT { throw fail("WR_AFLUT is not supported by the AiM simulator either") }
            var values: AiMInstruction.Fields = [:]
            for (field, word) in zip(fields, operands) {
                let lower = word.lowercased()
                let parsed = lower.hasPrefix("0x") ? Int(lower.dropFirst(2), radix: 16) : Int(lower)
                guard let value = parsed, (0...maxField).contains(value) else {
                    throw fail(
                        "\(opcode.rawValue) \(field.rawValue): expected a 32-bit number, 0 to \(maxField) "
                            + "(decimal or 0x-hex), found '\(word.prefix(40))'")
                }
                values[field] = value
            }
            try check(opcode, values, channels: channels, banks: banks, rows: rows, fail: fail)
            return AiMInstruction(opcode, values, line: line)
        }
    }

    private static func check(
        _ opcode: AiMInstruction.Opcode, _ values: AiMInstruction.Fields, channels: Int,
        banks: Int, rows: Int, fail: (String) -> ParseError
    ) throws(ParseError) {
        let name = opcode.rawValue
        if let opsize = values[.opsize], opsize < 1 || opsize > maxOpsize {
            throw fail("\(name) opsize: expected 1…\(maxOpsize) bursts, found \(opsize)")
        }
        if let mask = values[.mask] {
            guard mask > 0 && mask <= 0xFFFF_FFFF else {
                throw fail(
                    "\(name) channel mask: expected a non-zero 32-bit mask (bit 31 − c selects channel c), "
                        + "found \(mask)")
            }
            let beyond = (channels..<32).filter { mask & (1 << (31 - $0)) != 0 }
            if let c = beyond.first {
                throw fail("\(name) channel mask: selects channel \(c), but the module has \(channels) channels")
            }
            if opcode == .wrABK && mask.nonzeroBitCount != 1 {
                throw fail("WR_ABK channel mask: must select exactly one channel, found \(mask.nonzeroBitCount)")
            }
        }
        if let channel = values[.channel], channel >= channels {
            throw fail("\(name) channel: expected 0…\(channels - 1), found \(channel)")
        }
        if let bank = values[.bank], bank >= banks {
            throw fail("\(name) bank: expected 0…\(banks - 1), found \(bank)")
        }
        if let row = values[.row], row >= rows {
            throw fail("\(name) row: expected 0…\(rows - 1) (the rows of a bank), found \(row)")
        }
        if opcode == .writeCFR, let address = values[.address], address > 2 {
            throw fail(
                "W CFR address: expected 0 (broadcast), 1 (EWMUL bank groups) or 2 (activation function), "
                    + "found \(address)")
        }
    }
}
