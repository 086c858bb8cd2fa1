@testable import Cluster
import Foundation
@testable import Studies
import Testing
import Workload

/// Output directories, CSV files and traces that would lose or corrupt results (issue "Bad input never
/// crashes lolpim and never loses a result").
@Suite("Bad input: outputs, CSV and traces")
struct BadOutputTests {
    static func scratch(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "lolpim-bad-output-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("an output directory under a file, or unwritable, is refused before the run")
    func unusableOutput() throws {
        let dir = Self.scratch("under-file")
        try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        #expect(throws: InputFileError.self) { try OutputDirectory.acquire(dir + "/file/out") }
        #expect(throws: InputFileError.self) { try OutputDirectory.acquire(dir, traceFile: "/proc/nope/t.json") }
        try FileManager.default.createDirectory(atPath: dir + "/trace.json", withIntermediateDirectories: true)
        #expect(throws: InputFileError.self) {
            try OutputDirectory.acquire(dir + "/out", traceFile: dir + "/trace.json")
        }
        if getuid() != 0 {  // root writes anywhere
            try FileManager.default.createDirectory(atPath: dir + "/ro", withIntermediateDirectories: true)
            chmod(dir + "/ro", 0o500)
            defer { chmod(dir + "/ro", 0o700) }
            #expect(throws: InputFileError.self) { try OutputDirectory.acquire(dir + "/ro") }
        }
    }

    @Test("a second run into a directory a live run holds is refused; a dead run's lock is taken over")
    func lock() throws {
        let dir = Self.scratch("lock")
        let lockFile = dir + "/" + OutputDirectory.lockName
        // A live run holds it (here this process, through another open of the file).
        let first = try OutputDirectory.acquire(dir)
        #expect {
            _ = try OutputDirectory.acquire(dir)
        } throws: { error in
            (error as? InputFileError)?.message.contains("another lolpim run (process \(getpid()))") == true
        }
        first.release()
        #expect(!FileManager.default.fileExists(atPath: lockFile))
        // A lock file nobody holds, whether its process is gone or its id now belongs to a live process that is
        // not lolpim (here our parent, or init): stale, taken over, then released.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        for owner in [child.processIdentifier, getppid(), 1] {
            try "\(owner)\n".write(toFile: lockFile, atomically: true, encoding: .utf8)
            let held = try OutputDirectory.acquire(dir)
            #expect(try String(contentsOfFile: lockFile, encoding: .utf8) == "\(getpid())\n")
            held.release()
            #expect(!FileManager.default.fileExists(atPath: lockFile))
        }
    }

    @Test("a sweep CSV whose last row was cut off is repaired on resume; rows are written whole")
    func tornRow() throws {
        let dir = Self.scratch("torn")
        let csv = SweepCSV(path: dir + "/s.csv", fields: ["cluster.modules"])
        #expect(try csv.recordedPoints().isEmpty)
        let row = ["m=2", "2", "ok", ""] + SweepCSV.figures.map { _ in "1.5" }
        try csv.append(row)
        // A crash mid-write leaves part of the next row without a line end.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: csv.path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("m=4,4,ok,,12".utf8))
        try handle.close()
        #expect(try csv.recordedPoints() == ["m=2"])
        try csv.append(["m=4", "4", "ok", ""] + SweepCSV.figures.map { _ in "2" })
        let table = try CSVTable.parse(String(contentsOfFile: csv.path, encoding: .utf8), file: csv.path)
        #expect(table.rows.map { $0.cells[0] } == ["m=2", "m=4"])
        #expect(table.rows.allSatisfy { $0.cells.count == csv.header.count })
    }

    @Test("a sweep CSV from before the network columns gets them, empty, and keeps its points")
    func olderColumns() throws {
        let dir = Self.scratch("older")
        let csv = SweepCSV(path: dir + "/s.csv", fields: ["cluster.modules"])
        let older = Array(csv.header.dropLast(2))
        let row = ["m=2", "2", "ok", ""] + Array(repeating: "1.5", count: older.count - 4)
        try CSVTable.encode([older, row]).write(toFile: csv.path, atomically: true, encoding: .utf8)
        #expect(try csv.recordedPoints() == ["m=2"])
        let table = try CSVTable.parse(String(contentsOfFile: csv.path, encoding: .utf8), file: csv.path)
        #expect(table.header == csv.header)
        #expect(table.rows.map(\.cells) == [row + ["", ""]])
        // A CSV of another sweep (another field) is still refused.
        let other = SweepCSV(path: dir + "/s.csv", fields: ["workload.requests"])
        #expect(throws: TopologyError.self) { try other.recordedPoints() }
    }

    @Test("report refuses a malformed sweep CSV at its line")
    func malformedReport() throws {
        let dir = Self.scratch("report")
        let header = ["point", "cluster.modules", "status", "error"] + SweepCSV.figures
        let good = ["m=2", "2", "ok", ""] + SweepCSV.figures.map { _ in "1" }
        let short = CSVTable.encode([header, good]) + "m=4,4,ok,,1,2\n"
        try short.write(toFile: dir + "/short.csv", atomically: true, encoding: .utf8)
        #expect {
            _ = try Report.generate(input: dir + "/short.csv", directory: dir + "/r1")
        } throws: { error in
            (error as? CSVTable.Problem).map { $0.line == 3 && $0.description.hasPrefix(dir + "/short.csv:3:") } == true
        }
        var bad = good
        bad[4] = "fast"
        try CSVTable.encode([header, good, bad]).write(toFile: dir + "/text.csv", atomically: true, encoding: .utf8)
        #expect {
            _ = try Report.generate(input: dir + "/text.csv", directory: dir + "/r2")
        } throws: { error in
            (error as? TopologyError).map { $0.line == 3 && $0.field == "throughput_tokens_per_s" } == true
        }
    }

    @Test("CSV cells with commas, quotes, line breaks and CRLF line ends keep their lines")
    func csvLines() throws {
        let text = "a,b\r\n1,\"x,\ny\"\r\n\r\n# not a comment here\r\n2,\"q\"\"\"\r\n"
        let table = try CSVTable.parse(text, file: "t.csv", strict: false)
        #expect(table.header == ["a", "b"])
        #expect(table.rows.map(\.line) == [2, 5, 6])
        #expect(table.rows[0].cells == ["1", "x,\ny"])
        #expect(table.rows[2].cells == ["2", "q\""])
        let round = try CSVTable.parse(CSVTable.encode([["a", "b"], ["1", "x,\ny"], ["2", "q\""]]), file: "t.csv")
        #expect(round.rows.map(\.cells) == [["1", "x,\ny"], ["2", "q\""]])
    }

    @Test("a request trace with CRLF line ends and comments loads")
    func crlfTrace() throws {
        let text = "# requests\r\narrival_s,context_tokens,output_tokens\r\n0,100,4\r\n0.5, 200 ,8\r\n"
        let requests = try RequestTrace.parse(text, file: "t.csv")
        #expect(requests.map(\.promptTokens) == [100, 200])
        #expect(requests.map(\.outputTokens) == [4, 8])
    }
}
