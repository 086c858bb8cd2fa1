/// How a channel's controller orders its command stream (docs/REFERENCE.md §2.3).
public enum SchedulingPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// AiM baseline: the public AiM simulator's controller (one in-order queue per channel, a mode change of
    /// nMODCH between register and bank commands, blocking RD_MAC, one decoder for all channels). Kernels
    /// under it are AiM instruction programs timed by `AiMTraceReplay`. One MAC register per bank.
    case `static`
    /// Double-buffered GB and output buffer: while the compute side works on one segment, the I/O side
    /// drains the previous segment's result and writes the next segment's inputs. A segment's compute
    /// starts only when the previous segment's compute is done and its own I/O interval has completed, and
    /// an I/O interval starts only at the swap (when its segment's compute starts): the halves swap at
    /// segment boundaries, when both sides are done with them. Per-entry data hazards still hold.
    case pingpong
    /// Dynamic command scheduling: an I/O queue (WRGB, RDMAC16) and a compute queue (ACT16, MAC16, PREA),
    /// in order inside each, with per-entry RAW/WAR/WAW tracking on GB and output-buffer entries; a command
    /// issues as soon as its true dependencies clear and the timing table allows.
    case dcs
}

/// Issues a kernel program on a channel engine under the `pingpong` or `dcs` policy. (`static` kernels run
/// on the AiM controller model, `AiMTraceReplay`; asked for `static`, this issues the commands in program
/// order with no other rule.)
public struct Scheduler: Sendable {
    public let policy: SchedulingPolicy

    public init(policy: SchedulingPolicy) { self.policy = policy }

    /// A dependency: command `index` must have issued `latency` cycles earlier.
    struct Dependency {
        var index: Int
        var latency: Int64
    }

    /// Runs `program` on `engine` from cycle `start`; returns the issue cycle of every command.
    @discardableResult
    public func run(_ program: KernelProgram, on engine: inout ChannelEngine, start: Int64 = 0) -> [Int64] {
        let n = program.commands.count
        let deps = dependencies(program, table: engine.table)
        let queues = queueOrders(program)
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

    /// Queue contents (program indices in issue order) for the policy.
    func queueOrders(_ program: KernelProgram) -> [[Int]] {
        let all = Array(program.commands.indices)
        switch policy {
        case .static:
            return [all]
        case .dcs:
            return [all.filter { program.commands[$0].kind.isIO }, all.filter { !program.commands[$0].kind.isIO }]
        case .pingpong:
            // The I/O side works in swap intervals: during interval s it drains segment s − 1 and fills the
            // inputs of segment s + 1.
            let io = all.filter { program.commands[$0].kind.isIO }
                .sorted { (pingpongInterval(program, $0), $0) < (pingpongInterval(program, $1), $1) }
            return [io, all.filter { !program.commands[$0].kind.isIO }]
        }
    }

    private func pingpongInterval(_ program: KernelProgram, _ i: Int) -> Int {
        let tile = Int(program.tile[i])
        return program.commands[i].kind == .wrgb ? tile - 1 : tile + 1
    }

    /// The dependencies each command waits for under the policy.
    func dependencies(_ program: KernelProgram, table: TimingTable) -> [[Dependency]] {
        let commands = program.commands
        var deps = [[Dependency]](repeating: [], count: commands.count)
        let writeDone = Int64(table.completion[AiMCommandKind.wrgb.rawValue])
        let drainDone = Int64(table.completion[AiMCommandKind.rdmac16.rawValue])
        let macDone = Int64(table.completion[AiMCommandKind.mac16.rawValue])
        switch policy {
        case .static:
            for i in commands.indices.dropFirst() { deps[i].append(Dependency(index: i - 1, latency: 0)) }
        case .dcs, .pingpong:
            // Program-order hazards per buffer entry (true dependencies hold under double buffering too).
            var lastGBWrite: [Int16: Int] = [:], lastGBRead: [Int16: Int] = [:]
            var lastAccumulate: [Int16: Int] = [:], lastDrain: [Int16: Int] = [:]
            for (i, c) in commands.enumerated() {
                switch c.kind {
                case .wrgb:
                    if let r = lastGBRead[c.gbEntry] { deps[i].append(Dependency(index: r, latency: 1)) }     // WAR
                    if let w = lastGBWrite[c.gbEntry] { deps[i].append(Dependency(index: w, latency: 1)) }    // WAW
                    lastGBWrite[c.gbEntry] = i
                case .mac16:
                    if let w = lastGBWrite[c.gbEntry] { deps[i].append(Dependency(index: w, latency: writeDone)) } // RAW
                    if let d = lastDrain[c.obufEntry] { deps[i].append(Dependency(index: d, latency: drainDone)) } // WAR
                    lastGBRead[c.gbEntry] = i
                    lastAccumulate[c.obufEntry] = i
                case .rdmac16:
                    if let a = lastAccumulate[c.obufEntry] { deps[i].append(Dependency(index: a, latency: macDone)) } // RAW
                    lastDrain[c.obufEntry] = i
                default:
                    break
                }
            }
        }
        if policy == .pingpong {
            // Segment s computes once its inputs are in (I/O interval s − 1 done) and the previous segment is
            // done; the I/O side of interval s starts at the swap, when segment s starts computing.
            var firstCompute: [Int32: Int] = [:], lastIOOfInterval: [Int: Int] = [:]
            let order = queueOrders(program)
            for i in order[0] { lastIOOfInterval[pingpongInterval(program, i)] = i }
            for (i, c) in commands.enumerated() where !c.kind.isIO && firstCompute[program.tile[i]] == nil {
                firstCompute[program.tile[i]] = i
            }
            for (i, c) in commands.enumerated() {
                let tile = program.tile[i]
                if c.kind.isIO {
                    let interval = pingpongInterval(program, i)
                    if let swap = firstCompute[Int32(max(0, interval))], interval >= 0 {
                        deps[i].append(Dependency(index: swap, latency: 0))
                    }
                    if c.kind == .rdmac16, let last = lastCompute(commands, program.tile, before: i, tile: tile) {
                        deps[i].append(Dependency(index: last, latency: macDone))
                    }
                } else if firstCompute[tile] == i, let io = lastIOOfInterval[Int(tile) - 1] {
                    let kind = commands[io].kind
                    deps[i].append(Dependency(index: io, latency: Int64(table.completion[kind.rawValue])))
                }
            }
        }
        return deps
    }

    private func lastCompute(_ commands: [AiMCommand], _ tiles: [Int32], before i: Int, tile: Int32) -> Int? {
        var j = i - 1
        while j >= 0 {
            if tiles[j] == tile && commands[j].kind == .mac16 { return j }
            if tiles[j] < tile { return nil }
            j -= 1
        }
        return nil
    }
}
