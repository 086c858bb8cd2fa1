import Foundation
import Testing
@testable import PIMModule

/// The AiM controller model without refresh (the public AiM simulator's behaviour) on a 32-channel module.
func replay(_ text: String, refresh: Bool = false, record: Bool = true) throws -> AiMTraceReplay.Report {
    let model = AiMTraceReplay(timing: .gddr6AiM, refresh: refresh)
    return model.run(try model.parse(text, file: "t.aim").instructions, record: record)
}

let validationFolder = packageRootPath + "/docs/validation/aimsim"
let packageRootPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Rows of a `trace,memory_system_cycles` file.
func validationTotals(_ file: String) throws -> [(trace: String, cycles: Int64)] {
    try String(contentsOfFile: validationFolder + "/" + file, encoding: .utf8).split(separator: "\n").dropFirst()
        .map { line in
            let parts = line.split(separator: ",")
            return (String(parts[0]), Int64(parts[1])!)
        }
}

@Suite("AiM trace replay: the public AiM simulator's rules, one hand-derived trace per rule")
struct TraceReplayTests {
    /// The controller starts in bank mode: WR_GB first switches to register mode (TMOD at cycle 1, every
    /// command held nMODCH = 32), WRGB issues at 33 and completes at 33 + nCWLGB + nBL = 36; EOC reaches the
    /// head at 34 but leaves only after the write has retired (36), at 37.
    @Test("a trace starts in bank mode; EOC waits for writes in flight")
    func startMode() throws {
        let r = try replay("AiM WR_GB 1 0 0x80000000\nAiM EOC")
        #expect(r.cycles == 37)
        #expect(r.trace.map(\.cycle) == [1, 33])
        #expect(r.trace.map(\.command.kind) == [.tmod, .wrgb])
    }

    /// RD_MAC blocks decoding: TMOD at 1, RDMAC16 at 33, done at 35 (nCLREG + nBL = 2), released in cycle 35;
    /// the second RD_MAC is decoded in cycle 35 and issues at 36 (no mode change), done at 38; EOC is
    /// decoded at 38, leaves at 39, counted at 40.
    @Test("RD_MAC blocks the decoder until it completes")
    func blocking() throws {
        let r = try replay("AiM RD_MAC 0 0x80000000\nAiM RD_MAC 0 0x80000000\nAiM EOC")
        #expect(r.cycles == 40)
        #expect(r.trace.map(\.cycle) == [1, 33, 36])
    }

    /// WR_BIAS: TMOD 1, WRMAC16 33. MAC_ABK needs bank mode: TMOD 34, ACT16 66, MAC16 66 + nRCDRDMAC = 122.
    /// RD_MAC: MAC16 → RDMAC16 nCCDL, so ready at 124: TMOD 124, RDMAC16 156, done 158; EOC decoded at 158,
    /// counted at 160. (lolpim's old replay said 127: it had no mode change before the first instruction
    /// and counted no EOC.)
    @Test("every switch between register and bank instructions costs a mode change")
    func modeChanges() throws {
        let r = try replay("AiM WR_BIAS 0 0x80000000\nAiM MAC_ABK 1 0x80000000 0\nAiM RD_MAC 0 0x80000000\nAiM EOC")
        #expect(r.cycles == 160)
        #expect(r.trace.map(\.cycle) == [1, 33, 34, 66, 122, 124, 156])
        #expect(r.commands[.tmod] == 3)
    }

    /// A channel queue takes 33 requests. MAC_ABK 64 on channel 0: ACT16 at 1, MAC16 k at 57 + 2k. The 31
    /// requests that did not fit enter as MAC16s leave; the last one in cycle 117 (after MAC16 30), when the
    /// instruction is done: the decoder waited for room in cycles 1…116. The channel-1 MAC_ABK is decoded at
    /// 118: ACT16 at 119, MAC16 at 175. Channel 0's last MAC16 issues at 183 and retires at 184; EOC leaves
    /// there at 185.
    @Test("a full channel queue stalls decoding")
    func queueDepth() throws {
        let r = try replay("AiM MAC_ABK 64 0x80000000 0\nAiM MAC_ABK 1 0x40000000 3\nAiM EOC")
        #expect(r.cycles == 185)
        let channel1 = r.trace.filter { $0.channel == 1 }.map(\.cycle)
        #expect(channel1 == [119, 175])
        #expect(r.queueFullCycles == 116)
    }

    @Test("bit 31 − c of a mask selects channel c; a broadcast costs what one channel costs")
    func masks() throws {
        let one = try replay("AiM WR_GB 1 0 0x40000000\nAiM EOC")
        #expect(one.cycles == 37)
        #expect(
            one.channelCommands[1] == 2
                && one.channelCommands.enumerated().allSatisfy { $0.offset == 1 || $0.element == 0 })
        let all = try replay("AiM WR_GB 1 0 0xffffffff\nAiM EOC")
        #expect(all.cycles == 37)
        #expect(all.channelCommands.allSatisfy { $0 == 2 })
    }

    /// MAC16 at 57 (row 0); row 1 needs PREA after nRTP (69) and nRAS (55): 69; ACT16 after nRP: 101 (nRC
    /// from the first ACT16 allows 90); MAC16 at 157, retired at 158; EOC counted at 159.
    @Test("MAC_ABK on another row issues PREA and ACT16 in the channel")
    func rowChange() throws {
        let r = try replay("AiM MAC_ABK 1 0x80000000 0\nAiM MAC_ABK 1 0x80000000 1\nAiM EOC")
        #expect(r.cycles == 159)
        #expect(r.trace.map(\.cycle) == [1, 57, 69, 101, 157])
        #expect(r.trace.map(\.command.kind) == [.act16, .mac16, .prea, .act16, .mac16])
    }

    /// W MEM: ACT (bank 0) at 1, then WR at 1 + nRCDWR = 29. R MEM (queued while the write waits in the
    /// open-row buffer, so not forwarded): RD after the write-to-read turnaround inside the bank group,
    /// 29 + nCWL + nBL + nWTRL = 48, data at 100. EOC is refused while a memory request is queued; it enters
    /// at 48 and leaves behind the read: 101.
    @Test("single-bank memory requests: FR-FCFS queues, no AiM request beside them, completions in order")
    func memoryRequests() throws {
        let r = try replay("W MEM 0 0 5\nR MEM 0 0 5\nAiM EOC")
        #expect(r.cycles == 101)
        #expect(r.trace.map(\.cycle) == [1, 29, 48])
        #expect(r.trace.map(\.command.kind) == [.act, .wr, .rd])
        #expect(r.hostLines == 2)
    }

    /// SYNC goes to every channel and blocks like EOC: the WR_GB on channel 1 is decoded only when channel 0
    /// has finished its MACs (SYNC released at 185): TMOD 186, WRGB 218, done 221, EOC counted at 222.
    @Test("SYNC waits for every channel")
    func sync() throws {
        let r = try replay("AiM MAC_ABK 64 0x80000000 0\nAiM SYNC\nAiM WR_GB 1 0 0x40000000\nAiM EOC")
        #expect(r.cycles == 222)
        #expect(r.trace.filter { $0.channel == 1 }.map(\.cycle) == [186, 218])
    }

    @Test("refresh is the one departure: off reproduces the simulator, on adds REF every nREFI")
    func refresh() throws {
        var text = ""
        for _ in 0..<40 { text += "AiM WR_BIAS 0 0x80000000\nAiM MAC_ABK 8 0x80000000 0\nAiM RD_MAC 0 0x80000000\n" }
        text += "AiM EOC"
        let off = try replay(text), on = try replay(text, refresh: true)
        #expect(off.commands[.ref] == 0)
        // Every channel refreshes once per nREFI = 3333 cycles (the last one may still be queued at EOC).
        let refreshes = Int64(on.trace.filter { $0.channel == 0 && $0.command.kind == .ref }.count)
        #expect((on.cycles / 3333 - 1...on.cycles / 3333).contains(refreshes))
        #expect(refreshes >= 1 && on.cycles > off.cycles)
    }

    /// The public simulator's totals for the ten sample traces (made with its example configuration) and
    /// for the nine micro traces above, recorded in docs/validation/aimsim.
    @Test(
        "the recorded traces take exactly the AiM simulator's cycles", arguments: ["cycles.csv", "lolpim-cycles.csv"])
    func recorded(file: String) throws {
        for (trace, cycles) in try validationTotals(file) {
            let text = try String(contentsOfFile: validationFolder + "/" + trace, encoding: .utf8)
            let r = try replay(text, record: true)
            #expect(r.cycles == cycles, "\(trace)")
            let table = TimingTable.aimSimulator(AiMTiming.gddr6AiM.aimSimulatorEffective)
            #expect(TimingChecker(table: table).check(r.trace).isEmpty, "\(trace)")
        }
    }

    @Test("a file handed in line by line (CRLF or LF) takes the same cycles as the parsed trace")
    func streamed() throws {
        for (trace, cycles) in try validationTotals("cycles.csv") {
            let text = try String(contentsOfFile: validationFolder + "/" + trace, encoding: .utf8)
            for ending in ["\n", "\r\n"] {
                let path = NSTemporaryDirectory() + "lolpim-stream-\(getpid()).trace"
                try text.replacingOccurrences(of: "\n", with: ending).write(
                    toFile: path, atomically: true,
                    encoding: .utf8)
                let model = AiMTraceReplay(timing: .gddr6AiM, refresh: false)
                // Lines are handed in one at a time, as `lolpim kernel --replay` hands them from its reader.
                var lines = try String(contentsOfFile: path, encoding: .utf8)
                    .split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
                    .makeIterator()
                var reader = model.reader(file: path)
                let report = try model.run(next: { () throws -> AiMInstruction? in
                    while let line = lines.next() {
                        if let instruction = try reader.instruction(fromLine: line) { return instruction }
                    }
                    return nil
                })
                #expect(report.cycles == cycles, "\(trace) with \(ending == "\n" ? "LF" : "CRLF")")
                #expect(try replay(text.replacingOccurrences(of: "\n", with: ending)).cycles == cycles)
            }
        }
    }

    @Test("rows beyond the module's bank and fields beyond 32 bits are refused at their line")
    func ranges() throws {
        let model = AiMTraceReplay(module: .cent32, refresh: false)  // 16,384 rows of 2 KB per 32 MiB bank
        #expect(throws: Never.self) { try model.parse("AiM MAC_ABK 1 0x80000000 16383\nAiM EOC", file: "t.aim") }
        for (text, fragment) in [
            ("AiM MAC_ABK 1 0x80000000 16384\nAiM EOC", "rows of a bank"),
            ("AiM MAC_ABK 1 0x80000000 2147483648\nAiM EOC", "rows of a bank"),
            ("AiM EWADD 1 4294967296 0\nAiM EOC", "32-bit"),
            ("W GPR 99999999999999999999\nAiM EOC", "32-bit"),
        ] {
            #expect {
                _ = try model.parse(text, file: "t.aim")
            } throws: { error in
                (error as? AiMTraceParser.ParseError).map { $0.line == 1 && $0.message.contains(fragment) } == true
            }
        }
    }

    @Test("the grammar of the toolchain: comments, ISR_ prefixes, spaces, lines after EOC")
    func grammar() throws {
        let r = try replay("# kind: test\n\n  AiM   ISR_WR_GB 1 0 0x80000000\n#\nAiM EOC\nanything after EOC")
        #expect(r.instructions == 2 && r.cycles == 37)
    }

    @Test(
        "malformed lines are refused with file:line and the field",
        arguments: [
            ("AiM WR_GB 4 0\nAiM EOC", 1, "takes 3 fields"),
            ("AiM MAC_ABK 4 0x80000000 7", 1, "without 'AiM EOC'"),
            ("AiM FOO 1\nAiM EOC", 1, "unknown AiM opcode"),
            ("# ok\nAiM MAC_ABK 0 0x1 0\nAiM EOC", 2, "opsize"),
            ("AiM MAC_ABK 4 0 7\nAiM EOC", 1, "channel mask"),
            ("AiM MAC_ABK 4 zz 7\nAiM EOC", 1, "0x-hex"),
            ("AiM MAC_ABK 4 0x1ffffffff 7\nAiM EOC", 1, "32-bit"),
            ("AiM WR_ABK 0 0xC0000000 7\nAiM EOC", 1, "exactly one channel"),
            ("AiM MAC_SBK 1 0x80000000 16 7\nAiM EOC", 1, "bank"),
            ("AiM WR_AFLUT 1\nAiM EOC", 1, "not supported"),
            ("W CFR 7 1\nAiM EOC", 1, "CFR address"),
            ("R MEM 40 0 0\nAiM EOC", 1, "channel"),
            ("# comment\nX Y\nAiM EOC", 2, "expected 'AiM'"),
            ("#comment\nAiM EOC", 1, "expected 'AiM'"),
        ])
    func malformed(text: String, line: Int, fragment: String) {
        do {
            _ = try AiMTraceParser.parse(text, file: "bad.aim")
            Issue.record("accepted: \(text)")
        } catch let error as AiMTraceParser.ParseError {
            #expect(error.line == line)
            #expect(error.description.hasPrefix("bad.aim:\(line): "))
            #expect(error.message.contains(fragment), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("a mask that names a channel the module does not have is refused")
    func channelsOfTheModule() {
        #expect(throws: AiMTraceParser.ParseError.self) {
            _ = try AiMTraceParser.parse("AiM WR_GB 1 0 0x00008000\nAiM EOC", file: "t", channels: 16)
        }
    }
}
