import PIMModule

/// One member's side of its tensor-parallel group's collectives: its port towards the group (egress), its
/// port from the group (ingress) and the time it waited for the other members' chunks. All-reduce chunks go
/// in rotated order (member i sends to i+1, i+2, … modulo tp), so in every time slot each member receives
/// exactly one chunk: a phase takes latency + (tp − 1) × chunk transfer, with no port contention. With the
/// `ring` algorithm an all-reduce is 2 (tp − 1) steps of one chunk to the next member instead.
public struct CollectivePorts: Sendable, Equatable {
    public let tp: Int
    public let member: Int
    public let algorithm: CollectiveAlgorithm
    public private(set) var egress: Port
    public private(set) var ingress: Port
    /// Time this member waited in collectives for the other members' chunks.
    public private(set) var waitPs: Picoseconds = 0

    public init(tp: Int, member: Int, link: LinkSpec, algorithm: CollectiveAlgorithm = .direct) {
        self.tp = tp
        self.member = member
        self.algorithm = algorithm
        egress = Port(link: link)
        ingress = Port(link: link)
    }

    /// What decides this member's part in a micro-batch's collectives besides the work itself: when it starts
    /// the micro-batch and when its two ports are next free. Members exchange it once per micro-batch.
    public struct State: Sendable, Hashable {
        public var startPs: Picoseconds
        public var egressFreePs: Picoseconds
        public var ingressFreePs: Picoseconds
        /// When the member's pipeline egress port is next free: with a network, the group times its members'
        /// activations over the shared links they cross together (`StageSimulator.finish`).
        public var forwardFreePs: Picoseconds

        public init(
            startPs: Picoseconds, egressFreePs: Picoseconds, ingressFreePs: Picoseconds, forwardFreePs: Picoseconds = 0
        ) {
            self.startPs = startPs
            self.egressFreePs = egressFreePs
            self.ingressFreePs = ingressFreePs
            self.forwardFreePs = forwardFreePs
        }
    }

    /// Takes on what a replica of this member, started from this member's state, did in a replay: its ports'
    /// next free times, and its traffic and waiting added to this member's own.
    mutating func absorb(_ replica: CollectivePorts) {
        egress.absorb(replica.egress)
        ingress.absorb(replica.ingress)
        waitPs += replica.waitPs
    }

    public func state(start: Picoseconds, forwardFree: Picoseconds = 0) -> State {
        State(startPs: start, egressFreePs: egress.freeAt, ingressFreePs: ingress.freeAt, forwardFreePs: forwardFree)
    }

    /// Another member as this one knows it from its state: same timing, no history.
    public init(tp: Int, member: Int, link: LinkSpec, algorithm: CollectiveAlgorithm = .direct, state: State) {
        self.init(tp: tp, member: member, link: link, algorithm: algorithm)
        egress = Port(link: link, freeAt: state.egressFreePs)
        ingress = Port(link: link, freeAt: state.ingressFreePs)
    }

    // MARK: Who sends what to whom

    /// Bytes each member sends to each peer in one phase of a collective.
    public func chunkBytes(_ segment: StageSimulator.Segment) -> Int64 {
        switch segment {
        case .compute: return 0
        case .allReduce(let bytes): return (bytes + Int64(tp) - 1) / Int64(tp)
        case .gather(let bytes): return bytes
        }
    }

    /// How many members `sender` sends to in a phase of `segment`'s collective (the same in every phase): the
    /// other tp − 1 in a direct all-reduce, the next one in a ring step, member 0 in a gather.
    @inline(__always)
    func receiverCount(_ segment: StageSimulator.Segment, of sender: Int) -> Int {
        switch segment {
        case .compute: return 0
        case .allReduce where algorithm == .ring: return tp > 1 ? 1 : 0
        case .allReduce: return max(tp - 1, 0)
        case .gather: return sender != 0 ? 1 : 0
        }
    }

    /// The `k`-th member `sender` sends to (k < `receiverCount`), in sending order: rotated, i + 1, i + 2, …
    @inline(__always)
    func receiver(_ k: Int, _ segment: StageSimulator.Segment, of sender: Int) -> Int {
        if case .gather = segment { return 0 }
        return (sender + k + 1) % tp
    }

    /// Members `sender` sends to in a phase of a collective, in sending order.
    public func receivers(_ segment: StageSimulator.Segment, of sender: Int? = nil) -> [Int] {
        let sender = sender ?? member
        return (0..<receiverCount(segment, of: sender)).map { receiver($0, segment, of: sender) }
    }

    /// Whether this member receives chunks in `segment`'s collective (every member of an all-reduce; member 0
    /// of a gather).
    public func receives(in segment: StageSimulator.Segment) -> Bool {
        switch segment {
        case .compute: return false
        case .allReduce: return tp > 1
        case .gather: return member == 0 && tp > 1
        }
    }

    /// Phases of a segment's collective (0 for compute): 2 for a direct all-reduce, 2 (tp − 1) ring steps.
    public func phases(_ segment: StageSimulator.Segment) -> Int {
        switch segment {
        case .compute: return 0
        case .allReduce: return algorithm == .ring ? 2 * max(tp - 1, 0) : 2
        case .gather: return 1
        }
    }

    /// The chunks member `sender` sends member `receiver` over a micro-batch's segments, and their bytes:
    /// what one `collective` message between them carries.
    public func chunks(
        from sender: Int, to receiver: Int,
        in segments: [StageSimulator.Segment]
    ) -> (count: Int, bytes: Int64) {
        // Every all-reduce segment has the same receivers, and so has every gather.
        let inAllReduce = receivers(.allReduce(bytes: 0), of: sender).contains(receiver)
        let inGather = receivers(.gather(bytes: 0), of: sender).contains(receiver)
        var count = 0, bytes: Int64 = 0
        for segment in segments {
            switch segment {
            case .compute: continue
            case .allReduce: guard inAllReduce else { continue }
            case .gather: guard inGather else { continue }
            }
            count += phases(segment)
            bytes += Int64(phases(segment)) * chunkBytes(segment)
        }
        return (count, bytes)
    }

    // MARK: Timing

    /// Sends one chunk of `bytes` (taking `transfer`, the link's time for it), ready at `ready`, through the
    /// egress port; returns its depart time.
    mutating func send(ready: Picoseconds, bytes: Int64, transfer: Picoseconds) -> Picoseconds {
        egress.send(ready: ready, bytes: bytes, transfer: transfer)
    }

    /// Receives one phase's chunks (depart time, sender), in a canonical order (depart time, then sender) so
    /// that the result does not depend on the order they were handed over; returns when the phase is complete
    /// for this member: its own `ready` time or the last chunk's arrival. Sorts `incoming` in place.
    mutating func receive(
        ready: Picoseconds, bytes: Int64, transfer: Picoseconds,
        from incoming: inout ArraySlice<(depart: Picoseconds, sender: Int)>
    ) -> Picoseconds {
        incoming.sort { ($0.depart, $0.sender) < ($1.depart, $1.sender) }
        var done = ready
        for chunk in incoming {
            done = max(done, ingress.receive(depart: chunk.depart, bytes: bytes, transfer: transfer))
        }
        waitPs += done - ready
        return done
    }

    /// Runs a micro-batch's segments on every member of a group in lock step, each starting at `start[m]`:
    /// compute advances a member's time, each collective phase sends every member's chunks and then completes
    /// each member's receipt. Returns every member's finish time. Every member of a group runs this same
    /// computation (on its own ports and replicas of the others' built from their `State`), which is why one
    /// exchange of states per micro-batch decides every collective of it (docs/PROTOCOL.md §5b).
    public static func run(
        _ segments: [StageSimulator.Segment], members: inout [CollectivePorts],
        start: [Picoseconds]
    ) -> [Picoseconds] {
        var now = start
        let n = members.count
        // The chunks on their way to each member in the current phase, as (depart, sender): member r's are at
        // r × n ..< r × n + count[r]. Flat arrays reused from phase to phase (this loop is the hot spot of a
        // tensor-parallel run: every member replays the whole group's collectives).
        var chunks = [(depart: Picoseconds, sender: Int)](repeating: (0, 0), count: n * n)
        var count = [Int](repeating: 0, count: n)
        for segment in segments {
            if case .compute(let time) = segment {
                for m in 0..<n { now[m] += time }
                continue
            }
            let bytes = members[0].chunkBytes(segment)
            // Every member's ports are on the group's one link: one transfer time for every chunk of the segment.
            let transfer = members[0].egress.link.transferTime(bytes: bytes)
            for _ in 0..<members[0].phases(segment) {
                for r in 0..<n { count[r] = 0 }
                for m in 0..<n {
                    let ready = now[m]
                    for k in 0..<members[m].receiverCount(segment, of: m) {
                        let to = members[m].receiver(k, segment, of: m)
                        chunks[to * n + count[to]] = (
                            members[m].send(ready: ready, bytes: bytes, transfer: transfer), m
                        )
                        count[to] += 1
                    }
                }
                for m in 0..<n where members[m].receives(in: segment) {
                    now[m] = members[m].receive(
                        ready: now[m], bytes: bytes, transfer: transfer, from: &chunks[(m * n)..<(m * n + count[m])])
                }
            }
        }
        return now
    }
}
