import PIMModule
import Workload

/// The coordinator's request pool and batching policy, in simulated time and free of sockets: it decides
/// which requests decode in which micro-batch, admits requests when every module's allocator has room
/// (mirroring the workers' allocators, so admission uses the real free memory), charges the host for DPA
/// interventions and for sending each new request's prefilled KV cache, and keeps the per-request figures.
///
/// When it admits and where admitted requests go is the batching policy's (`Batching`: `StaticBatching`,
/// `ContinuousBatching`, under Pipeline/Batching/).
public struct BatchScheduler: Sendable {
    public let plan: PipelinePlan
    let microBatches: Int
    let batching: any Batching
    /// Requests of each micro-batch, in order.
    public private(set) var members: [[Int]]
    private var inFlight: [Bool]
    /// Steps each micro-batch has been sent so far (the next one's `step`).
    public private(set) var steps: [Int]
    /// The next request to admit, in arrival order.
    private var next = 0
    /// Every request's progress, by request index.
    private var requests: [RequestProgress]
    /// Copies of every stage's KV allocator, kept in step with the workers' (the same calls in the same order).
    private var mirrors: [any KVAllocator]
    public private(set) var stats = SchedulerStats()
    /// Injections built but not yet released to the host's outgoing link, and the ready times of those
    /// released and not yet back (by micro-batch).
    private var held: [Injection] = []
    private var released: [Int: Picoseconds] = [:]
    /// The latest host event (returns arrive in time order).
    private var hostNow: Picoseconds = 0
    /// The shortest possible round trip through the pipeline: host and module link latencies.
    private let lookahead: Picoseconds

    /// One request's progress as the scheduler sees it.
    struct RequestProgress: Sendable {
        var generated = 0
        /// When the host finished setting it up; nil until admitted.
        var admittedAt: Picoseconds?
        /// When its latest token was sampled, or, before the first, when its first step was ready to send; nil
        /// until its first step is built.
        var lastTokenAt: Picoseconds?
        /// When its first token was sampled; nil until then.
        var firstTokenAt: Picoseconds?
    }

    /// A mirror allocator refused what the workers' allocators will be asked to do: the scheduler and the
    /// workers no longer agree on the modules' memory. A bug, never a user's mistake.
    public struct MirrorDisagreement: Error, CustomStringConvertible {
        public var stage: Int
        public var request: Int
        public var problem: String
        public var description: String {
            "internal error: the scheduler's copy of stage \(stage)'s KV allocator refused request \(request) "
                + "(\(problem)); it no longer agrees with the workers' allocators"
        }
    }

    public init(plan: PipelinePlan) {
        self.plan = plan
        microBatches = plan.topology.parallelism.microBatches
        batching = plan.topology.workload.batching.batching
        members = Array(repeating: [], count: microBatches)
        inFlight = Array(repeating: false, count: microBatches)
        steps = Array(repeating: 0, count: microBatches)
        requests = Array(repeating: RequestProgress(), count: plan.requests.count)
        mirrors = plan.stages.indices.map { plan.allocator(stage: $0) }
        let links = plan.topology.links
        lookahead = 2 * links.host.latencyPs + Picoseconds(max(0, plan.stages.count - 1)) * links.module.latencyPs
    }

    /// A micro-batch step to send into stage 0.
    public struct Injection: Sendable, Equatable {
        public var microBatch: Int
        public var step: Int
        /// When the host can send it (after sampling, DPA interventions and KV transfers).
        public var ready: Picoseconds
        public var entries: [MicroBatchHeader.Entry]
    }

    public var finished: Bool { stats.finished == plan.requests.count }

    public var active: Int { members.reduce(0) { $0 + $1.count } }

    /// The first injections, at time 0.
    public mutating func start(host: inout HostModel) throws(MirrorDisagreement) -> [Injection] {
        try schedule(now: 0, returned: nil, host: &host)
    }

    /// Micro-batch `microBatch` came back and its tokens were sampled at `now`: record them, free finished
    /// requests, admit new ones, and return what to inject next.
    public mutating func returned(
        microBatch: Int, now: Picoseconds, host: inout HostModel
    ) throws(MirrorDisagreement) -> [Injection] {
        inFlight[microBatch] = false
        released[microBatch] = nil
        hostNow = max(hostNow, now)
        let ended = recordTokens(of: microBatch, sampledAt: now)
        stats.events[.requestEnd, default: 0] += Int64(ended)
        let after = host.work(ready: now, cost: Picoseconds(ended) * plan.topology.workload.hostInterventionPs)
        return try schedule(now: after, returned: microBatch, host: &host)
    }

    /// Counts one token for every request of `microBatch`, sampled at `now`; frees the KV of those that are done and
    /// keeps the others. Returns the host interventions the frees take.
    private mutating func recordTokens(of microBatch: Int, sampledAt now: Picoseconds) -> Int {
        var ended = 0
        var staying: [Int] = []
        for r in members[microBatch] {
            requests[r].generated += 1
            if let last = requests[r].lastTokenAt { stats.tokenLatencies.append(now - last) }
            requests[r].lastTokenAt = now
            if requests[r].firstTokenAt == nil { requests[r].firstTokenAt = now }
            let spec = plan.requests[r], progress = requests[r]
            guard progress.generated == spec.outputTokens else {
                staying.append(r)
                continue
            }
            for s in mirrors.indices { ended += mirrors[s].release(request: r).count }
            stats.finished += 1
            if let admitted = progress.admittedAt { stats.endToEnd.append(now - admitted) }
            if spec.outputTokens > 1, let first = progress.firstTokenAt {
                stats.timePerOutputToken.append((now - first) / Picoseconds(spec.outputTokens - 1))
            }
        }
        members[microBatch] = staying
        return ended
    }

    /// Admits what the policy allows at `now`, then builds the injections of every micro-batch that is ready.
    private mutating func schedule(
        now start: Picoseconds, returned: Int?, host: inout HostModel
    ) throws(MirrorDisagreement) -> [Injection] {
        let allIdle = !inFlight.contains(true) && active == 0
        var now = start
        // With nothing running and nobody waiting yet, the host idles until the next arrival.
        if allIdle && next < plan.requests.count && plan.requests[next].arrivalPs > now {
            now = plan.requests[next].arrivalPs
        }
        let admitted = batching.admits(allIdle: allIdle) ? try admit(at: &now, host: &host) : []
        if active > 0 { stats.admittedWhileRunning += admitted.count }
        let open = (0..<microBatches).filter { !inFlight[$0] }
        batching.place(admitted, into: &members, open: open, allIdle: allIdle)
        let kvReady = transferPromptKV(of: admitted, at: now, host: &host)
        stats.admitted += admitted.count
        stats.sample(now: now, active: active, mirrors: mirrors)
        var injections: [Injection] = []
        for b in open where !members[b].isEmpty && (b == returned || members[b].contains(where: admitted.contains)) {
            injections.append(try build(microBatch: b, at: now, kvReady: kvReady, host: &host))
        }
        held += injections
        return release()
    }

    /// Admits waiting requests that have arrived by `now`, as long as the batch has room and every module's
    /// allocator can hold them; the host sets each one up on every module (one intervention each), which moves
    /// `now`. Returns the admitted requests.
    private mutating func admit(at now: inout Picoseconds, host: inout HostModel) throws(MirrorDisagreement) -> [Int] {
        let w = plan.topology.workload
        var admitted: [Int] = []
        while next < plan.requests.count, plan.requests[next].arrivalPs <= now, active + admitted.count < w.batchSize {
            let spec = plan.requests[next]
            guard mirrors.allSatisfy({ $0.canAdmit(prompt: spec.promptTokens, finalTokens: spec.finalTokens) })
            else { break }
            for s in mirrors.indices {
                do {
                    _ = try mirrors[s].admit(request: next, prompt: spec.promptTokens, finalTokens: spec.finalTokens)
                } catch {
                    throw MirrorDisagreement(stage: s, request: next, problem: "\(error)")
                }
            }
            // One intervention per module sets the request up, its prompt's chunks included.
            stats.events[.requestStart, default: 0] += Int64(mirrors.count)
            now = host.work(ready: now, cost: Picoseconds(mirrors.count) * w.hostInterventionPs)
            requests[next].admittedAt = now
            admitted.append(next)
            next += 1
        }
        stats.maxQueued = max(stats.maxQueued, plan.requests[next...].prefix { $0.arrivalPs <= now }.count)
        return admitted
    }

    /// Sends each newly admitted request's prompt KV from the host to every module (when the workload says
    /// so); returns when each one's KV has arrived everywhere.
    private mutating func transferPromptKV(
        of admitted: [Int], at now: Picoseconds, host: inout HostModel
    ) -> [Int: Picoseconds] {
        guard plan.topology.workload.prefillKVTransfer else { return [:] }
        var kvReady: [Int: Picoseconds] = [:]
        for r in admitted {
            let shares = plan.stages.map { Int64(plan.requests[r].promptTokens) * $0.memory.kvBytesPerToken }
            kvReady[r] = host.transferKV(ready: now, bytes: shares)
            stats.kvTransferBytes += shares.reduce(0, +)
        }
        return kvReady
    }

    /// Builds micro-batch `b`'s next step at `now`: every request's KV grows to its context (the host sets up the
    /// new chunks), and the step is ready once those interventions are done and the new requests' prompt KV has
    /// arrived.
    private mutating func build(
        microBatch b: Int, at now: Picoseconds, kvReady: [Int: Picoseconds], host: inout HostModel
    ) throws(MirrorDisagreement) -> Injection {
        var chunkEvents = 0
        var kvDone: Picoseconds = 0
        var entries: [MicroBatchHeader.Entry] = []
        for r in members[b] {
            let spec = plan.requests[r], generated = requests[r].generated
            let context = spec.promptTokens + generated + 1
            for s in mirrors.indices {
                do {
                    chunkEvents += try mirrors[s].grow(request: r, to: context).count
                } catch {
                    throw MirrorDisagreement(stage: s, request: r, problem: "\(error)")
                }
            }
            var flags: UInt32 = 0
            if generated == 0 { flags |= MicroBatchHeader.Entry.first }
            if generated + 1 == spec.outputTokens { flags |= MicroBatchHeader.Entry.last }
            entries.append(.init(request: UInt32(r), context: UInt32(context), flags: flags))
            if let kv = kvReady[r] { kvDone = max(kvDone, kv) }
        }
        stats.events[.newChunk, default: 0] += Int64(chunkEvents)
        // The host sets the new chunks up now, while the KV may still be on its way.
        let cost = Picoseconds(chunkEvents) * plan.topology.workload.hostInterventionPs
        var ready = max(now, host.work(ready: now, cost: cost))
        stats.kvWaitPs += max(0, kvDone - ready)
        ready = max(ready, kvDone)
        for r in members[b] where requests[r].lastTokenAt == nil { requests[r].lastTokenAt = ready }
        inFlight[b] = true
        defer { steps[b] += 1 }
        return Injection(microBatch: b, step: steps[b], ready: ready, entries: entries)
    }

    /// Releases held injections in ready-time order, as long as no injection still to come can be ready
    /// earlier: every future injection follows a return, so it is ready no earlier than the latest host
    /// event, nor earlier than the earliest released micro-batch's ready time plus the shortest round
    /// trip. This keeps the host's outgoing link (and every FIFO stage) in simulated-time order: a
    /// micro-batch waiting for its requests' KV does not hold back one that is ready sooner.
    private mutating func release() -> [Injection] {
        held.sort { ($0.ready, $0.microBatch) < ($1.ready, $1.microBatch) }
        var out: [Injection] = []
        while let first = held.first {
            let bound = released.isEmpty ? Picoseconds.max : max(hostNow, released.values.min()! + lookahead)
            guard first.ready <= bound else { break }
            out.append(first)
            released[first.microBatch] = first.ready
            held.removeFirst()
        }
        return out
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
