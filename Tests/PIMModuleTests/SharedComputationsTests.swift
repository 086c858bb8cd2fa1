import Foundation
import Synchronization
import Testing
@testable import PIMModule

@Suite("Shared computations: one computation per key at a time in a process, the most recent kept")
struct SharedComputationsTests {
    /// Runs `body` on `n` threads at once and returns when all have finished.
    func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for i in 0..<n {
            group.enter()
            Thread {
                body(i); group.leave()
            }.start()
        }
        group.wait()
    }

    @Test("threads asking for one kernel while it is simulated wait and take its result")
    func coalesced() {
        let flights = KernelsInFlight()
        let computed = Mutex(0), results = Mutex<[(KernelTiming, Bool)]>([])
        let key = KernelKey(context: "test", kernel: "gemv 1x1x1")
        let timing = KernelTiming(
            cycles: 42, counts: Array(repeating: 1, count: AiMCommandKind.allCases.count),
            order: .inputStationary)
        onThreads(8) { _ in
            let result = flights.lookUp(key) {
                computed.withLock { $0 += 1 }
                // The simulating thread holds on until the seven others wait for it.
                while flights.waiters(key) < 7 { Thread.sleep(forTimeInterval: 0.001) }
                return timing
            }
            results.withLock { $0.append(result) }
        }
        #expect(computed.withLock { $0 } == 1)
        #expect(results.withLock { $0.map(\.0) } == Array(repeating: timing, count: 8))
        #expect(results.withLock { $0.filter(\.1).count } == 7)
        #expect(flights.count == 0)
    }

    @Test("timers of one process asking for a kernel at once agree, and every one's store gets it")
    func timersShare() {
        let shape = GEMVShape(rows: 4096, columns: 4096, batch: 1)
        let stores = (0..<4).map { _ in MemoryKernelStore() }
        let timings = Mutex<[KernelTiming]>([])
        let flights = KernelsInFlight()
        onThreads(4) { i in
            let timing = KernelTimer(module: .cent32, policy: .static, store: stores[i], inFlight: flights).time(shape)
            timings.withLock { $0.append(timing) }
        }
        let alone = KernelTimer(module: .cent32, policy: .static).time(shape)
        #expect(timings.withLock { $0 } == Array(repeating: alone, count: 4))
        for store in stores { #expect(store.count > 0) }
    }

    @Test("results are kept up to the capacity, the oldest dropped first, looked at without computing; 0 keeps none")
    func keeping() {
        let computed = Mutex<[Int]>([])
        func ask(_ shared: SharedComputations<Int, Int>, _ key: Int) -> (Int, Bool) {
            let found = shared.lookUp(key) {
                computed.withLock { $0.append(key) }
                return key * 10
            }
            return (found.value, found.fromOther)
        }
        let two = SharedComputations<Int, Int>(keeping: 2, shards: 1)
        #expect(ask(two, 1) == (10, false))
        #expect(ask(two, 2) == (20, false))
        #expect(ask(two, 1) == (10, true))
        #expect(ask(two, 3) == (30, false))
        // 3 pushed 1 (the oldest) out: 1 is computed again and pushes 2 out in turn.
        #expect(ask(two, 1) == (10, false))
        #expect(ask(two, 3) == (30, true))
        #expect(ask(two, 2) == (20, false))
        #expect(computed.withLock { $0 } == [1, 2, 3, 1, 2])
        // `kept` looks without computing: 2 and 1 are kept, 3 was pushed out.
        #expect(two.kept(2) == 20 && two.kept(1) == 10 && two.kept(3) == nil)
        #expect(computed.withLock { $0 }.count == 5)
        // Spread over 4 shards by hash, each keeping its 2 most recent: at most 8 kept, the last one asked among them.
        let sharded = SharedComputations<Int, Int>(keeping: 8, shards: 4)
        for key in 0..<50 { _ = ask(sharded, key) }
        let kept = (0..<50).filter { sharded.kept($0) != nil }
        #expect(kept.count <= 8 && kept.contains(49), "\(kept)")
        #expect(kept.allSatisfy { sharded.kept($0) == $0 * 10 })
        let none = SharedComputations<Int, Int>(keeping: 0)
        #expect(ask(none, 7) == (70, false))
        #expect(ask(none, 7) == (70, false))
        #expect(none.count == 0)
    }
}
