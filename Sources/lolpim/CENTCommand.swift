import ArgumentParser
import Baselines
import Foundation
import PIMModule
import Studies
import Workload

extension AiMSimulatorCommit: ExpressibleByArgument {}
extension CENTScoreMoves: ExpressibleByArgument {}

struct CENTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cent",
        abstract: "Re-derive CENT's published table, every PP and TP split, from CENT's own traces (issue 27).",
        discussion: """
            Each published row's device step is CENT's trace (PIMModule/CENT, a port of its trace_only, \
            pipeline-parallel or model-parallel as the row's split is) replayed \
            on lolpim's reproduction of the AiM simulator; Acc, CXL, token latency and throughput follow CENT's \
            formulas. Each row also runs through lolpim's pipeline with fidelity.partitioning: cent (--rung-steps). \
            Writes cent-table.csv with CENT's figures, ours and the ratios, and cent-ratio-<model>.svg; a stopped \
            table resumes from its cent-table.csv. See docs/CENT-CODE.md and docs/VALIDATION.md §7.
            """)

    @Option(help: "CENT's published figures (lolpim's file of them).")
    var published = "docs/validation/cent/cent-published.csv"

    @Option(help: "Directory for cent-table.csv.")
    var output = "results/cent"

    @Option(help: "Only this model (Llama2-7B, Llama2-13B, Llama2-70B); repeat for several. Default: all.")
    var model: [String] = []

    @Option(help: "Only this sequence length; repeat for several. Default: every published one.")
    var seqLen: [Int] = []

    @Option(help: "Only rows of this tensor-parallel degree; repeat for several. Default: all.")
    var tp: [Int] = []

    @Option(help: "Timing rules of the AiM simulator commit: centPinned (2eb1ee0, what CENT ran) or validated.")
    var commit: AiMSimulatorCommit = .centPinned

    @Option(
        help: "Decode steps of each row's run through lolpim's pipeline (fidelity.partitioning: cent); 0 skips it.")
    var rungSteps: Int = 48

    @Option(
        help: """
            Tensor-parallel rows' runs through the pipeline: free (as CENT's code) or costed (the scores crossing \
            the group's devices charged; fidelity.cent_score_moves).
            """)
    var scoreMoves: CENTScoreMoves = .free

    @Option(help: "Rows computed at once, one thread each (default: the machine's cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "No progress lines.")
    var quiet = false

    /// The largest table read (the published one and a table being resumed).
    static let maxTableBytes = 64 << 20

    func validate() throws {
        guard (0...4096).contains(rungSteps) else { throw ValidationError("--rung-steps must be 0…4096") }
        guard (1...256).contains(jobs) else { throw ValidationError("--jobs must be 1…256") }
    }

    func run() throws {
        let text: String
        do {
            text = try InputFile.text(published, what: "published table", maxBytes: Self.maxTableBytes)
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
        var rows = try reportingFailures { try CENTPublishedRow.parse(text, file: published) }
        if !model.isEmpty { rows = rows.filter { model.contains($0.model) } }
        if !seqLen.isEmpty { rows = rows.filter { seqLen.contains($0.seqLen) } }
        if !tp.isEmpty { rows = rows.filter { tp.contains($0.tp) } }
        guard !rows.isEmpty else {
            printError("no published row matches --model \(model) --seq-len \(seqLen) --tp \(tp)")
            throw ExitCode(2)
        }
        var setup = CENTTable(published: rows)
        setup.commit = commit
        setup.rungSteps = rungSteps > 0 ? rungSteps : nil
        setup.scoreMoves = scoreMoves
        let start = Date(), quiet = quiet, table = setup
        let path = (output as NSString).appendingPathComponent("cent-table.csv")
        var known: [String: CENTTable.Row] = [:]
        // An earlier table in the output directory is resumed; one that cannot be read is an error, not ignored.
        if FileManager.default.fileExists(atPath: path) {
            let csv: CSVTable
            do {
                csv = try CSVTable.parse(
                    InputFile.text(path, what: "cent table", maxBytes: Self.maxTableBytes), file: path)
            } catch {
                printError("\(error)")
                throw ExitCode(2)
            }
            known = table.resumable(csv)
            if !known.isEmpty, !quiet {
                FileHandle.standardError.write(Data("cent: resuming, \(known.count) rows from \(path)\n".utf8))
            }
        }
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            printError("\(output): cannot create (\(error.localizedDescription))")
            throw ExitCode(1)
        }
        let results = try reportingFailures {
            try table.run(known: known, workers: jobs) { done, total, r, rows in
                // Every finished row is on disk: a stopped table resumes where it stopped.
                try table.csv(rows).write(toFile: path, atomically: true, encoding: .utf8)
                guard !quiet else { return }
                let rung = r.rung.map {
                    String(
                        format: ", pipeline (cent) %.1f tokens/s (ratio %.3f)", $0.throughputTokensPerS,
                        $0.throughputTokensPerS / r.published.throughputTokensPerS)
                }
                let line = String(
                    format:
                        "[%d/%d] %@ pp %d tp %d T=%d: PIM %.7f ms (CENT %.7f, ratio %.6f), "
                        + "token %.4f ms (ratio %.6f)%@, %.0f s",
                    done, total, r.published.model, r.published.pp, r.published.tp, r.published.seqLen, r.pim,
                    r.published.pim,
                    r.pim / r.published.pim, r.token, r.token / r.published.token, rung ?? "",
                    Date().timeIntervalSince(start))
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
        do {
            try table.csv(results).write(toFile: path, atomically: true, encoding: .utf8)
            for (file, svg) in CENTTable.charts(results) {
                let chart = (output as NSString).appendingPathComponent(file)
                try svg.write(toFile: chart, atomically: true, encoding: .utf8)
            }
        } catch {
            printError("\(path): cannot write (\(error.localizedDescription))")
            throw ExitCode(1)
        }
        let worst = results.map { abs($0.pim / $0.published.pim - 1) }.max() ?? 0
        let percent = String(format: "%.3g", worst * 100)
        print(
            "cent: \(results.count) rows in \(path) (charts: cent-ratio-<model>.svg); "
                + "largest PIM-latency difference \(percent) %"
        )
    }
}
