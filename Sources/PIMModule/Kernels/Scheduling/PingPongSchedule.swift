/// Double-buffered GB and output buffer: while the compute side works on one segment, the I/O side drains the
/// previous segment's result and writes the next segment's inputs. A segment's compute starts only when the
/// previous segment's compute is done and its own I/O interval has completed, and an I/O interval starts only
/// at the swap (when its segment's compute starts): the halves swap at segment boundaries, when both sides are
/// done with them. Per-entry data hazards still hold.
public struct PingPongSchedule: CommandSchedule {
    public init() {}

    /// The I/O side works in swap intervals: during interval s it drains segment s − 1 and fills the inputs of
    /// segment s + 1.
    public func queues(_ program: KernelProgram) -> [[Int]] {
        let (io, compute) = ioAndCompute(program)
        return [io.sorted { (interval(program, $0), $0) < (interval(program, $1), $1) }, compute]
    }

    /// The swap interval of an I/O command.
    func interval(_ program: KernelProgram, _ i: Int) -> Int {
        let segment = Int(program.segment[i])
        return program.commands[i].kind == .wrgb ? segment - 1 : segment + 1
    }

    public func dependencies(_ program: KernelProgram, table: TimingTable) -> [[ScheduleDependency]] {
        var deps = bufferHazards(program, table: table)
        let commands = program.commands
        let macDone = Int64(table.completion[AiMCommandKind.mac16.rawValue])
        // Segment s computes once its inputs are in (I/O interval s − 1 done) and the previous segment is done;
        // the I/O side of interval s starts at the swap, when segment s starts computing.
        var firstCompute: [Int32: Int] = [:], lastIOOfInterval: [Int: Int] = [:]
        for i in queues(program)[0] { lastIOOfInterval[interval(program, i)] = i }
        for (i, c) in commands.enumerated() where !c.kind.isIO && firstCompute[program.segment[i]] == nil {
            firstCompute[program.segment[i]] = i
        }
        for (i, c) in commands.enumerated() {
            let segment = program.segment[i]
            if c.kind.isIO {
                let interval = interval(program, i)
                if let swap = firstCompute[Int32(max(0, interval))], interval >= 0 {
                    deps[i].append(ScheduleDependency(index: swap, latency: 0))
                }
                if c.kind == .rdmac16, let last = lastCompute(program, before: i, segment: segment) {
                    deps[i].append(ScheduleDependency(index: last, latency: macDone))
                }
            } else if firstCompute[segment] == i, let io = lastIOOfInterval[Int(segment) - 1] {
                let kind = commands[io].kind
                deps[i].append(ScheduleDependency(index: io, latency: Int64(table.completion[kind.rawValue])))
            }
        }
        return deps
    }

    /// The last MAC16 of `segment` before command `i` (segments only grow along the program).
    private func lastCompute(_ program: KernelProgram, before i: Int, segment: Int32) -> Int? {
        var j = i - 1
        while j >= 0 {
            if program.segment[j] == segment && program.commands[j].kind == .mac16 { return j }
            if program.segment[j] < segment { return nil }
            j -= 1
        }
        return nil
    }
}
