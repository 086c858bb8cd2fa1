import Foundation
import Synchronization

/// Values of a pure function computed once per key and shared by every thread of a process that holds this
/// object: the first thread to ask for a key computes it; a thread asking for a key another thread is computing
/// waits for that result instead of computing it again; results are kept, the most recent `capacity` of them.
///
/// Threads of one process often need the same value at the same moment: the members of a tensor-parallel group
/// (inproc transport, the studies) time identical work on their slices and replay the same collectives; the
/// stages of a pipeline meet the same attention contexts one after another. The function is pure, so a waiter
/// takes exactly what it would have computed: results never depend on who computed them.
///
/// A computation may ask other `SharedComputations` for values (a kernel for its smaller kernels, a stage's cost
/// for its kernels), never for itself, directly or through others: a thread that waits while its own
/// computation is under way cannot close a cycle.
public final class SharedComputations<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// One computation under way: its waiters sleep on `condition` until `result` is set.
    final class Flight: @unchecked Sendable {
        // Guarded by `condition`.
        let condition = NSCondition()
        var result: Value?
        var waiters = 0
    }

    private struct State {
        var flights: [Key: Flight] = [:]
        var kept: [Key: Value] = [:]
        /// Kept keys, oldest first (only when `capacity` is bounded).
        var order: [Key] = []
    }

    /// What a thread asking for a key finds: the value kept, or a computation under way (its own, if it is the
    /// owner).
    private enum Found {
        case kept(Value)
        case flight(Flight, owner: Bool)
    }

    private let state = Mutex(State())
    /// How many results are kept after their computation (0: none, only computations under way are shared).
    public let capacity: Int

    public init(keeping capacity: Int) {
        self.capacity = capacity
    }

    /// The value of `key`: kept, or another thread's computation under way (waited for), or `compute()`.
    public func value(_ key: Key, compute: () -> Value) -> Value { lookUp(key, compute: compute).value }

    /// The value kept for `key`, if any (never computed, never waited for).
    public func kept(_ key: Key) -> Value? { state.withLock { $0.kept[key] } }

    /// As `value`, telling whether another thread computed it (kept, or waited for).
    public func lookUp(_ key: Key, compute: () -> Value) -> (value: Value, fromOther: Bool) {
        let found = state.withLock { s -> Found in
            if let value = s.kept[key] { return .kept(value) }
            if let flight = s.flights[key] { return .flight(flight, owner: false) }
            let flight = Flight()
            s.flights[key] = flight
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
            state.withLock { s in
                s.flights[key] = nil
                keep(result, for: key, in: &s)
            }
            flight.condition.lock()
            flight.result = result
            flight.condition.broadcast()
            flight.condition.unlock()
            return (result, false)
        }
    }

    private func keep(_ value: Value, for key: Key, in s: inout State) {
        guard capacity > 0 else { return }
        s.kept[key] = value
        guard capacity < Int.max else { return }
        s.order.append(key)
        if s.order.count > capacity { s.kept[s.order.removeFirst()] = nil }
    }

    /// Computations under way (tests).
    public var count: Int { state.withLock { $0.flights.count } }

    /// Threads waiting for the computation of `key` (tests).
    public func waiters(_ key: Key) -> Int {
        guard let flight = state.withLock({ $0.flights[key] }) else { return 0 }
        flight.condition.lock()
        defer { flight.condition.unlock() }
        return flight.waiters
    }
}
