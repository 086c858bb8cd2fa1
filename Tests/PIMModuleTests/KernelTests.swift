import Testing
@testable import PIMModule
import Workload

/// Kernel shapes of every kind the lowering produces: FC GEMV (long rows, several chunks), a batch that does
/// not fit the GB (both loop orders), QKᵀ slices (short rows, GQA groups), SV slices (long inputs).
let kernelShapes: [(String, GEMVShape)] = [
    ("fc", GEMVShape(rows: 256, columns: 4096, batch: 1)),
    ("fc-batched", GEMVShape(rows: 128, columns: 2048, batch: 3)),
    ("qk-mha", GEMVShape(rows: 700, columns: 128, batch: 1)),
    ("qk-gqa", GEMVShape(rows: 515, columns: 128, batch: 4)),
    ("sv-mha", GEMVShape(rows: 128, columns: 3000, batch: 1)),
    ("sv-gqa", GEMVShape(rows: 128, columns: 1500, batch: 4)),
]

/// The policies the channel engine runs (`CommandEngineBackend`); `static` runs on the AiM controller model.
let enginePolicies: [SchedulingPolicy] = [.pingpong, .dcs]

func run(
    _ shape: GEMVShape, _ policy: SchedulingPolicy, order: LoopOrder = .inputStationary,
    module: ModuleConfig = .cent32
) -> (program: KernelProgram, issued: [Int64], engine: ChannelEngine) {
    let timer = KernelTimer(module: module, policy: policy)
    let backend = timer.backend as! CommandEngineBackend
    let program = timer.lowering.program(shape, order: order)
    var engine = ChannelEngine(table: timer.table, record: true)
    let issued = Scheduler(schedule: backend.schedule).run(program, on: &engine)
    return (program, issued, engine)
}

@Suite("Kernels: lowering, scheduling, legality")
struct KernelTests {
    @Test(
        "every kernel trace is legal under every engine schedule and loop order",
        arguments: enginePolicies, LoopOrder.allCases)
    func legality(policy: SchedulingPolicy, order: LoopOrder) {
        for (name, shape) in kernelShapes {
            let r = run(shape, policy, order: order)
            let violations = TimingChecker(table: .gddr6AiM).check(r.engine.trace!)
            #expect(violations.isEmpty, "\(name) \(policy) \(order): \(violations.prefix(3))")
        }
    }

    @Test(
        "kernel traces are legal on every module preset (AiM GDDR6 and NeuPIMs HBM2 tables)",
        arguments: ModuleConfig.presetNames)
    func legalityPerPreset(preset: String) {
        let module = ModuleConfig.presets[preset]!
        for (name, shape) in kernelShapes {
            for policy in enginePolicies {
                let r = run(shape, policy, module: module)
                let violations = TimingChecker(table: .of(module)).check(r.engine.trace!)
                #expect(violations.isEmpty, "\(preset) \(name) \(policy): \(violations.prefix(3))")
            }
        }
    }

    @Test("static kernels (AiM instruction programs on the AiM controller) are legal in every loop order")
    func staticLegality() {
        let timer = KernelTimer(module: .cent32, policy: .static)
        for (name, shape) in kernelShapes {
            for order in LoopOrder.allCases {
                let trace = timer.backend.trace(
                    shape, order: order, lowering: timer.lowering, refresh: true, channel: 0)
                let violations = TimingChecker(table: timer.table).check(trace)
                #expect(!trace.isEmpty && violations.isEmpty, "\(name) \(order): \(violations.prefix(3))")
            }
        }
    }

    @Test("the lowering multiplies every weight column by every input exactly once")
    func coverage() {
        for (name, shape) in kernelShapes {
            for order in LoopOrder.allCases {
                let program = KernelTimer(module: .cent32, policy: .dcs).lowering.program(shape, order: order)
                let macs = program.commands.filter { $0.kind == .mac16 }.count
                let perBankRows = (shape.rows + 15) / 16
                let columns = (shape.columns + 15) / 16
                #expect(macs == perBankRows * columns * shape.batch, "\(name) \(order)")
                let drains = program.commands.filter { $0.kind == .rdmac16 }.count
                #expect(drains == program.segments)
            }
        }
    }

    @Test(
        "dcs issues nothing before its data is there: buffer contents follow program order",
        arguments: enginePolicies)
    func hazards(policy: SchedulingPolicy) {
        let table = TimingTable.gddr6AiM
        let writeDone = Int64(table.completion[AiMCommandKind.wrgb.rawValue])
        for (name, shape) in kernelShapes {
            let r = run(shape, policy)
            let c = r.program.commands
            var lastWrite: [Int16: Int] = [:]
            var accumulating: [Int16: [Int]] = [:]
            var readersSinceWrite: [Int16: [Int]] = [:]
            for i in c.indices {
                switch c[i].kind {
                case .wrgb:
                    // WAR: every earlier reader of the old value has issued before this write lands.
                    for reader in readersSinceWrite[c[i].gbEntry] ?? [] {
                        #expect(
                            r.issued[reader] <= r.issued[i],
                            "\(name) \(policy): WRGB \(i) overwrote entry before MAC \(reader)")
                    }
                    readersSinceWrite[c[i].gbEntry] = []
                    lastWrite[c[i].gbEntry] = i
                case .mac16:
                    let w = lastWrite[c[i].gbEntry]!
                    #expect(
                        r.issued[w] + writeDone <= r.issued[i],
                        "\(name) \(policy): MAC \(i) read GB before WRGB \(w) landed")
                    readersSinceWrite[c[i].gbEntry, default: []].append(i)
                    accumulating[c[i].obufEntry, default: []].append(i)
                case .rdmac16:
                    for mac in accumulating[c[i].obufEntry] ?? [] {
                        #expect(r.issued[mac] + 2 <= r.issued[i], "\(name) \(policy): drain \(i) before MAC \(mac)")
                    }
                    accumulating[c[i].obufEntry] = []
                default:
                    break
                }
            }
            // WAR on the output buffer: the next segment's MACs into an entry wait for its drain.
            var lastDrain: [Int16: Int] = [:]
            for i in c.indices {
                if c[i].kind == .rdmac16 { lastDrain[c[i].obufEntry] = i }
                if c[i].kind == .mac16, let d = lastDrain[c[i].obufEntry] {
                    #expect(
                        r.issued[i] >= r.issued[d] + 2, "\(name) \(policy): MAC \(i) overwrote entry before drain \(d)")
                }
            }
        }
    }

    @Test("dcs is never slower than static; pingpong lies between them on drain-bound kernels")
    func scheduleOrder() {
        for (name, shape) in kernelShapes {
            let s = KernelTimer(module: .cent32, policy: .static).time(shape).cycles
            let p = KernelTimer(module: .cent32, policy: .pingpong).time(shape).cycles
            let d = KernelTimer(module: .cent32, policy: .dcs).time(shape).cycles
            #expect(d <= s, "\(name): dcs \(d) > static \(s)")
            if name.hasPrefix("qk") {
                #expect(d <= p && p <= s, "\(name): static \(s), pingpong \(p), dcs \(d)")
            }
        }
    }

    @Test("command timing is never faster than the MAC units' peak")
    func peakBound() {
        for (name, shape) in kernelShapes {
            for policy in SchedulingPolicy.allCases {
                let timing = KernelTimer(module: .cent32, policy: policy).time(shape)
                let macs = Int64((shape.rows + 15) / 16 * ((shape.columns + 15) / 16) * shape.batch)
                #expect(timing.cycles >= macs * 2, "\(name) \(policy)")
                #expect(timing.count(.mac16) == macs)
            }
        }
    }

    @Test("identical kernels are simulated once")
    func cache() {
        let timer = KernelTimer(module: .cent32, policy: .dcs)
        let a = timer.time(GEMVShape(rows: 64, columns: 1024, batch: 1))
        let b = timer.time(GEMVShape(rows: 64, columns: 1024, batch: 1))
        #expect(a == b)
        #expect(timer.cachedKernels == 1)
    }

    @Test(
        "partitioning assigns every (request, head, token) exactly once",
        arguments: AttentionPartitioning.attentionMappings)
    func partitionCoverage(partitioning: AttentionPartitioning) {
        let contexts = [1, 17, 300, 4097]
        let slices = partitioning.mapping!.assign(contexts: contexts, kvHeads: 3, channels: 16)
        var seen = Set<[Int]>()
        for channel in slices {
            for s in channel {
                for t in s.firstToken..<(s.firstToken + s.tokens) {
                    #expect(seen.insert([s.request, s.head, t]).inserted)
                }
            }
        }
        #expect(seen.count == contexts.reduce(0, +) * 3)
    }

    @Test("token-parallel keeps every channel's banks busy once T > channels × banks")
    func tcpBusy() {
        let channels = 32
        let slices = TokenParallelMapping().assign(
            contexts: [channels * 16 + 1], kvHeads: 1,
            channels: channels)
        #expect(slices.allSatisfy { $0.count == 1 && $0[0].tokens >= 16 })
        let hfp = HeadFirstMapping().assign(contexts: [100_000], kvHeads: 8, channels: channels)
        #expect(hfp.filter { !$0.isEmpty }.count == 8)
    }
}

@Suite("Roofline and command fidelity agree")
struct FidelityAgreementTests {
    /// The roofline's PIM efficiency is the row-streaming efficiency of the timing table (useful MAC cycles
    /// of a full 2 KB row over ACT16 → MAC … → PREA → ACT16, times refresh availability); the command
    /// model pays the same row changes and refreshes plus small buffer transfers.
    @Test("large GEMV and long-context attention agree within 5 %", arguments: ["llm-7b-32k", "llm-72b-32k"])
    func agreement(preset: String) {
        let model = ModelConfig.presets[preset]!
        let roofline = RooflineCostModel(module: .cent32)
        let command = CommandCostModel(module: .cent32, scheduling: .dcs, mapping: TokenParallelMapping())
        let ops = DecodeStep(model: model).layerOps(contexts: [32_000])
        for kind in [OpKind.qkvProjection, .ffn, .attentionScore, .attentionValue] {
            let op = ops.first { $0.kind == kind }!
            let r = Double(roofline.latency(of: op)), c = Double(command.latency(of: op))
            #expect(abs(c - r) / c < 0.05, "\(preset) \(kind): command \(c) ps, roofline \(r) ps")
        }
    }
}

@Suite("Kernel timing classes")
struct KernelClassTests {
    @Test("shapes with the same rows per bank and columns per 32 B issue the same commands")
    func canonicalIsExact() {
        let timer = KernelTimer(module: .cent32, policy: .dcs)
        for (a, b) in [
            (GEMVShape(rows: 700, columns: 128, batch: 2), GEMVShape(rows: 704, columns: 128, batch: 2)),
            (GEMVShape(rows: 128, columns: 3001, batch: 1), GEMVShape(rows: 128, columns: 3008, batch: 1)),
        ] {
            var e1 = ChannelEngine(table: timer.table), e2 = ChannelEngine(table: timer.table)
            Scheduler(schedule: DCSSchedule()).run(timer.lowering.program(a, order: .inputStationary), on: &e1)
            Scheduler(schedule: DCSSchedule()).run(timer.lowering.program(b, order: .inputStationary), on: &e2)
            #expect(e1.endCycle == e2.endCycle)
            #expect(e1.counts == e2.counts)
            #expect(timer.canonical(a) == b)
        }
    }
}

@Suite("Attention cost follows the partitioning")
struct AttentionCostTests {
    @Test(
        "the cost model's grouped slices equal a slice-by-slice sum over assign()",
        arguments: AttentionPartitioning.attentionMappings)
    func groupedEqualsListed(partitioning: AttentionPartitioning) {
        let contexts = [40, 1000, 5003]
        let model = CommandCostModel(module: .cent32, scheduling: .dcs, mapping: partitioning.mapping!)
        let shape = OpShape.attention(contexts: contexts, queryHeads: 8, kvHeads: 4, headDim: 128)
        let cost = model.cost(of: DecodeOp(.attentionScore, .pim, flops: 0, shape: shape))
        let slices = partitioning.mapping!.assign(contexts: contexts, kvHeads: 4, channels: 32)
        var commands = CommandCounts()
        var perChannel = Array(repeating: Int64(0), count: 32)
        for (channel, list) in slices.enumerated() {
            for s in list {
                let k = model.timer.time(GEMVShape(rows: s.tokens, columns: 128, batch: 2))
                commands = commands + CommandCounts(k.counts)
                perChannel[channel] += k.cycles
            }
        }
        #expect(cost.commands == commands)
        #expect(cost.channelBusy == perChannel.map { $0 * 500 })
        if partitioning == .headFirst {
            #expect(cost.latency == perChannel.max()! * 500)
        } else {
            #expect(cost.latency >= perChannel.max()! * 500)
        }
    }

    @Test("per-channel busy time: GEMV rows and appends spread over the channels, the busiest sets the time")
    func channelBusy() {
        let model = CommandCostModel(module: .cent32, scheduling: .dcs, mapping: TokenParallelMapping())
        // 100 rows on 32 channels: 4 channels get 4 rows, 28 get 3.
        let gemv = model.cost(
            of: DecodeOp(
                .qkvProjection, .pim, flops: 0,
                shape: .gemv([Matrix(rows: 100, columns: 4096)], batch: 1)))
        let four = model.timer.time(GEMVShape(rows: 4, columns: 4096, batch: 1)).cycles * 500
        let three = model.timer.time(GEMVShape(rows: 3, columns: 4096, batch: 1)).cycles * 500
        #expect(gemv.channelBusy == Array(repeating: four, count: 4) + Array(repeating: three, count: 28))
        #expect(gemv.latency >= four)
        // 40 (request, head) appends: 8 channels take two, 24 take one.
        let append = model.cost(
            of: DecodeOp(.kvAppend, .pim, flops: 0, shape: .append(requests: 5, kvHeads: 8, headDim: 128)))
        #expect(append.channelBusy.count == 32)
        #expect(append.channelBusy[0] == 2 * append.channelBusy[31])
        #expect(append.latency == append.channelBusy.max())
        // A HUB operator uses no channel; a roofline PIM operator keeps every channel busy throughout.
        #expect(model.cost(of: DecodeOp(.softmax, .processor, flops: 1000)).channelBusy.isEmpty)
        let roofline = RooflineCostModel(module: .cent32).cost(
            of: DecodeOp(.ffn, .pim, bytesRead: 1 << 20, flops: 1 << 20))
        #expect(roofline.channelBusy == Array(repeating: roofline.latency, count: 32))
    }
}

@Suite("Row-block decomposition and refresh of kernels")
struct DecompositionTests {
    @Test(
        "the block decomposition equals full refresh-free simulation",
        arguments: [
            GEMVShape(rows: 12_000, columns: 128, batch: 4),  // long QKᵀ slice (rows grow)
            GEMVShape(rows: 128, columns: 40_000, batch: 1),  // long SV slice (chunks grow)
            GEMVShape(rows: 4096, columns: 4096, batch: 1),
        ])  // large FC
    func decomposition(shape: GEMVShape) throws {
        for policy in SchedulingPolicy.allCases {
            let timer = KernelTimer(module: .cent32, policy: policy)
            let full = timer.simulate(shape, order: .inputStationary, refresh: false)
            let fast = try #require(timer.decomposed(shape, order: .inputStationary))
            #expect(fast == full, "\(policy)")
        }
    }

    @Test("expected refresh: within 2 % of simulating the real refreshes of a long kernel from phase 0")
    func expectedRefresh() {
        for policy in SchedulingPolicy.allCases {
            let timer = KernelTimer(module: .cent32, policy: policy)
            let shape = GEMVShape(rows: 4096, columns: 4096, batch: 1)
            let exact = timer.simulate(shape, order: .inputStationary, refresh: true)
            let expected = timer.time(shape)
            let error = abs(Double(expected.cycles - exact.cycles)) / Double(exact.cycles)
            #expect(error < 0.02, "\(policy): expected \(expected.cycles), simulated \(exact.cycles)")
            #expect(abs(expected.count(.ref) - exact.count(.ref)) <= 2)
        }
    }

    @Test("short kernels pay refresh too: a kernel of T cycles takes T · nREFI / (nREFI − 308)")
    func shortKernels() {
        let timer = KernelTimer(module: .cent32, policy: .dcs)
        let shape = GEMVShape(rows: 64, columns: 128, batch: 1)
        let free = timer.simulate(shape, order: .inputStationary, refresh: false)
        #expect(free.cycles < 3333)
        let timed = timer.time(shape)
        #expect(timed.cycles == Int64((Double(free.cycles) * 3333 / (3333 - 308)).rounded()))
    }
}

@Suite("Attention kernels of both partitionings")
struct PartitionedKernelTests {
    @Test(
        "the QKᵀ and SV kernels each partitioning produces are legal under every schedule",
        arguments: AttentionPartitioning.attentionMappings, SchedulingPolicy.allCases)
    func legality(partitioning: AttentionPartitioning, policy: SchedulingPolicy) {
        let timer = KernelTimer(module: .cent32, policy: policy)
        let slices = partitioning.mapping!.assign(contexts: [333, 2500], kvHeads: 8, channels: 32)
        let sizes = Set(slices.flatMap { $0.map(\.tokens) })
        for tokens in sizes {
            for shape in [
                GEMVShape(rows: tokens, columns: 128, batch: 4), GEMVShape(rows: 128, columns: tokens, batch: 4),
            ] {
                let violations = TimingChecker(table: timer.table).check(timer.trace(shape))
                #expect(violations.isEmpty, "\(partitioning) \(policy) \(shape): \(violations.prefix(2))")
            }
        }
    }
}
