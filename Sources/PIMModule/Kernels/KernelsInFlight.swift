import Foundation
import Synchronization

/// The kernels some thread of this process is simulating right now, so that a second thread asking for the
/// same kernel waits for that simulation instead of repeating it.
///
/// Workers that run as threads of one process (inproc transport, the paper study) often need the same kernel
/// at the same moment: the members of a tensor-parallel group run identical shapes on their slices, and the
/// stages of a pipeline meet the same attention contexts one after another. Without this, each of them found
/// the kernel missing from the store and simulated it, up to tp times over on two cores. Results cannot
/// change: a waiter takes the timing the simulating thread computed, which is what it would have computed.
///
/// Kernels depend only on smaller kernels (a unit on its block samples, a boundary on its two units), never on
/// themselves, so a thread that waits here while holding a claim of its own cannot close a cycle.
public final class KernelsInFlight: Sendable {
    /// One simulation under way: its waiters sleep on `condition` until `result` is set.
    final class Flight: @unchecked Sendable {
        // Guarded by `condition`.
        let condition = NSCondition()
        var result: KernelTiming?
        var waiters = 0
    }

    private let flights = Mutex<[KernelKey: Flight]>([:])

    public init() {}

    /// The timing of `key`: `compute()` when no other thread is computing it, else the other thread's result
    /// (after it finished; `fromOther` is then true). `compute` runs at most once per key at a time in this process.
    public func timing(_ key: KernelKey, compute: () -> KernelTiming) -> (timing: KernelTiming, fromOther: Bool) {
        let (flight, owner) = flights.withLock { running -> (Flight, Bool) in
            if let flight = running[key] { return (flight, false) }
            let flight = Flight()
            running[key] = flight
            return (flight, true)
        }
        guard owner else {
            flight.condition.lock()
            defer { flight.condition.unlock() }
            flight.waiters += 1
            while flight.result == nil { flight.condition.wait() }
            return (flight.result!, true)
        }
        let result = compute()
        flight.condition.lock()
        flight.result = result
        flight.condition.broadcast()
        flight.condition.unlock()
        flights.withLock { _ = $0.removeValue(forKey: key) }
        return (result, false)
    }

    /// Simulations under way (tests).
    public var count: Int { flights.withLock { $0.count } }

    /// Threads waiting for the simulation of `key` (tests).
    public func waiters(_ key: KernelKey) -> Int {
        guard let flight = flights.withLock({ $0[key] }) else { return 0 }
        flight.condition.lock()
        defer { flight.condition.unlock() }
        return flight.waiters
    }
}
