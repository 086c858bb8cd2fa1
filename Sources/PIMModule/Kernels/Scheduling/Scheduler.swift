/// Issues a kernel program on a channel engine under a `CommandSchedule`: each step, among the queue heads
/// whose dependencies have issued, the command the timing table lets go first (ties: program order).
public struct Scheduler: Sendable {
    public let schedule: any CommandSchedule

    public init(schedule: any CommandSchedule) { self.schedule = schedule }

    /// Runs `program` on `engine` from cycle `start`; returns the issue cycle of every command.
    @discardableResult
    public func run(_ program: KernelProgram, on engine: inout ChannelEngine, start: Int64 = 0) -> [Int64] {
        let n = program.commands.count
        let deps = schedule.dependencies(program, table: engine.table)
        let queues = schedule.queues(program)
        var issued = [Int64](repeating: -1, count: n)
        var heads = [Int](repeating: 0, count: queues.count)
        for _ in 0..<n {
            var best: (queue: Int, cycle: Int64, notBefore: Int64, index: Int)?
            for q in queues.indices where heads[q] < queues[q].count {
                let i = queues[q][heads[q]]
                var notBefore = start
                var ready = true
                for d in deps[i] {
                    guard issued[d.index] >= 0 else { ready = false; break }
                    notBefore = max(notBefore, issued[d.index] + d.latency)
                }
                guard ready else { continue }
                let cycle = engine.projectedIssue(program.commands[i], notBefore: notBefore)
                if best == nil || cycle < best!.cycle || (cycle == best!.cycle && i < best!.index) {
                    best = (q, cycle, notBefore, i)
                }
            }
            guard let choice = best else {
                preconditionFailure("scheduler deadlock: no queue head is ready (a lowering bug)")
            }
            let cycle = engine.issueEarliest(program.commands[choice.index], notBefore: choice.notBefore)
            issued[choice.index] = cycle
            heads[choice.queue] += 1
        }
        return issued
    }
}
