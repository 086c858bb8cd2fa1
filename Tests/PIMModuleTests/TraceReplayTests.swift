import Testing
@testable import PIMModule

func replay(_ text: String) throws -> AiMTraceReplay.Report {
    let parsed = try AiMTraceReplay.parse(text, file: "t.aim")
    return AiMTraceReplay(table: .gddr6AiM).replay(parsed.instructions, hostLines: parsed.hostLines, record: true)
}

@Suite("AiM trace replay (public toolchain format and controller rules)")
struct TraceReplayTests {
    /// WR_GB: 4 bursts nBL apart (0, 2, 4, 6), done at 6 + nCWLGB + nBL = 9. MAC_ABK switches class: all
    /// idle at 9, + nMODCH 32 = 41: ACT16 at 41, MAC16 at 41 + 56 = 97, 99, 101, 103, done at 105. RD_MAC
    /// switches back: 105 + 32 = 137, done at 137 + nCLREG + nBL = 139.
    @Test("a hand-written trace takes the cycles the rules imply")
    func handDerived() throws {
        let r = try replay("""
            # one channel
            AiM WR_GB 4 0 0x80000000
            AiM MAC_ABK 4 0x80000000 7
            AiM RD_MAC 0 0x80000000
            AiM EOC
            """)
        #expect(r.cycles == 139)
        #expect(r.commands[.wrgb] == 4)
        #expect(r.commands[.act16] == 1)
        #expect(r.commands[.mac16] == 4)
        #expect(r.commands[.rdmac16] == 1)
        #expect(r.trace.map(\.cycle) == [0, 2, 4, 6, 41, 97, 99, 101, 103, 137])
        #expect(TimingChecker(table: .gddr6AiM).check(r.trace).isEmpty)
    }

    @Test("a channel mask selects channels by bit 31 − c; a broadcast costs what one channel costs")
    func masks() throws {
        let r = try replay("AiM WR_GB 4 0 0xC0000000\nAiM MAC_ABK 4 0xC0000000 7\nAiM RD_MAC 0 0xC0000000\nAiM EOC")
        #expect(r.cycles == 139)
        #expect(r.channelCommands[0] == 10 && r.channelCommands[1] == 10)
        #expect(r.channelCommands[2...].allSatisfy { $0 == 0 })
    }

    /// Channel 0 gets 2 × 64 MAC16 (plus one ACT16); its 33-entry queue lets the decoder move on only when
    /// request 128 is queued, i.e. one cycle after request 95 (the 31st MAC16 of the second instruction, at
    /// 184 + 60 = 244) issued: the channel-1 instruction is decoded at 246, its ACT16 issues at 246, its
    /// MAC16 at 302, done at 304. Channel 0's last MAC16 issues at 184 + 126 = 310, done at 312.
    @Test("a full request queue stalls decoding")
    func queueStall() throws {
        let r = try replay("""
            AiM MAC_ABK 64 0x80000000 0
            AiM MAC_ABK 64 0x80000000 0
            AiM MAC_ABK 1 0x40000000 3
            AiM EOC
            """)
        #expect(r.channelEnd[1] == 304)
        #expect(r.cycles == 312)
        #expect(r.commands[.act16] == 2)
    }

    @Test("a row change inside MAC_ABK issues PREA and ACT16; host lines cost nothing")
    func rowChange() throws {
        let r = try replay("W GPR 0\nAiM MAC_ABK 2 0x80000000 1\nAiM MAC_ABK 2 0x80000000 2\nAiM EOC")
        #expect(r.hostLines == 1)
        #expect(r.commands[.prea] == 1)
        #expect(r.commands[.act16] == 2)
        #expect(TimingChecker(table: .gddr6AiM).check(r.trace).isEmpty)
    }

    @Test("malformed lines are refused with file:line", arguments: [
        ("AiM WR_GB 4 0\nAiM EOC", 1, "takes 3 operands"),
        ("AiM MAC_ABK 4 0x80000000 7", 1, "must end with AiM EOC"),
        ("AiM FOO 1\nAiM EOC", 1, "unknown AiM opcode"),
        ("# ok\nAiM MAC_ABK 65 0x1 0\nAiM EOC", 2, "opsize"),
        ("AiM MAC_ABK 4 0 7\nAiM EOC", 1, "mask"),
        ("AiM MAC_ABK 4 zz 7\nAiM EOC", 1, "0x-hex"),
        ("AiM EOC\nAiM EOC", 2, "after AiM EOC"),
        ("X Y\nAiM EOC", 1, "expected 'AiM'"),
    ])
    func malformed(text: String, line: Int, fragment: String) {
        do {
            _ = try AiMTraceReplay.parse(text, file: "bad.aim")
            Issue.record("accepted: \(text)")
        } catch let error as AiMTraceReplay.ParseError {
            #expect(error.line == line)
            #expect(error.description.hasPrefix("bad.aim:\(line): "))
            #expect(error.message.contains(fragment), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
