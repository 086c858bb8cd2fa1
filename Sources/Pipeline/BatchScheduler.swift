import PIMModule
import Workload

/// The coordinator's request pool and batching policy, in simulated time and free of sockets: it decides
/// which requests decode in which micro-batch slot, admits requests when every module's allocator has room
/// (mirroring the workers' allocators, so admission uses the real free memory), charges the host for DPA
/// interventions and for sending each new request's prefilled KV cache, and keeps the per-request figures.
///
/// When it admits and where admitted requests go is the batching policy's (`Batching`: `StaticBatching`,
/// `ContinuousBatching`, under Pipeline/Batching/).
public struct BatchScheduler: Sendable {
    public let plan: PipelinePlan
    let slots: Int
    let batching: any Batching
    /// Requests of each slot, in order.
    public private(set) var members: [[Int]]
    private var inFlight: [Bool]
    /// Injections per slot so far (the next message's `injection`).
    public private(set) var injectionCounts: [Int]
    private var next = 0
    private var generated: [Int]
    private var admittedAt: [Picoseconds]
    private var lastTokenAt: [Picoseconds]
    private var firstTokenAt: [Picoseconds]
    private var mirrors: [any KVAllocator]
    public private(set) var stats = SchedulerStats()
    /// Injections built but not yet released to the host's outgoing link, and the ready times of those
    /// released and not yet back (by slot).
    private var held: [Injection] = []
    private var released: [Int: Picoseconds] = [:]
    /// The latest host event (returns arrive in time order).
    private var hostNow: Picoseconds = 0
    /// The shortest possible round trip through the pipeline: host and module link latencies.
    private let lookahead: Picoseconds

    public init(plan: PipelinePlan) {
        self.plan = plan
        slots = plan.topology.parallelism.microBatches
        batching = plan.topology.workload.batching.batching
        members = Array(repeating: [], count: slots)
        inFlight = Array(repeating: false, count: slots)
        injectionCounts = Array(repeating: 0, count: slots)
        let n = plan.requests.count
        generated = Array(repeating: 0, count: n)
        admittedAt = Array(repeating: -1, count: n)
        lastTokenAt = Array(repeating: 0, count: n)
        firstTokenAt = Array(repeating: -1, count: n)
        mirrors = plan.stages.indices.map { plan.allocator(stage: $0) }
        let links = plan.topology.links
        lookahead = 2 * links.host.latencyPs + Picoseconds(max(0, plan.stages.count - 1)) * links.module.latencyPs
    }

    /// A micro-batch to send into stage 0.
    public struct Injection: Sendable, Equatable {
        public var slot: Int
        public var injection: Int
        /// When the host can send it (after sampling, DPA interventions and KV transfers).
        public var ready: Picoseconds
        public var entries: [MicroBatchHeader.Entry]
    }

    public var finished: Bool { stats.finished == plan.requests.count }

    /// Releases held injections in ready-time order, as long as no injection still to come can be ready
    /// earlier: every future injection follows a return, so it is ready no earlier than the latest host
    /// event, nor earlier than the earliest released micro-batch's ready time plus the shortest round
    /// trip. This keeps the host's outgoing link (and every FIFO stage) in simulated-time order: a
    /// micro-batch waiting for its requests' KV does not hold back one that is ready sooner.
    private mutating func release() -> [Injection] {
        held.sort { ($0.ready, $0.slot) < ($1.ready, $1.slot) }
        var out: [Injection] = []
        while let first = held.first {
            let bound = released.isEmpty ? Picoseconds.max : max(hostNow, released.values.min()! + lookahead)
            guard first.ready <= bound else { break }
            out.append(first)
            released[first.slot] = first.ready
            held.removeFirst()
        }
        return out
    }
    public var active: Int { members.reduce(0) { $0 + $1.count } }

    /// The first injections, at time 0.
    public mutating func start(host: inout HostModel) -> [Injection] {
        schedule(now: 0, returned: nil, host: &host)
    }

    /// Slot `slot` came back and its tokens were sampled at `now`: record them, free finished requests,
    /// admit new ones, and return what to inject next.
    public mutating func returned(slot: Int, now: Picoseconds, host: inout HostModel) -> [Injection] {
        inFlight[slot] = false
        released[slot] = nil
        hostNow = max(hostNow, now)
        var ended = 0
        var staying: [Int] = []
        for r in members[slot] {
            generated[r] += 1
            stats.tokenLatencies.append(now - lastTokenAt[r])
            lastTokenAt[r] = now
            if firstTokenAt[r] < 0 { firstTokenAt[r] = now }
            let spec = plan.requests[r]
            if generated[r] == spec.outputTokens {
                for s in mirrors.indices { ended += mirrors[s].release(request: r).count }
                stats.finished += 1
                stats.endToEnd.append(now - admittedAt[r])
                if spec.outputTokens > 1 {
                    stats.timePerOutputToken.append((now - firstTokenAt[r]) / Picoseconds(spec.outputTokens - 1))
                }
            } else {
                staying.append(r)
            }
        }
        members[slot] = staying
        stats.events[.requestEnd, default: 0] += Int64(ended)
        let after = host.work(ready: now, cost: Picoseconds(ended) * plan.topology.workload.hostInterventionPs)
        return schedule(now: after, returned: slot, host: &host)
    }

    /// Admits what the policy allows at `now`, then builds the injections of every slot that is ready.
    private mutating func schedule(now start: Picoseconds, returned: Int?, host: inout HostModel) -> [Injection] {
        var now = start
        let w = plan.topology.workload
        let allIdle = !inFlight.contains(true) && active == 0
        // With nothing running and nobody waiting yet, the host idles until the next arrival.
        if allIdle && next < plan.requests.count && plan.requests[next].arrivalPs > now {
            now = plan.requests[next].arrivalPs
        }
        var admitted: [Int] = []
        if batching.admits(allIdle: allIdle) {
            while next < plan.requests.count, plan.requests[next].arrivalPs <= now,
                active + admitted.count < w.batchSize
            {
                let spec = plan.requests[next]
                guard mirrors.allSatisfy({ $0.canAdmit(prompt: spec.promptTokens, finalTokens: spec.finalTokens) })
                else { break }
                for s in mirrors.indices {
                    _ = try? mirrors[s].admit(request: next, prompt: spec.promptTokens, finalTokens: spec.finalTokens)
                }
                // One intervention per module sets the request up, its prompt's chunks included.
                stats.events[.requestStart, default: 0] += Int64(mirrors.count)
                now = host.work(ready: now, cost: Picoseconds(mirrors.count) * w.hostInterventionPs)
                admittedAt[next] = now
                admitted.append(next)
                next += 1
            }
            stats.maxQueued = max(stats.maxQueued, plan.requests[next...].prefix { $0.arrivalPs <= now }.count)
        }
        if active > 0 { stats.admittedWhileRunning += admitted.count }
        let open = (0..<slots).filter { !inFlight[$0] }
        batching.place(admitted, into: &members, open: open, allIdle: allIdle)
        // Each new request's prompt KV travels from the host before its first step.
        var kvReady: [Int: Picoseconds] = [:]
        for r in admitted where plan.topology.workload.prefillKVTransfer {
            let shares = plan.stages.map { Int64(plan.requests[r].promptTokens) * $0.memory.kvBytesPerToken }
            kvReady[r] = host.transferKV(ready: now, bytes: shares)
            stats.kvTransferBytes += shares.reduce(0, +)
        }
        stats.admitted += admitted.count
        stats.sample(now: now, active: active, mirrors: mirrors)

        var injections: [Injection] = []
        for slot in open
        where !members[slot].isEmpty && (slot == returned || members[slot].contains { admitted.contains($0) }) {
            var ready = now, kvDone: Picoseconds = 0
            var chunkEvents = 0
            var entries: [MicroBatchHeader.Entry] = []
            for r in members[slot] {
                let spec = plan.requests[r]
                let context = spec.promptTokens + generated[r] + 1
                for s in mirrors.indices { chunkEvents += (try? mirrors[s].grow(request: r, to: context).count) ?? 0 }
                var flags: UInt32 = 0
                if generated[r] == 0 { flags |= MicroBatchHeader.Entry.first }
                if generated[r] + 1 == spec.outputTokens { flags |= MicroBatchHeader.Entry.last }
                entries.append(.init(request: UInt32(r), context: UInt32(context), flags: flags))
                if let kv = kvReady[r] { kvDone = max(kvDone, kv) }
            }
            stats.events[.newChunk, default: 0] += Int64(chunkEvents)
            // The host sets the new chunks up now, while the KV may still be on its way.
            ready = max(ready, host.work(ready: now, cost: Picoseconds(chunkEvents) * w.hostInterventionPs))
            stats.kvWaitPs += max(0, kvDone - ready)
            ready = max(ready, kvDone)
            for r in members[slot] where generated[r] == 0 && lastTokenAt[r] == 0 { lastTokenAt[r] = ready }
            inFlight[slot] = true
            injections.append(Injection(slot: slot, injection: injectionCounts[slot], ready: ready, entries: entries))
            injectionCounts[slot] += 1
        }
        held += injections
        return release()
    }
}

/// What the batch scheduler saw over a run.
public struct SchedulerStats: Sendable {
    public var admitted = 0
    public var finished = 0
    /// Requests admitted while others were still decoding (always 0 under static batching).
    public var admittedWhileRunning = 0
    /// Most requests that had arrived but were not admitted, at any decision point.
    public var maxQueued = 0
    /// One sample per generated token: time since the request's previous token (or since its first step
    /// was ready).
    public var tokenLatencies: [Picoseconds] = []
    /// Per finished request: from admission to its last token; and the mean time per output token after the first.
    public var endToEnd: [Picoseconds] = []
    public var timePerOutputToken: [Picoseconds] = []
    /// DPA host interventions by kind, summed over modules.
    public var events: [AllocationEventKind: Int64] = [:]
    public var kvTransferBytes: Int64 = 0
    /// Σ over injections of the time a micro-batch, otherwise ready, waited for its new requests' prompt KV.
    public var kvWaitPs: Picoseconds = 0
    /// (time, active requests, KV used fraction, KV allocated fraction) at each scheduling decision.
    public var series: [(time: Picoseconds, active: Int, used: Double, allocated: Double)] = []

    mutating func sample(now: Picoseconds, active: Int, mirrors: [any KVAllocator]) {
        let capacity = mirrors.reduce(Int64(0)) { $0 + $1.capacityBytes }
        let used = mirrors.reduce(Int64(0)) { $0 + $1.usedBytes }
        let allocated = mirrors.reduce(Int64(0)) { $0 + $1.allocatedBytes }
        let c = Double(max(capacity, 1))
        if let last = series.last, last.time == now { series.removeLast() }
        series.append((now, active, Double(used) / c, Double(allocated) / c))
    }
}
