import PIMModule

/// One member's side of its tensor-parallel group's collectives: its port towards the group (egress), its
/// port from the group (ingress) and the time it waited for the other members' chunks. All-reduce chunks go
/// in rotated order (member i sends to i+1, i+2, … modulo tp), so in every time slot each member receives
/// exactly one chunk: a phase takes latency + (tp − 1) × chunk transfer, with no port contention. With the
/// `ring` algorithm an all-reduce is 2 (tp − 1) steps of one chunk to the next member instead; with
/// `hierarchical`, a reduce to each node's leader, an all-reduce between the leaders and a broadcast back. A group
/// that spans nodes (`network:`) sends its chunks between nodes over the shared links of their routes (`layout`),
/// timed on the group's own copies of them (`shared`).
public struct CollectivePorts: Sendable, Equatable {
    public let tp: Int
    public let member: Int
    public let algorithm: CollectiveAlgorithm
    /// Which members share a node, and the shared links between members of different nodes.
    public let layout: GroupLayout
    /// The group's copies of the shared links its chunks cross (every member's copy is the same); empty when the
    /// group sits in one node.
    public internal(set) var shared: [SharedLink: Port] = [:]
    public private(set) var egress: Port
    public private(set) var ingress: Port
    /// Time this member waited in collectives for the other members' chunks.
    public private(set) var waitPs: Picoseconds = 0

    public init(
        tp: Int, member: Int, link: LinkSpec, algorithm: CollectiveAlgorithm = .direct, layout: GroupLayout? = nil
    ) {
        self.tp = tp
        self.member = member
        self.algorithm = algorithm
        self.layout = layout ?? .oneNode(tp: tp)
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
    mutating func absorb(_ replica: CollectivePorts, shared replicas: [SharedLink: Port] = [:]) {
        egress.absorb(replica.egress)
        ingress.absorb(replica.ingress)
        waitPs += replica.waitPs
        for (link, port) in replicas { shared[link, default: Port(link: port.link)].absorb(port) }
    }

    public func state(start: Picoseconds, forwardFree: Picoseconds = 0) -> State {
        State(startPs: start, egressFreePs: egress.freeAt, ingressFreePs: ingress.freeAt, forwardFreePs: forwardFree)
    }

    /// Another member as this one knows it from its state: same timing, no history.
    public init(
        tp: Int, member: Int, link: LinkSpec, algorithm: CollectiveAlgorithm = .direct, layout: GroupLayout? = nil,
        state: State
    ) {
        self.init(tp: tp, member: member, link: link, algorithm: algorithm, layout: layout)
        egress = Port(link: link, freeAt: state.egressFreePs)
        ingress = Port(link: link, freeAt: state.ingressFreePs)
    }

    // MARK: Who sends what to whom

    /// Bytes each member sends to each peer in phase `phase` of a collective.
    public func chunkBytes(_ segment: StageSimulator.Segment, phase: Int = 0) -> Int64 {
        switch segment {
        case .compute: return 0
        case .allReduce(let bytes) where algorithm == .hierarchical:
            // Reduce to the node's leader and broadcast from it: the whole vector; between leaders: 1/leaders.
            let inter = phase == 1 || phase == 2
            let leaders = Int64(tp / perNode)
            return inter ? (bytes + leaders - 1) / leaders : bytes
        case .allReduce(let bytes): return (bytes + Int64(tp) - 1) / Int64(tp)
        case .gather(let bytes): return bytes
        }
    }

    /// Members in each node of the group (the whole group without a network, or when it fits in one node).
    var perNode: Int { layout.perNode }

    /// Whether `m` is its node's leader (the first member of its node), which `hierarchical` reduces to.
    @inline(__always)
    func isLeader(_ m: Int) -> Bool { m % perNode == 0 }

    /// How many members `sender` sends to in phase `phase` of `segment`'s collective: the other tp − 1 in a
    /// direct all-reduce, the next one in a ring step, member 0 in a gather; under `hierarchical`, its leader
    /// (phase 0), the other leaders (phases 1 and 2, leaders only) or its node's other members (phase 3,
    /// leaders only).
    @inline(__always)
    func receiverCount(_ segment: StageSimulator.Segment, phase: Int = 0, of sender: Int) -> Int {
        switch segment {
        case .compute: return 0
        case .allReduce where algorithm == .ring: return tp > 1 ? 1 : 0
        case .allReduce where algorithm == .hierarchical:
            let leader = isLeader(sender)
            switch phase {
            case 0: return leader ? 0 : 1
            case 1, 2: return leader ? tp / perNode - 1 : 0
            default: return leader ? perNode - 1 : 0
            }
        case .allReduce: return max(tp - 1, 0)
        case .gather: return sender != 0 ? 1 : 0
        }
    }

    /// The `k`-th member `sender` sends to (k < `receiverCount`), in sending order: rotated, i + 1, i + 2, …
    @inline(__always)
    func receiver(_ k: Int, _ segment: StageSimulator.Segment, phase: Int = 0, of sender: Int) -> Int {
        if case .gather = segment { return 0 }
        if algorithm == .hierarchical {
            let node = sender / perNode, nodes = tp / perNode
            switch phase {
            case 0: return node * perNode
            case 1, 2: return ((node + k + 1) % nodes) * perNode
            default: return sender + k + 1
            }
        }
        return (sender + k + 1) % tp
    }

    /// Members `sender` sends to in phase `phase` of a collective, in sending order.
    public func receivers(_ segment: StageSimulator.Segment, phase: Int = 0, of sender: Int? = nil) -> [Int] {
        let sender = sender ?? member
        return (0..<receiverCount(segment, phase: phase, of: sender)).map {
            receiver($0, segment, phase: phase, of: sender)
        }
    }

    /// Whether member `m` receives chunks in phase `phase` of `segment`'s collective.
    @inline(__always)
    func receives(_ m: Int, in segment: StageSimulator.Segment, phase: Int = 0) -> Bool {
        switch segment {
        case .compute: return false
        case .allReduce where algorithm == .hierarchical:
            let leader = isLeader(m)
            switch phase {
            case 0: return leader && perNode > 1
            case 1, 2: return leader && tp / perNode > 1
            default: return !leader
            }
        case .allReduce: return tp > 1
        case .gather: return m == 0 && tp > 1
        }
    }

    /// Phases of a segment's collective (0 for compute): 2 for a direct all-reduce, 2 (tp − 1) ring steps, 4 for
    /// `hierarchical` (reduce in the node, reduce-scatter and all-gather between leaders, broadcast in the node).
    public func phases(_ segment: StageSimulator.Segment) -> Int {
        switch segment {
        case .compute: return 0
        case .allReduce where algorithm == .hierarchical: return 4
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
        var count = 0, bytes: Int64 = 0
        // The chunks of one segment: the phases in which `receiver` is among `sender`'s receivers.
        func perSegment(_ segment: StageSimulator.Segment) -> (Int, Int64) {
            var c = 0, b: Int64 = 0
            for phase in 0..<phases(segment) {
                for k in 0..<receiverCount(segment, phase: phase, of: sender)
                where self.receiver(k, segment, phase: phase, of: sender) == receiver {
                    c += 1
                    b += chunkBytes(segment, phase: phase)
                }
            }
            return (c, b)
        }
        // A micro-batch's all-reduces are all alike (and so are its gathers): reuse the last segment's count.
        var last: (segment: StageSimulator.Segment, count: Int, bytes: Int64)?
        for segment in segments {
            if case .compute = segment { continue }
            if last?.segment != segment {
                let (c, b) = perSegment(segment)
                last = (segment, c, b)
            }
            count += last!.count
            bytes += last!.bytes
        }
        return (count, bytes)
    }

    // MARK: Timing

    /// Sends one chunk of `bytes` (taking `transfer`, the link's time for it), ready at `ready`, through the
    /// egress port; returns it in transit to the receiver's port (not yet over any shared link).
    mutating func send(ready: Picoseconds, bytes: Int64, transfer: Picoseconds) -> Transit {
        let depart = egress.send(ready: ready, bytes: bytes, transfer: transfer)
        return Transit(ready: ready, departingAt: depart, over: egress.link, transfer: transfer)
    }

    /// Receives one phase's chunks (in transit, sender), in a canonical order (first bit, then sender) so that
    /// the result does not depend on the order they were handed over; returns when the phase is complete for
    /// this member: its own `ready` time or the last chunk's arrival. Sorts `incoming` in place.
    mutating func receive(
        ready: Picoseconds, bytes: Int64, transfer: Picoseconds,
        from incoming: inout ArraySlice<(transit: Transit, sender: Int)>
    ) -> Picoseconds {
        incoming.sort { ($0.transit.headPs, $0.sender) < ($1.transit.headPs, $1.sender) }
        var done = ready
        for chunk in incoming {
            done = max(done, ingress.receive(chunk.transit, bytes: bytes, transfer: transfer))
        }
        waitPs += done - ready
        return done
    }

    /// Runs a micro-batch's segments on every member of a group in lock step, each starting at `start[m]`:
    /// compute advances a member's time, each collective phase sends every member's chunks (over the shared
    /// links between nodes, on `shared`, in sender and receiver order) and then completes each member's receipt.
    /// Returns every member's finish time. Every member of a group runs this same computation (on its own ports
    /// and replicas of the others' built from their `State`), which is why one exchange of states per micro-batch
    /// decides every collective of it (docs/PROTOCOL.md §5b).
    public static func run(
        _ segments: [StageSimulator.Segment], members: inout [CollectivePorts],
        start: [Picoseconds], shared: inout [SharedLink: Port]
    ) -> [Picoseconds] {
        var now = start
        let n = members.count
        // Who sends what to whom depends only on the group (tp, algorithm, layout): ask one copy, so that the loop
        // does not copy members (whose layout and shared links are reference-counted).
        let group = members[0]
        let layout = group.layout
        // Whether any chunk crosses nodes (a group larger than a node); the common case skips the routes.
        let routed = !layout.routes.isEmpty
        // The chunks on their way to each member in the current phase, as (transit, sender): member r's are at
        // r × n ..< r × n + count[r]. Flat arrays reused from phase to phase (this loop is the hot spot of a
        // tensor-parallel run: every member replays the whole group's collectives).
        let none = Transit(readyPs: 0, headPs: 0, tailPs: 0)
        var chunks = [(transit: Transit, sender: Int)](repeating: (none, 0), count: n * n)
        var count = [Int](repeating: 0, count: n)
        for segment in segments {
            if case .compute(let time) = segment {
                for m in 0..<n { now[m] += time }
                continue
            }
            for phase in 0..<group.phases(segment) {
                let bytes = group.chunkBytes(segment, phase: phase)
                // Every member's ports are on the group's one link: one transfer time for every chunk of the phase.
                let transfer = group.egress.link.transferTime(bytes: bytes)
                for r in 0..<n { count[r] = 0 }
                for m in 0..<n {
                    let ready = now[m]
                    for k in 0..<group.receiverCount(segment, phase: phase, of: m) {
                        let to = group.receiver(k, segment, phase: phase, of: m)
                        var transit = members[m].send(ready: ready, bytes: bytes, transfer: transfer)
                        if routed {
                            for hop in layout.hops(from: m, to: to) {
                                transit = shared.pass(transit, over: hop, bytes: bytes)
                            }
                        }
                        chunks[to * n + count[to]] = (transit, m)
                        count[to] += 1
                    }
                }
                for m in 0..<n where group.receives(m, in: segment, phase: phase) {
                    now[m] = members[m].receive(
                        ready: now[m], bytes: bytes, transfer: transfer, from: &chunks[(m * n)..<(m * n + count[m])])
                }
            }
        }
        return now
    }
}

/// Where a tensor-parallel group's members are: how many share each node (consecutive members), and the shared
/// links a chunk from one member to another crosses (none inside a node).
public struct GroupLayout: Sendable, Hashable {
    public let perNode: Int
    /// hops[from × tp + to].
    let routes: [[SharedHop]]
    let tp: Int

    /// The whole group in one node.
    public static func oneNode(tp: Int) -> GroupLayout { GroupLayout(perNode: max(tp, 1), routes: [], tp: tp) }

    /// The layout of stage `stage`'s group over `network`'s nodes.
    public init(network: NetworkRoutes, stage: Int, tp: Int) {
        self.tp = tp
        let members = (0..<tp).map { Endpoint.module(stage: stage, member: $0) }
        perNode = min(tp, network.modulesPerNode)
        let crosses = tp > network.modulesPerNode
        routes = crosses ? members.flatMap { a in members.map { b in network.sharedHops(from: a, to: b) } } : []
    }

    init(perNode: Int, routes: [[SharedHop]], tp: Int) {
        self.perNode = perNode
        self.routes = routes
        self.tp = tp
    }

    @inline(__always)
    func hops(from a: Int, to b: Int) -> [SharedHop] { routes.isEmpty ? [] : routes[a * tp + b] }
}
