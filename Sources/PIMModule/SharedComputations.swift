import Foundation
import Synchronization

/// Values of a pure function computed once per key and shared by every thread of a process that holds this
/// object: the first thread to ask for a key computes it; a thread asking for a key another thread is computing
/// waits for that result instead of computing it again; results are kept, about the most recent `capacity` of them
/// (`init(keeping:shards:)`).
///
/// Threads of one process often need the same value at the same moment: the members of a tensor-parallel group
/// (inproc transport, the studies) time identical work on their slices and replay the same collectives; the
/// stages of a pipeline meet the same attention contexts one after another. The function is pure, so a waiter
/// takes exactly what it would have computed: results never depend on who computed them.
///
/// Its look-ups are inlinable, so that each user's module specialises them for its key and value: taken
/// generically, every look-up instantiated the nested types' metadata (most of the 7 % of a head-first 64-module
/// run's samples that went to type metadata; under 1 % since).
///
/// A computation may ask other `SharedComputations` for values (a kernel for its smaller kernels, a stage's cost
/// for its kernels), never for itself, directly or through others: a thread that waits while its own
/// computation is under way cannot close a cycle.
public final class SharedComputations<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// One computation under way: its waiters sleep on `condition` until `result` is set.
    @usableFromInline final class Flight: @unchecked Sendable {
        // Guarded by `condition`.
        @usableFromInline let condition = NSCondition()
        @usableFromInline var result: Value?
        @usableFromInline var waiters = 0

        @usableFromInline init() {}
    }

    /// A key with its hash computed once, before any lock is taken: a key can be large (a tensor-parallel group's
    /// segments and members' states), and hashing it under the lock kept the other threads waiting.
    @usableFromInline struct Hashed: Hashable, Sendable {
        @usableFromInline let key: Key
        @usableFromInline let hash: Int

        @inlinable init(_ key: Key) {
            self.key = key
            hash = key.hashValue
        }

        @inlinable func hash(into hasher: inout Hasher) { hasher.combine(hash) }
        @inlinable static func == (a: Hashed, b: Hashed) -> Bool { a.hash == b.hash && a.key == b.key }
    }

    @usableFromInline struct State {
        @usableFromInline var flights: [Hashed: Flight] = [:]
        @usableFromInline var kept: [Hashed: Value] = [:]
        /// Kept keys, oldest first (only when `capacity` is bounded).
        @usableFromInline var order: [Hashed] = []

        @usableFromInline init() {}
    }

    /// The keys whose hash falls to it, under one lock: threads asking for different keys seldom wait for each other.
    @usableFromInline final class Shard: Sendable {
        @usableFromInline let state = Mutex(State())

        @usableFromInline init() {}
    }

    /// What a thread asking for a key finds: the value kept, or a computation under way (its own, if it is the
    /// owner).
    @usableFromInline enum Found {
        case kept(Value)
        case flight(Flight, owner: Bool)
    }

    @usableFromInline let shards: [Shard]
    /// How many results are kept after their computation (0: none, only computations under way are shared): the most
    /// recent `capacity / shards` (rounded up) of each shard's keys.
    public let capacity: Int
    @usableFromInline let shardCapacity: Int

    /// `shards` locks share the keys out by hash (1 keeps exactly the most recent `capacity` results).
    public init(keeping capacity: Int, shards: Int = 16) {
        self.capacity = capacity
        let n = max(shards, 1)
        self.shards = (0..<n).map { _ in Shard() }
        shardCapacity = capacity == .max ? .max : (max(capacity, 0) + n - 1) / n
    }

    @inlinable func shard(_ key: Hashed) -> Shard { shards[Int(UInt(bitPattern: key.hash) % UInt(shards.count))] }

    /// The value of `key`: kept, or another thread's computation under way (waited for), or `compute()`.
    @inlinable public func value(_ key: Key, compute: () -> Value) -> Value { lookUp(key, compute: compute).value }

    /// The value kept for `key`, if any (never computed, never waited for).
    @inlinable public func kept(_ key: Key) -> Value? {
        let hashed = Hashed(key)
        return shard(hashed).state.withLock { $0.kept[hashed] }
    }

    /// As `value`, telling whether another thread computed it (kept, or waited for).
    @inlinable public func lookUp(_ key: Key, compute: () -> Value) -> (value: Value, fromOther: Bool) {
        let hashed = Hashed(key), shard = shard(hashed)
        let found = shard.state.withLock { s -> Found in
            if let value = s.kept[hashed] { return .kept(value) }
            if let flight = s.flights[hashed] { return .flight(flight, owner: false) }
            let flight = Flight()
            s.flights[hashed] = flight
            return .flight(flight, owner: true)
        }
        switch found {
        case .kept(let value): return (value, true)
        case .flight(let flight, owner: false):
            flight.condition.lock()
            defer { flight.condition.unlock() }
            flight.waiters += 1
            while flight.result == nil { flight.condition.wait() }
            return (flight.result!, true)
        case .flight(let flight, owner: true):
            let result = compute()
            // Kept and no longer in flight in one step: a thread asking now finds it kept.
            shard.state.withLock { s in
                s.flights[hashed] = nil
                keep(result, for: hashed, in: &s)
            }
            flight.condition.lock()
            flight.result = result
            flight.condition.broadcast()
            flight.condition.unlock()
            return (result, false)
        }
    }

    @inlinable func keep(_ value: Value, for key: Hashed, in s: inout State) {
        guard shardCapacity > 0 else { return }
        s.kept[key] = value
        guard shardCapacity < Int.max else { return }
        s.order.append(key)
        if s.order.count > shardCapacity { s.kept[s.order.removeFirst()] = nil }
    }

    /// Computations under way (tests).
    public var count: Int { shards.reduce(0) { n, shard in n + shard.state.withLock { $0.flights.count } } }

    /// Threads waiting for the computation of `key` (tests).
    public func waiters(_ key: Key) -> Int {
        let hashed = Hashed(key)
        guard let flight = shard(hashed).state.withLock({ $0.flights[hashed] }) else { return 0 }
        flight.condition.lock()
        defer { flight.condition.unlock() }
        return flight.waiters
    }
}
