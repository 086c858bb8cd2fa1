import ArgumentParser
import Cluster
import Foundation
import PIMModule
import Studies
import Workload

/// `lolpim kernel`: time one kernel on one module at command level, optionally dumping its command trace.
struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Time one PIM kernel at command level and optionally write its command trace.",
        discussion: """
            gemv: y = W x on one channel's share of a matrix (rows are per channel). attention: QKᵀ and SV of \
            one request's KV heads over a context, on all channels of the module.
            The trace has one command per line: cycle channel COMMAND bank row column gb_entry obuf_entry \
            (-1 where a field does not apply).
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable { case gemv, attention }

    @Argument(help: "Kernel kind: gemv or attention (not needed with --replay).")
    var kind: Kind?

    @Option(help: "Replay an AiM instruction trace (text format of the public AiM toolchain) and report its timing.")
    var replay: String?

    @Option(help: "gemv: output rows on one channel.")
    var rows: Int = 256

    @Option(help: "gemv: input length (elements).")
    var columns: Int = 4096

    @Option(help: "gemv: input vectors sharing the weights (batch).")
    var batch: Int = 1

    @Option(help: "attention: tokens in the context.")
    var tokens: Int = 16384

    @Option(help: "attention: KV heads.")
    var kvHeads: Int = 32

    @Option(help: "attention: query heads per KV head (GQA group).")
    var group: Int = 1

    @Option(help: "attention: elements per head.")
    var headDim: Int = 128

    @Option(help: "attention: tcp (token-parallel) or hfp (head-first).")
    var partitioning: AttentionPartitioning = .tokenParallel

    @Option(help: "Module preset: \(ModuleConfig.presetNames.joined(separator: ", ")).")
    var module: String = "cent-32ch"

    @Option(help: "Scheduling: static, pingpong or dcs.")
    var scheduling: SchedulingPolicy = .dcs

    @Option(help: "Output-buffer entries (pingpong, dcs).")
    var obufEntries: Int = 8

    func validate() throws {
        try require(rows, in: 1...1_048_576, "--rows")
        try require(columns, in: 1...1_048_576, "--columns")
        try require(batch, in: 1...65_536, "--batch")
        try require(tokens, in: TopologyLimits.contextTokens.range, "--tokens")
        try require(kvHeads, in: TopologyLimits.kvHeads.range, "--kv-heads")
        try require(group, in: 1...4096, "--group")
        try require(headDim, in: TopologyLimits.headDim.range, "--head-dim")
        try require(obufEntries, in: TopologyLimits.obufEntries.range, "--obuf-entries")
        guard replay == nil, let kind, let preset = ModuleConfig.presets[module] else { return }
        // The sizes are in range one by one; together they may still make a stream too long to hold.
        switch kind {
        case .gemv:
            let commands = Self.gemvCommands(rows: rows, columns: columns, batch: batch, module: preset)
            guard commands <= Self.maxCommands else {
                throw ValidationError(
                    "gemv --rows \(rows) --columns \(columns) --batch \(batch) is \(commands) MAC16 commands on one "
                        + "channel of \(preset.preset); lolpim kernel simulates at most \(Self.maxCommands) (it holds "
                        + "the command stream in memory): lower --rows, --columns or --batch")
            }
        case .attention:
            let commands = Self.attentionCommands(
                tokens: tokens, kvHeads: kvHeads, group: group, headDim: headDim, module: preset)
            let sizes = "attention --tokens \(tokens) --kv-heads \(kvHeads) --group \(group) --head-dim \(headDim)"
            // As one AiM program (printed under static, written by --emit-aim) the operator is held whole.
            guard commands <= Self.maxCommands || (scheduling != .static && emitAim == nil) else {
                throw ValidationError(
                    "\(sizes) is \(commands) MAC16 commands; as one AiM program (--scheduling static or --emit-aim) "
                        + "lolpim kernel holds at most \(Self.maxCommands): lower --tokens or --kv-heads")
            }
            // Timed by the kernel timer, each channel's GEMV is simulated in blocks of rows or input chunks.
            let slice = partitioning == .headFirst ? tokens : (tokens + preset.channels - 1) / preset.channels
            let simulated = max(
                Self.simulatedCommands(rows: slice, columns: headDim, batch: group, module: preset),
                Self.simulatedCommands(rows: headDim, columns: slice, batch: group, module: preset))
            guard simulated <= Self.maxTimedCommands else {
                throw ValidationError(
                    "\(sizes): timing it simulates streams of \(simulated) MAC16 commands on a channel; lolpim "
                        + "kernel holds at most \(Self.maxTimedCommands): lower --group, --head-dim or --tokens")
            }
        }
    }

    /// The most MAC16 commands `lolpim kernel` simulates as one stream (a gemv on its channel, or an attention
    /// operator as one AiM program): the stream is held in memory, some 150 bytes a command (0.6 GB at the bound).
    static let maxCommands = 1 << 22
    /// The longest block stream of an attention's GEMVs the kernel timer may simulate (it simulates both loop
    /// orders of a large group, with more state per command: some 0.4 GB at the bound).
    static let maxTimedCommands = 1 << 20

    /// MAC16 commands of a gemv on one channel: one per bank row (16 output rows), input column and input.
    static func gemvCommands(rows: Int, columns: Int, batch: Int, module: ModuleConfig) -> Int {
        let rowsPerBank = (rows + module.banksPerChannel - 1) / module.banksPerChannel
        let elements = module.columnBytes / 2
        return rowsPerBank * ((columns + elements - 1) / elements) * batch
    }

    /// The longest stream the kernel timer simulates in one piece for a gemv on one channel: the whole kernel
    /// when it is short (50,000 MAC16 commands) or has fewer than 16 blocks, else 8 of its blocks (one DRAM row
    /// per input chunk, or one input chunk), from which it extrapolates (`KernelTimer.decomposed`).
    static func simulatedCommands(rows: Int, columns: Int, batch: Int, module: ModuleConfig) -> Int {
        let total = gemvCommands(rows: rows, columns: columns, batch: batch, module: module)
        let rowsPerBank = (rows + module.banksPerChannel - 1) / module.banksPerChannel
        let elements = module.columnBytes / 2
        let columnsPerInput = (columns + elements - 1) / elements
        let chunkColumns = min(columnsPerInput, module.columnsPerRow)
        let chunks = (columnsPerInput + chunkColumns - 1) / chunkColumns
        let dramRows =
            (rowsPerBank + max(1, module.columnsPerRow / chunkColumns) - 1)
            / max(1, module.columnsPerRow / chunkColumns)
        let blocks = dramRows >= 16 ? dramRows : chunks >= 16 ? chunks : 1
        return total <= 50_000 || blocks == 1 ? total : 8 * ((total + blocks - 1) / blocks)
    }

    /// MAC16 commands of the larger of an attention's two operators (QKᵀ over K, SV over Vᵀ), on the module.
    static func attentionCommands(tokens: Int, kvHeads: Int, group: Int, headDim: Int, module: ModuleConfig) -> Int {
        let score = gemvCommands(rows: tokens, columns: headDim, batch: group, module: module)
        let value = gemvCommands(rows: headDim, columns: tokens, batch: group, module: module)
        return max(score, value) * kvHeads
    }

    @Option(help: "Write the command trace (gemv or --replay) to this file.")
    var trace: String?

    @Flag(help: "Run the command trace (gemv or --replay) through the timing-legality checker.")
    var check = false

    @Option(help: "Write the kernel's instruction stream in the AiM simulator's trace format to this file.")
    var emitAim: String?

    @Flag(help: "No DRAM refresh (the public AiM simulator never refreshes; lolpim refreshes every nREFI).")
    var noRefresh = false

    @OptionGroup var kernelCache: KernelCacheOptions

    /// This command's view of the kernel-timing store (nil when off), counting its lookups.
    var store: CountingKernelStore? { kernelCache.choice.store.map { CountingKernelStore($0) } }

    func run() throws {
        guard let preset = ModuleConfig.presets[module] else {
            throw ValidationError("--module must be one of: \(ModuleConfig.presetNames.joined(separator: ", "))")
        }
        let policy = scheduling
        guard rows > 0, columns > 0, batch > 0, tokens > 0, kvHeads > 0, group > 0, headDim > 0, obufEntries >= 2 else {
            throw ValidationError("sizes must be positive (and --obuf-entries at least 2)")
        }
        let ns = Double(preset.tCKps) / 1000
        if let replay {
            try runReplay(replay, module: preset)
            return
        }
        guard let kind else { throw ValidationError("name a kernel kind (gemv or attention) or give --replay FILE") }
        switch kind {
        case .gemv:
            let store = self.store
            defer { report(store) }
            let timer = KernelTimer(module: preset, policy: policy, obufEntries: obufEntries, store: store)
            let shape = GEMVShape(rows: rows, columns: columns, batch: batch)
            let order = timer.time(shape).order
            let timing = timer.simulate(timer.canonical(shape), order: order, refresh: !noRefresh)
            let macs = timing.count(.mac16)
            let bytes = Double(rows * columns * 2)
            print(
                "gemv \(rows) rows × \(columns) columns × batch \(batch) on one channel of \(preset.preset), "
                    + "\(policy) scheduling, \(timing.order) loop order, "
                    + "refresh \(noRefresh ? "off" : "on (from cycle 0)")")
            print(
                String(
                    format: "  time           %lld cycles = %.1f ns (tCK %lld ps)", timing.cycles,
                    Double(timing.cycles) * ns, preset.tCKps))
            if !noRefresh {
                print(
                    "  in runs        \(timer.time(shape).cycles) cycles (refresh-free time + expected refresh stalls)")
            }
            print(
                String(
                    format: "  MAC busy       %.1f %% of cycles (MAC16 × nCCDL / cycles)",
                    Double(macs * Int64(preset.timing.nCCDL)) / Double(timing.cycles) * 100))
            print(
                String(
                    format: "  weight stream  %.1f GB/s of the channel's %.1f GB/s peak",
                    bytes / (Double(timing.cycles) * ns), preset.peakInternalBandwidth / Double(preset.channels) / 1e9))
            print(
                "  commands       "
                    + AiMCommandKind.allCases.filter { timing.count($0) > 0 }
                    .map { "\($0) \(timing.count($0))" }.joined(separator: " · "))
            if let emitAim {
                let mask = AiMInstruction.mask(0..<min(32, preset.channels))
                let program = timer.aimProgram(shape, order: order, mask: mask)
                try writeAim(
                    program, to: emitAim, backend: timer.backend,
                    header: [
                        "gemv \(rows) rows x \(columns) columns x batch \(batch) per channel",
                        "\(preset.preset), every channel its own share, \(order) loop order",
                    ])
            }
            if trace != nil || check {
                let commands = timer.trace(shape, refresh: !noRefresh)
                if let trace {
                    let text = commands.map(\.traceLine).joined(separator: "\n") + "\n"
                    try text.write(toFile: trace, atomically: true, encoding: .utf8)
                    print("  trace          \(commands.count) commands written to \(trace)")
                }
                if check { try checkLegality(commands, table: timer.table) }
            }
        case .attention:
            guard trace == nil && !check else {
                throw ValidationError(
                    "--trace and --check apply to gemv kernels and --replay; an attention op is many "
                        + "kernels (time one slice with: gemv --rows TOKENS --columns HEAD_DIM --batch GROUP)")
            }
            guard let split = partitioning.mapping else {
                throw ValidationError(
                    "--partitioning cent times whole stages (CENT's lowering of every layer), not one kernel; run "
                        + "a topology with fidelity.partitioning: cent, or lolpim cent for CENT's table")
            }
            try runAttention(preset: preset, policy: policy, split: split, ns: ns)
        }
    }

    func runAttention(preset: ModuleConfig, policy: SchedulingPolicy, split: any AttentionMapping, ns: Double) throws {
        let store = self.store
        defer { report(store) }
        let model = CommandCostModel(
            module: preset, scheduling: policy, mapping: split,
            obufEntries: obufEntries, refresh: !noRefresh, store: store)
        let shape = OpShape.attention(
            contexts: [tokens], queryHeads: kvHeads * group, kvHeads: kvHeads,
            headDim: headDim)
        let score = model.cost(of: DecodeOp(.attentionScore, .pim, flops: 0, shape: shape)).latency
        let value = model.cost(of: DecodeOp(.attentionValue, .pim, flops: 0, shape: shape)).latency
        print(
            "attention over \(tokens) tokens, \(kvHeads) KV heads × group \(group), head_dim \(headDim), "
                + "\(split.name) partitioning, \(policy) scheduling, \(preset.preset), "
                + "refresh \(noRefresh ? "off" : "on")")
        print(String(format: "  QKᵀ  %.3f µs", Double(score) / 1e6))
        print(String(format: "  SV   %.3f µs (HUB reduction included)", Double(value) / 1e6))
        // The operators as AiM programs over all channels: what --emit-aim writes and `static` times.
        let runsAiM = model.timer.backend.runsAiMPrograms
        let timer = runsAiM ? model.timer : KernelTimer(module: preset, policy: .static)
        let program = AttentionProgram(timer: timer, mapping: split)
        // The operators as whole programs only when they are printed or written.
        for (phase, name) in [(AttentionProgram.Phase.score, "QK^T"), (.value, "SV")]
        where runsAiM || emitAim != nil {
            let instructions = program.program(
                phase, contexts: [tokens], kvHeads: kvHeads, group: group,
                headDim: headDim)
            if runsAiM {
                let cycles = program.replay(refresh: !noRefresh).run(instructions).cycles
                print(
                    String(
                        format: "  %@ as one AiM program: %lld cycles = %.3f µs (refresh %@; no HUB work)",
                        name, cycles, Double(cycles) * ns / 1000, noRefresh ? "off" : "from cycle 0"))
            }
            if let emitAim {
                try writeAim(
                    instructions, to: phase == .score ? emitAim : Self.valuePath(emitAim), backend: model.timer.backend,
                    header: [
                        "attention \(name) over \(tokens) tokens, \(kvHeads) KV heads x group \(group), "
                            + "head_dim \(headDim), \(split.name), \(preset.preset)"
                    ])
            }
        }
        let bytes = Double(2 * tokens * kvHeads * headDim * 2)
        print(
            String(
                format: "  K+V stream  %.1f GB/s of the module's %.1f GB/s peak",
                bytes / (Double(score + value) / 1000), preset.peakInternalBandwidth / 1e9))
    }

    /// The store's lookups of this command, printed and recorded for `lolpim cache stats`.
    func report(_ store: CountingKernelStore?) {
        guard let store, let file = store.base as? SQLiteKernelStore else { return }
        print("  kernel store   \(store.hits) hits, \(store.misses) misses (\(file.path))")
        file.recordRun(command: "kernel", hits: store.hits, misses: store.misses)
    }

    /// Where the SV program goes beside the QKᵀ one: `a.trace` → `a.sv.trace`.
    static func valuePath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let base = ext.isEmpty ? url : url.deletingPathExtension()
        return base.path + ".sv" + (ext.isEmpty ? "" : "." + ext)
    }

    func runReplay(_ path: String, module: ModuleConfig) throws {
        // The trace is read and replayed line by line: memory stays constant whatever its length.
        let replayer = AiMTraceReplay(module: module, refresh: !noRefresh)
        let lines: LineReader
        do {
            lines = try LineReader(path: path, what: "AiM trace")
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        var reader = replayer.reader(file: path)
        var sawEOC = false
        func next() throws -> AiMInstruction? {
            guard !sawEOC else { return nil }
            while true {
                let line: Substring?
                do {
                    line = try lines.next()
                } catch {
                    throw AiMTraceParser.ParseError(
                        file: path, line: error.line ?? reader.lineNumber + 1, message: error.message)
                }
                guard let line else { throw reader.missingEOC() }
                if let instruction = try reader.instruction(fromLine: line) {
                    sawEOC = instruction.opcode == .eoc
                    return instruction
                }
            }
        }
        let started = ContinuousClock.now
        let report: AiMTraceReplay.Report
        do {
            report = try replayer.run(next: next, record: trace != nil || check)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let wall = ContinuousClock.now - started
        let ns = Double(module.tCKps) / 1000
        print(
            "replay of \(path): \(report.instructions) instructions (\(report.hostLines) host accesses), "
                + "\(module.preset) (\(module.channels) channels, tCK \(module.tCKps) ps), AiM simulator rules, "
                + "refresh \(noRefresh ? "off" : "on")"
        )
        print(String(format: "  total          %lld cycles = %.1f ns", report.cycles, Double(report.cycles) * ns))
        print(
            "  commands       "
                + AiMCommandKind.allCases.filter { report.commands[$0] > 0 }
                .map { "\($0) \(report.commands[$0])" }.joined(separator: " · "))
        print(
            "  decoder        \(report.blockedCycles) cycles waiting for blocking instructions, "
                + "\(report.queueFullCycles) for a full channel queue")
        let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        let issued = report.channelCommands.reduce(0, +)
        print(
            String(
                format: "  replay speed   %lld commands in %.3f s = %.0f commands/s (wall clock)", issued, seconds,
                Double(issued) / max(seconds, 1e-9)))
        print("  per channel    channel: commands, busy until cycle")
        for c in 0..<module.channels where report.channelCommands[c] > 0 {
            print("    \(c): \(report.channelCommands[c]) commands, busy until \(report.channelEnd[c])")
        }
        if let trace {
            try (report.trace.map(\.traceLine).joined(separator: "\n") + "\n").write(
                toFile: trace, atomically: true, encoding: .utf8)
            print("  trace          \(report.trace.count) commands written to \(trace)")
        }
        if check { try checkLegality(report.trace, table: replayer.table) }
    }

    /// Writes an AiM instruction program; under dcs or pingpong it is the static order, and says so.
    func writeAim(
        _ program: [AiMInstruction], to path: String, backend: any ChannelBackend, header: [String]
    ) throws {
        let policy = backend.policy
        var lines = header.map { "# " + $0 }
        if !backend.runsAiMPrograms {
            lines.append("# static instruction order: \(policy) scheduling cannot be expressed in this format")
            print(
                "  note           \(policy) reorders commands inside the controller, which the AiM simulator's "
                    + "instruction format cannot express: \(path) holds the static order")
        }
        lines += program.map(\.text)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        print("  AiM trace      \(program.count) instructions written to \(path)")
    }

    func checkLegality(_ commands: [IssuedCommand], table: TimingTable) throws {
        let violations = TimingChecker(table: table).check(commands)
        print("  legality       \(violations.isEmpty ? "no violations" : "\(violations.count) violations")")
        for v in violations.prefix(20) { print("    \(v)") }
        if !violations.isEmpty { throw ExitCode(1) }
    }
}
