/// `static` as a command program: one queue, every command after the one before it. (`static` kernels are
/// timed on the AiM controller model, `AiMTraceReplay`; this is what the channel engine does when asked for it.)
public struct InOrderSchedule: CommandSchedule {
    public init() {}

    public func queues(_ program: KernelProgram) -> [[Int]] { [Array(program.commands.indices)] }

    public func dependencies(_ program: KernelProgram, table: TimingTable) -> [[ScheduleDependency]] {
        program.commands.indices.map { $0 == 0 ? [] : [ScheduleDependency(index: $0 - 1, latency: 0)] }
    }
}
