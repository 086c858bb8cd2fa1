/// How a channel's controller orders its command stream (docs/REFERENCE.md §2.3). Each policy is timed by a backend
/// (`SchedulingPolicy.backend`, Kernels/Backends/): `static` by the AiM controller model, the others by the channel
/// engine under their `CommandSchedule`, each in a file of its own beside this one. A new engine policy is a new
/// case here, its schedule's file, and one line in `backend`.
public enum SchedulingPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// AiM baseline: the public AiM simulator's controller (one in-order queue per channel, a mode change of
    /// nMODCH between register and bank commands, blocking RD_MAC, one decoder for all channels). Kernels
    /// under it are AiM instruction programs timed by `AiMTraceReplay`. One MAC register per bank.
    case `static`
    /// Double-buffered GB and output buffer (`PingPongSchedule`).
    case pingpong
    /// Dynamic command scheduling (`DCSSchedule`).
    case dcs
}

/// A command-issue policy as the `Scheduler` runs it: the queues a channel's commands wait in (each issued in
/// order) and what each command waits for besides the timing table.
public protocol CommandSchedule: Sendable {
    /// Queue contents: program indices in each queue's issue order. The scheduler issues, among the queue
    /// heads whose dependencies have issued, the one the timing table lets go first.
    func queues(_ program: KernelProgram) -> [[Int]]
    /// For each command, the commands that must have issued before it and how many cycles before.
    func dependencies(_ program: KernelProgram, table: TimingTable) -> [[ScheduleDependency]]
}

/// A dependency: command `index` must have issued `latency` cycles earlier.
public struct ScheduleDependency: Sendable, Equatable {
    public var index: Int
    public var latency: Int64
}

extension CommandSchedule {
    /// The program-order data hazards on buffer entries that every buffered schedule keeps: a GB write waits
    /// for the entry's last read and write (WAR, WAW); a MAC16 for its GB entry's write to complete (RAW) and
    /// for its output entry's last drain (WAR); an RDMAC16 for its entry's last MAC16 to complete (RAW).
    func bufferHazards(_ program: KernelProgram, table: TimingTable) -> [[ScheduleDependency]] {
        let commands = program.commands
        var deps = [[ScheduleDependency]](repeating: [], count: commands.count)
        let writeDone = Int64(table.completion[AiMCommandKind.wrgb.rawValue])
        let drainDone = Int64(table.completion[AiMCommandKind.rdmac16.rawValue])
        let macDone = Int64(table.completion[AiMCommandKind.mac16.rawValue])
        var lastGBWrite: [Int16: Int] = [:], lastGBRead: [Int16: Int] = [:]
        var lastAccumulate: [Int16: Int] = [:], lastDrain: [Int16: Int] = [:]
        func wait(_ i: Int, for j: Int?, _ latency: Int64) {
            if let j { deps[i].append(ScheduleDependency(index: j, latency: latency)) }
        }
        for (i, c) in commands.enumerated() {
            switch c.kind {
            case .wrgb:
                wait(i, for: lastGBRead[c.gbEntry], 1)  // WAR
                wait(i, for: lastGBWrite[c.gbEntry], 1)  // WAW
                lastGBWrite[c.gbEntry] = i
            case .mac16:
                wait(i, for: lastGBWrite[c.gbEntry], writeDone)  // RAW
                wait(i, for: lastDrain[c.obufEntry], drainDone)  // WAR
                lastGBRead[c.gbEntry] = i
                lastAccumulate[c.obufEntry] = i
            case .rdmac16:
                wait(i, for: lastAccumulate[c.obufEntry], macDone)  // RAW
                lastDrain[c.obufEntry] = i
            default:
                break
            }
        }
        return deps
    }

    /// Program indices of the I/O commands (WRGB, RDMAC16) and of the compute commands, each in program order.
    func ioAndCompute(_ program: KernelProgram) -> (io: [Int], compute: [Int]) {
        let all = Array(program.commands.indices)
        return (all.filter { program.commands[$0].kind.isIO }, all.filter { !program.commands[$0].kind.isIO })
    }
}
