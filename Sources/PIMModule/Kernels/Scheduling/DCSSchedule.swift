/// Dynamic command scheduling (LoL-PIM, docs/REFERENCE.md §2.3): an I/O queue (WRGB, RDMAC16) and a compute
/// queue (ACT16, MAC16, PREA), in order inside each, with per-entry RAW/WAR/WAW tracking on GB and
/// output-buffer entries; a command issues as soon as its true dependencies clear and the timing table allows.
public struct DCSSchedule: CommandSchedule {
    public init() {}

    public func queues(_ program: KernelProgram) -> [[Int]] {
        let (io, compute) = ioAndCompute(program)
        return [io, compute]
    }

    public func dependencies(_ program: KernelProgram, table: TimingTable) -> [[ScheduleDependency]] {
        bufferHazards(program, table: table)
    }
}
