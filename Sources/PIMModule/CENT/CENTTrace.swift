/// CENT's trace writer for one device: each method emits what the `*_only_trace` writer of the same name in
/// `cent_simulation/aim_sim.py` writes to the trace file (CENT commit 8c79786), as `AiMInstruction`s in the
/// public AiM toolchain's syntax (`AiMTraceParser`). A channel list becomes the mask `hex_channel_mask`
/// builds (`aim_sim.py:99-111`: channel c at bit 31 − c, as `AiMInstruction.mask`).
public struct CENTTrace: Sendable {
    public let device: CENTDevice
    /// What has been written, the score moves kept as loops (`CENTInstructions`).
    public private(set) var program = CENTInstructions()
    /// The same, every instruction written out.
    public var instructions: [AiMInstruction] { Array(program) }

    public init(device: CENTDevice) { self.device = device }

    /// `W_MEM_only_trace` (`aim_sim.py:252-254`): one `W MEM channel bank row` per burst of `size` values.
    mutating func writeMEM(channel: Int, bank: Int, row: Int, size: Int) {
        for _ in 0..<CENTDevice.ceilDiv(size, device.burst) {
            program.append(AiMInstruction(.writeMEM, [.channel: channel, .bank: bank, .row: row]))
        }
    }

    /// `R_MEM_only_trace` (`aim_sim.py:256-258`).
    mutating func readMEM(channel: Int, bank: Int, row: Int, size: Int) {
        for _ in 0..<CENTDevice.ceilDiv(size, device.burst) {
            program.append(AiMInstruction(.readMEM, [.channel: channel, .bank: bank, .row: row]))
        }
    }

    /// `WR_ABK_only_trace` (`aim_sim.py:260-261`): `AiM WR_ABK 0 mask row` to one channel.
    mutating func wrABK(channel: Int, row: Int) {
        program.append(AiMInstruction(.wrABK, [.gpr0: 0, .mask: AiMInstruction.mask([channel]), .row: row]))
    }

    /// `WR_BIAS_only_trace` (`aim_sim.py:263-265`): `AiM WR_BIAS 0 mask`.
    mutating func wrBias(_ channels: Range<Int>) {
        program.append(AiMInstruction(.wrBias, [.gpr0: 0, .mask: AiMInstruction.mask(channels)]))
    }

    /// `MAC_ABK_only_trace` (`aim_sim.py:267-270`): `AiM MAC_ABK opsize mask row` (no column field).
    mutating func macABK(_ channels: Range<Int>, row: Int, opsize: Int) {
        program.append(
            AiMInstruction(.macABK, [.opsize: opsize, .mask: AiMInstruction.mask(channels), .row: row]))
    }

    /// `RD_MAC_only_trace` (`aim_sim.py:272-274`): `AiM RD_MAC 0 mask`.
    mutating func rdMAC(_ channels: Range<Int>) {
        program.append(AiMInstruction(.rdMAC, [.gpr0: 0, .mask: AiMInstruction.mask(channels)]))
    }

    /// `EWMUL_only_trace` (`aim_sim.py:276-279`): `AiM EWMUL opsize mask row`. `startsPeriod`: one of a run of
    /// EWMULs the replay may skip by periods (`CENTInstructions.startsPeriod`).
    mutating func ewmul(_ channels: Range<Int>, row: Int, opsize: Int, startsPeriod: Bool = false) {
        program.append(
            AiMInstruction(.ewmul, [.opsize: opsize, .mask: AiMInstruction.mask(channels), .row: row]),
            startsPeriod: startsPeriod)
    }

    /// `EWADD_only_trace` (`aim_sim.py:281-283`): `AiM EWADD opsize 0 0`.
    mutating func ewadd(opsize: Int) {
        program.append(AiMInstruction(.ewadd, [.opsize: opsize, .gpr0: 0, .gpr1: 0]))
    }

    /// `WR_GB_only_trace` (`aim_sim.py:285-287`): `AiM WR_GB opsize 0 mask`.
    mutating func wrGB(_ channels: Range<Int>, opsize: Int) {
        program.append(AiMInstruction(.wrGB, [.opsize: opsize, .gpr0: 0, .mask: AiMInstruction.mask(channels)]))
    }

    /// `COPY_BK_GB_only_trace` (`aim_sim.py:289-292`): `AiM COPY_BKGB opsize mask bank row`.
    mutating func copyBKGB(_ channels: Range<Int>, bank: Int, row: Int, opsize: Int) {
        program.append(
            AiMInstruction(
                .copyBKGB, [.opsize: opsize, .mask: AiMInstruction.mask(channels), .bank: bank, .row: row]))
    }

    /// `COPY_GB_BK_only_trace` (`aim_sim.py:294-297`): `AiM COPY_GBBK opsize mask bank row`.
    mutating func copyGBBK(_ channels: Range<Int>, bank: Int, row: Int, opsize: Int) {
        program.append(
            AiMInstruction(
                .copyGBBK, [.opsize: opsize, .mask: AiMInstruction.mask(channels), .bank: bank, .row: row]))
    }

    /// `AF_only_trace` (`aim_sim.py:299-301`): `AiM AF mask`.
    mutating func af(_ channels: Range<Int>) {
        program.append(AiMInstruction(.af, [.mask: AiMInstruction.mask(channels)]))
    }

    /// `RD_AF_only_trace` (`aim_sim.py:303-305`): `AiM RD_AF 0 mask`.
    mutating func rdAF(_ channels: Range<Int>) {
        program.append(AiMInstruction(.rdAF, [.gpr0: 0, .mask: AiMInstruction.mask(channels)]))
    }

    /// `SYNC_only_trace` (`aim_sim.py:307-308`).
    mutating func sync() { program.append(AiMInstruction(.sync)) }

    /// Instructions another writer wrote, appended in order.
    mutating func append(_ more: CENTInstructions) { program.append(contentsOf: more) }

    /// A pass of score moves (`moveScores`), kept as its loop.
    mutating func append(_ move: CENTInstructions.ScoreMove) { program.append(move) }

    /// `finish` (`aim_sim.py:310-311`), called once after the block (`function_sim.py:59`).
    mutating func eoc() { program.append(AiMInstruction(.eoc)) }
}
